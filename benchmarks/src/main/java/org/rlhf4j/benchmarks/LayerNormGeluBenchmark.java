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
 * Layer norm (with weight and bias) and tanh-GELU on [2048, 768], forward + backward, F32: each fused kernel
 * pair ({@code rlhf4j}) against its composition of primitive differentiable ops.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g", "-XX:+UseParallelGC"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class LayerNormGeluBenchmark implements Reported {
    @Param({"layerNorm", "gelu"})
    public String op;

    private Tensor x, w, b, gradOut;

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
        Generator g = new Generator(3);
        x = Tensor.randn(g, DType.F32, 2048, 768);
        w = Tensor.randn(g, DType.F32, 768);
        b = Tensor.randn(g, DType.F32, 768);
        gradOut = Tensor.randn(g, DType.F32, 2048, 768);
    }

    @Benchmark
    public Tensor rlhf4j() {
        Variable vx = Variable.parameter(x);
        Variable y = op.equals("gelu") ? vx.gelu() : Nn.layerNorm(vx, Variable.parameter(w), Variable.parameter(b), 1e-5);
        y.backward(gradOut, false);
        return vx.grad();
    }

    @Benchmark
    public Tensor unfused() {
        Variable vx = Variable.parameter(x);
        Variable y;
        if (op.equals("gelu")) {
            double c = Math.sqrt(2 / Math.PI);
            y = vx.mul(0.5).mul(vx.add(vx.pow(3.0).mul(0.044715)).mul(c).tanh().add(1.0));
        } else {
            Variable centered = vx.sub(vx.mean(-1, true));
            Variable var = centered.mul(centered).mean(-1, true);
            y = centered.div(var.add(1e-5).sqrt()).mul(Variable.parameter(w)).add(Variable.parameter(b));
        }
        y.backward(gradOut, false);
        return vx.grad();
    }
}
