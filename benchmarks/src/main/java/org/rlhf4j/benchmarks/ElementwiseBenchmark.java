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
import org.rlhf4j.tensor.BinaryOp;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.ReduceOp;
import org.rlhf4j.tensor.Tensor;

/**
 * Memory-bound ops on 64M floats, in GB/s of memory traffic: {@code add} (c = a + b: reads 2 x 256 MB, writes
 * 256 MB) and {@code rowSum} ([8192, 8192] summed along rows: reads 256 MB). The peer is
 * {@code System.arraycopy} moving the same number of bytes (a copy reads and writes each byte it copies).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xms3g", "-Xmx3g", "-XX:+UseParallelGC"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ElementwiseBenchmark implements Reported {
    static final int N = 64 << 20;

    @Param({"add", "rowSum"})
    public String op;

    private Tensor a, b, out, rowOut;
    private float[] copySrc, copyDst;
    private int copyLength;

    @Override
    public String unit() {
        return "GB/s";
    }

    @Override
    public double workPerOp(Map<String, String> params) {
        return bytesMoved(params.get("op")) * 1e-9;
    }

    static long bytesMoved(String op) {
        return "add".equals(op) ? 3L * 4 * N : 4L * N + 4L * 8192;
    }

    @Setup(Level.Trial)
    public void setUp() {
        Generator g = new Generator(1);
        a = Tensor.rand(g, DType.F32, 8192, 8192);
        b = Tensor.rand(g, DType.F32, 8192, 8192);
        out = Tensor.empty(DType.F32, 8192, 8192);
        rowOut = Tensor.empty(DType.F32, 8192, 1);
        copyLength = (int) (bytesMoved(op) / 8); // floats: a copy moves 8 bytes per float (read + write)
        copySrc = new float[copyLength];
        copyDst = new float[copyLength];
    }

    @Benchmark
    public Tensor rlhf4j() {
        if (op.equals("add")) {
            a.backend().binary(BinaryOp.ADD, out, a, b); // into a preallocated output, as Tensor.add does after allocating
            return out;
        }
        a.backend().reduce(ReduceOp.SUM, rowOut, a, 1);
        return rowOut;
    }

    @Benchmark
    public float[] arraycopy() {
        System.arraycopy(copySrc, 0, copyDst, 0, copyLength);
        return copyDst;
    }
}
