package org.rlhf4j.benchmarks;

import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_full;
import org.ejml.data.FMatrixRMaj;
import org.ejml.dense.row.CommonOps_MT_FDRM;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.rlhf4j.tensor.cpu.CpuGemm;
import org.rlhf4j.tensor.cpu.Parallel;

/**
 * Single-precision GEMM, C = A · B (alpha 1, beta 0, C m x n row-major): rlhf4j's {@link CpuGemm#sgemm}
 * against OpenBLAS ({@code cblas_sgemm} through bytedeco, on native memory) and EJML (multi-threaded), all
 * with the same thread count. Layouts: {@code NN} A and B row-major; {@code NT} B stored transposed (n x k,
 * as in dA = dC · Bᵀ); {@code TN} A stored transposed (k x m, as in dB = Aᵀ · dC).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xms2g", "-Xmx2g", "-XX:+UseParallelGC",
        "-XX:+UseTransparentHugePages"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class GemmBenchmark implements Reported {
    /** m x k x n: A is m x k, B is k x n. The last three are a transformer's QKV, MLP-down and MLP-up. */
    @Param({"256x256x256", "512x512x512", "1024x1024x1024", "2048x2048x2048",
            "2048x384x1152", "2048x1536x384", "2048x384x1536"})
    public String shape;

    @Param({"NN", "NT", "TN"})
    public String layout;

    /** Threads for rlhf4j and for every peer; 0 means one per core. */
    @Param("0")
    public int threads;

    private int m, n, k;
    private boolean transA, transB;
    private float[] a, b, c;
    private FloatPointer aNative, bNative, cNative;
    private FMatrixRMaj aEjml, bEjml, cEjml;

    @Override
    public String unit() {
        return "GFLOP/s";
    }

    @Override
    public double workPerOp(Map<String, String> params) {
        int[] mkn = parseShape(params.get("shape"));
        return 2.0 * mkn[0] * mkn[1] * mkn[2] * 1e-9;
    }

    static int[] parseShape(String shape) {
        String[] parts = shape.split("x");
        return new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1]), Integer.parseInt(parts[2])};
    }

    @Setup(Level.Trial)
    public void setUp() {
        int[] mkn = parseShape(shape);
        m = mkn[0];
        k = mkn[1];
        n = mkn[2];
        transA = layout.charAt(0) == 'T';
        transB = layout.charAt(1) == 'T';
        int t = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        Parallel.setThreads(t);
        openblas_full.openblas_set_num_threads(t);
        org.ejml.concurrency.EjmlConcurrency.setMaxThreads(t);

        Random rnd = new Random(42);
        a = random(rnd, m * k);
        b = random(rnd, k * n);
        c = new float[m * n];
        aNative = new FloatPointer(a);
        bNative = new FloatPointer(b);
        cNative = new FloatPointer(c);
        aEjml = transA ? new FMatrixRMaj(k, m, true, a) : new FMatrixRMaj(m, k, true, a);
        bEjml = transB ? new FMatrixRMaj(n, k, true, b) : new FMatrixRMaj(k, n, true, b);
        cEjml = new FMatrixRMaj(m, n);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        aNative.close();
        bNative.close();
        cNative.close();
    }

    private static float[] random(Random rnd, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) x[i] = 2 * rnd.nextFloat() - 1;
        return x;
    }

    @Benchmark
    public float[] rlhf4j() {
        // A stored k x m when transposed: element (i, p) at p*m + i. B stored n x k: element (p, j) at j*k + p.
        CpuGemm.sgemm(1, m, n, k, 1f,
                a, 0, 0, transA ? 1 : k, transA ? m : 1,
                b, 0, 0, transB ? 1 : n, transB ? k : 1,
                0f, c, 0, 0, n, 1);
        return c;
    }

    @Benchmark
    public FloatPointer openblas() {
        openblas_full.cblas_sgemm(openblas_full.CblasRowMajor,
                transA ? openblas_full.CblasTrans : openblas_full.CblasNoTrans,
                transB ? openblas_full.CblasTrans : openblas_full.CblasNoTrans,
                m, n, k, 1f, aNative, transA ? m : k, bNative, transB ? k : n, 0f, cNative, n);
        return cNative;
    }

    @Benchmark
    public FMatrixRMaj ejml() {
        if (transA) {
            CommonOps_MT_FDRM.multTransA(aEjml, bEjml, cEjml);
        } else if (transB) {
            CommonOps_MT_FDRM.multTransB(aEjml, bEjml, cEjml);
        } else {
            CommonOps_MT_FDRM.mult(aEjml, bEjml, cEjml);
        }
        return cEjml;
    }
}
