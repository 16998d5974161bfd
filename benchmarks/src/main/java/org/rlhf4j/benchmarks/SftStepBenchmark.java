package org.rlhf4j.benchmarks;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.rlhf4j.autograd.Loss;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.optim.AdamW;

/**
 * One SFT training step of GPT-2 (forward, cross-entropy, backward, AdamW), in tokens/s, on the transformer
 * issue's two workloads. {@code scripts/bench/sft_step_vs_pytorch.py} runs this and the same step in PyTorch and
 * prints both with the ratio.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g", "-XX:+UseParallelGC"})
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
public class SftStepBenchmark implements Reported {
    /** vocab, context, layers, heads, width, batch, tokens per row. */
    static int[] workload(String name) {
        switch (name) {
            case "tiny": return new int[] {256, 128, 4, 4, 128, 16, 128};
            case "small": return new int[] {512, 256, 6, 6, 384, 8, 256};
            default: throw new IllegalArgumentException("unknown workload " + name);
        }
    }

    @Param({"tiny", "small"})
    public String workload;

    private Gpt model;
    private AdamW optimizer;
    private Tensor inputs, targets;

    @Override
    public String unit() {
        return "tokens/s";
    }

    @Override
    public double workPerOp(Map<String, String> params) {
        int[] w = workload(params.get("workload"));
        return w[5] * w[6];
    }

    @Setup(Level.Trial)
    public void setUp() {
        int[] w = workload(workload);
        model = new Gpt(new Gpt.Config(w[0], w[1], w[2], w[3], w[4], 1e-5, 0.0), DType.F32, new Generator(0));
        optimizer = new AdamW(model.namedParameters(), AdamW.Config.defaults().withLearningRate(1e-4));
        Tensor ids = Tensor.empty(DType.F32, w[5], w[6] + 1).fillUniform(new Generator(1), 0, w[0]).to(DType.I32);
        inputs = ids.narrow(1, 0, w[6]).contiguous();
        targets = ids.narrow(1, 1, w[6]).contiguous();
    }

    @Benchmark
    public double rlhf4j() {
        var loss = Loss.crossEntropy(model.forward(inputs), targets);
        loss.backward();
        optimizer.step();
        optimizer.zeroGrad();
        return loss.data().item();
    }
}
