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
import org.rlhf4j.autograd.ShapeOps;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;

/**
 * Token log-probs forward + backward over [B*T = 2048, V], F32: the fused op ({@code rlhf4j}: logsumexp and the
 * chosen logit in one pass, backward from the logits and the saved logsumexp) against log-softmax then gather.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx6g", "-XX:+UseParallelGC"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class TokenLogProbsBenchmark implements Reported {
    @Param({"256", "50257"})
    public int vocab;

    private Tensor logits, targets, gradOut;

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
        Generator g = new Generator(2);
        logits = Tensor.randn(g, DType.F32, 2048, vocab);
        targets = Tensor.empty(DType.F32, 2048).fillUniform(g, 0, vocab).to(DType.I32);
        gradOut = Tensor.randn(g, DType.F32, 2048);
    }

    @Benchmark
    public Tensor rlhf4j() {
        Variable x = Variable.parameter(logits);
        Nn.tokenLogProbs(x, targets, 1.0).backward(gradOut, false);
        return x.grad();
    }

    @Benchmark
    public Tensor unfused() {
        Variable x = Variable.parameter(logits);
        ShapeOps.gather(Nn.logSoftmax(x), 1, targets.unsqueeze(1)).backward(gradOut.unsqueeze(1), false);
        return x.grad();
    }
}
