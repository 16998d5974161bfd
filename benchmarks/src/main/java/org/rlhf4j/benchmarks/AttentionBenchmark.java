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
import org.rlhf4j.autograd.Nn;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;

/**
 * Causal attention forward + backward through autograd, F32, B = 1, H = 4, D = 64: the fused flash-style op
 * ({@code rlhf4j}) against the unfused composition (matmul, additive causal mask, softmax, matmul). Run with
 * {@code -prof gc} for bytes allocated per call.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g", "-XX:+UseParallelGC"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class AttentionBenchmark implements Reported {
    @Param({"128", "256", "512", "1024"})
    public int t;

    private Tensor q, k, v, causal, gradOut;
    private double scale;

    @Override
    public String unit() {
        return "calls/s";
    }

    @Override
    public double workPerOp(Map<String, String> params) {
        return 1;
    }

    @Setup(Level.Trial)
    public void setUp() {
        Generator g = new Generator(1);
        q = Tensor.randn(g, DType.F32, 1, 4, t, 64);
        k = Tensor.randn(g, DType.F32, 1, 4, t, 64);
        v = Tensor.randn(g, DType.F32, 1, 4, t, 64);
        gradOut = Tensor.randn(g, DType.F32, 1, 4, t, 64);
        float[] mask = new float[t * t];
        for (int i = 0; i < t; i++) for (int j = i + 1; j < t; j++) mask[i * t + j] = Float.NEGATIVE_INFINITY;
        causal = Tensor.of(mask, t, t);
        scale = 1 / Math.sqrt(64);
    }

    @Benchmark
    public Tensor rlhf4j() {
        Variable vq = Variable.parameter(q), vk = Variable.parameter(k), vv = Variable.parameter(v);
        Nn.attention(vq, vk, vv, null, scale).backward(gradOut, false);
        return vq.grad();
    }

    @Benchmark
    public Tensor unfused() {
        Variable vq = Variable.parameter(q), vk = Variable.parameter(k), vv = Variable.parameter(v);
        Variable scores = vq.matmul(vk.transpose(-1, -2)).mul(scale).add(Variable.constant(causal));
        Nn.softmax(scores).matmul(vv).backward(gradOut, false);
        return vq.grad();
    }
}
