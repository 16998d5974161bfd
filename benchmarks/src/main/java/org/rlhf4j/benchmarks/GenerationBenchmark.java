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
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.transformer.gpt.Generation;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.gpt.SamplingConfig;

/**
 * Sampling throughput with the KV cache, in generated tokens/s: the "small" SFT workload's model, 16-token
 * prompts, 64 new tokens per row, batch 1 and 16.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g", "-XX:+UseParallelGC"})
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 3)
public class GenerationBenchmark implements Reported {
    static final int NEW_TOKENS = 64;

    @Param({"1", "16"})
    public int batch;

    private Gpt model;
    private int[][] prompts;

    @Override
    public String unit() {
        return "tokens/s";
    }

    @Override
    public double workPerOp(Map<String, String> params) {
        return Integer.parseInt(params.get("batch")) * NEW_TOKENS;
    }

    @Setup(Level.Trial)
    public void setUp() {
        int[] w = SftStepBenchmark.workload("small");
        model = new Gpt(new Gpt.Config(w[0], w[1], w[2], w[3], w[4], 1e-5, 0.0), DType.F32, new Generator(0));
        model.eval();
        prompts = new int[batch][16];
        for (int b = 0; b < batch; b++) for (int t = 0; t < 16; t++) prompts[b][t] = (b * 31 + t * 7) % w[0];
    }

    @Benchmark
    public int[][] rlhf4j() {
        // no EOS: every row produces all NEW_TOKENS tokens
        return Generation.generate(model, prompts, SamplingConfig.sample(NEW_TOKENS, -1, 0, 1)).completions();
    }
}
