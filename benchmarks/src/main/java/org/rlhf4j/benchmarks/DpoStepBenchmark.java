package org.rlhf4j.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.rlhf4j.rl.dpo.DpoConfig;
import org.rlhf4j.rl.dpo.DpoTrainer;
import org.rlhf4j.rl.dpo.TokenizedPair;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.transformer.gpt.Gpt;

/**
 * One DPO step (policy forward and backward on 16 chosen + 16 rejected sequences of 64 prompt and 64 completion
 * tokens, reference log-probs precomputed, AdamW) on the "tiny" workload's model, in pairs/s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g", "-XX:+UseParallelGC"})
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
public class DpoStepBenchmark implements Reported {
    static final int PAIRS = 16;

    private DpoTrainer trainer;

    @Override
    public String unit() {
        return "pairs/s";
    }

    @Override
    public double workPerOp(Map<String, String> params) {
        return PAIRS;
    }

    @Setup(Level.Trial)
    public void setUp() {
        int[] w = SftStepBenchmark.workload("tiny");
        Gpt.Config config = new Gpt.Config(w[0], w[1], w[2], w[3], w[4], 1e-5, 0.0);
        Gpt policy = new Gpt(config, DType.F32, new Generator(0));
        Gpt reference = new Gpt(config, DType.F32, new Generator(0));
        java.util.Random r = new java.util.Random(5);
        List<TokenizedPair> pairs = new ArrayList<>();
        for (int i = 0; i < 64; i++) pairs.add(new TokenizedPair(ids(r, 64, w[0]), ids(r, 64, w[0]), ids(r, 64, w[0])));
        DpoConfig dpo = DpoConfig.defaults().withBatchSize(PAIRS).withMaxSteps(1_000_000).withLearningRate(1e-5);
        trainer = new DpoTrainer(policy, reference, dpo, pairs, 0); // reference log-probs computed once, here
    }

    private static int[] ids(java.util.Random r, int n, int vocab) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = r.nextInt(vocab);
        return out;
    }

    @Benchmark
    public Map<String, Object> rlhf4j() {
        return trainer.trainStep();
    }
}
