package org.rlhf4j.kernels.attention;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.rlhf4j.kernels.Cuda;
import org.rlhf4j.kernels.CudaBackend;
import org.rlhf4j.kernels.CudaScope;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.tensor.cpu.CpuAttention;

/**
 * The attention kernels against the CPU op (F64, on the same rounded inputs) on fresh random inputs: T = 1, 17,
 * 128, 1000, 2048, D = 64 and 128, with and without left padding (which makes fully masked query rows), forward
 * and backward. F32 within 1e-5 relative (||got - want|| / ||want||), BF16 within 1e-2; a second run must give
 * the same bits. Outputs are poisoned with NaN before each
 * run, so an element the kernel never writes fails the check. Skips without a GPU.
 */
@Tag("gpu")
class CudaAttentionGpuTest {
    private static Device gpu;
    private static CudaAttention kernels;
    private static final SplittableRandom SEEDS = new SplittableRandom(System.nanoTime());

    @BeforeAll
    static void needsGpu() {
        assumeTrue(Cuda.isAvailable(), () -> "no GPU here: " + Cuda.unavailableReason());
        gpu = Device.cuda(0);
        CudaBackend backend = Cuda.backend(gpu);
        kernels = new CudaAttention(backend.context());
    }

    private CudaScope scope;

    /** Every test's device tensors are freed when it ends. */
    @BeforeEach
    void openScope() {
        scope = CudaScope.open();
    }

    @AfterEach
    void closeScope() {
        if (scope != null) scope.close();
    }

    static Stream<Arguments> shapes() {
        Stream.Builder<Arguments> s = Stream.builder();
        for (int t : new int[] {1, 17, 128, 1000, 2048}) {
            for (int d : new int[] {64, 128}) {
                for (boolean padded : new boolean[] {false, true}) s.add(Arguments.of(t, d, padded));
            }
        }
        return s.build();
    }

    /** The tensor-core head dims, and 16 and 32, which BF16 runs through the F32 kernels. */
    static Stream<Arguments> bf16Shapes() {
        Stream.Builder<Arguments> s = Stream.builder();
        shapes().forEach(s::add);
        for (int t : new int[] {1, 17, 300}) {
            for (int d : new int[] {16, 32}) s.add(Arguments.of(t, d, t > 1));
        }
        return s.build();
    }

    // ---- inputs ----

    /** Random inputs, rounded to F32 (or to BF16 when bf16), kept as doubles for the F64 reference. */
    record Inputs(int b, int h, int t, int d, double[] q, double[] k, double[] v, double[] mask, double scale) {
        static Inputs random(int b, int h, int t, int d, boolean padded, boolean bf16) {
            SplittableRandom rnd = SEEDS.split();
            int n = b * h * t * d;
            double[] mask = null;
            if (padded) {
                mask = new double[b * t];
                for (int bi = 1; bi < b; bi++) {
                    int pad = t == 1 ? 1 : rnd.nextInt(1, t);
                    for (int j = 0; j < t; j++) {
                        mask[bi * t + j] = j < pad ? (j % 2 == 0 ? Double.NEGATIVE_INFINITY : -1e9)
                                : (j % 7 == 3 ? -0.5 : 0.0);
                    }
                }
            }
            return new Inputs(b, h, t, d, round(gauss(rnd, n), bf16), round(gauss(rnd, n), bf16),
                    round(gauss(rnd, n), bf16), mask, 1.0 / Math.sqrt(d));
        }

        Tensor cpu(double[] x) {
            return Tensor.wrap(x.clone(), b, h, t, d);
        }

        Tensor cpuMask() {
            return mask == null ? null : Tensor.wrap(mask.clone(), b, t);
        }

        Tensor dev(double[] x, DType dtype) {
            return toDevice(x, dtype, b, h, t, d);
        }

        Tensor devMask() {
            return mask == null ? null : toDevice(mask, DType.F32, b, t);
        }
    }

    static Tensor toDevice(double[] x, DType dtype, int... shape) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; i++) f[i] = (float) x[i];
        Tensor t = Tensor.wrap(f, shape).to(gpu);
        return dtype == DType.F32 ? t : t.to(dtype);
    }

    static double[] gauss(SplittableRandom rnd, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            double u = 1.0 - rnd.nextDouble(), w = rnd.nextDouble();
            x[i] = 1.5 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * w);
        }
        return x;
    }

    /** Round to F32, or to BF16 (nearest even) when bf16. */
    static double[] round(double[] x, boolean bf16) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            float f = (float) x[i];
            if (bf16) {
                int bits = Float.floatToRawIntBits(f);
                bits += 0x7FFF + ((bits >>> 16) & 1);
                f = Float.intBitsToFloat(bits & 0xFFFF0000);
            }
            y[i] = f;
        }
        return y;
    }

    static Tensor poison(DType dtype, int... shape) {
        return Tensor.full(Double.NaN, dtype, gpu, shape);
    }

    static float[] host(Tensor t) {
        return t.to(DType.F32).to(Device.CPU).toFloatArray();
    }

    /** ||got - want|| / ||want||; infinities must agree exactly and everything else must be finite. */
    static double relError(float[] got, double[] want) {
        assertEquals(want.length, got.length);
        double num = 0, den = 0;
        for (int i = 0; i < want.length; i++) {
            if (Double.isInfinite(want[i]) || Float.isInfinite(got[i])) {
                assertEquals(want[i], got[i], 0.0, "entry " + i);
                continue;
            }
            if (!Float.isFinite(got[i])) throw new AssertionError("entry " + i + " is " + got[i] + " (never written?)");
            double e = got[i] - want[i];
            num += e * e;
            den += want[i] * want[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    static void assertClose(String what, float[] got, double[] want, double tol) {
        double e = relError(got, want);
        System.out.printf("  %-40s rel. error %.3e (limit %.0e)%n", what, e, tol);
        assertTrue(e < tol, what + ": relative error " + e + " exceeds " + tol);
    }

    static double[] reference(Inputs in, double[][] lseOut) {
        Tensor out = Tensor.empty(DType.F64, in.b, in.h, in.t, in.d);
        Tensor lse = Tensor.empty(DType.F64, in.b, in.h, in.t);
        CpuAttention.attention(out, lse, in.cpu(in.q), in.cpu(in.k), in.cpu(in.v), in.cpuMask(), in.scale);
        lseOut[0] = lse.toDoubleArray();
        return out.toDoubleArray();
    }

    static int batchFor(int t) {
        return t >= 2048 ? 2 : t >= 1000 ? 2 : 3;
    }

    // ---- F32 ----

    @ParameterizedTest(name = "F32 T={0} D={1} padded={2}")
    @MethodSource("shapes")
    void f32ForwardAndBackwardMatchTheCpuOp(int t, int d, boolean padded) {
        int b = batchFor(t), h = t >= 2048 ? 1 : 2;
        Inputs in = Inputs.random(b, h, t, d, padded, false);
        double[][] lseRef = new double[1][];
        double[] outRef = reference(in, lseRef);

        Tensor q = in.dev(in.q, DType.F32), k = in.dev(in.k, DType.F32), v = in.dev(in.v, DType.F32);
        Tensor mask = in.devMask();
        Tensor out = poison(DType.F32, b, h, t, d), lse = poison(DType.F32, b, h, t);
        kernels.attention(out, lse, q, k, v, mask, in.scale);
        float[] gotOut = host(out), gotLse = host(lse);
        assertClose("out", gotOut, outRef, 1e-5);
        assertClose("lse", gotLse, lseRef[0], 1e-5);

        // backward from the GPU's own out and lse, against the CPU op fed the same (as in training)
        double[] dout = round(gauss(SEEDS.split(), b * h * t * d), false);
        double[] out32 = new double[gotOut.length], lse32 = new double[gotLse.length];
        for (int i = 0; i < out32.length; i++) out32[i] = gotOut[i];
        for (int i = 0; i < lse32.length; i++) lse32[i] = gotLse[i];
        Tensor dqRef = Tensor.empty(DType.F64, b, h, t, d), dkRef = Tensor.empty(DType.F64, b, h, t, d),
                dvRef = Tensor.empty(DType.F64, b, h, t, d);
        CpuAttention.attentionBackward(dqRef, dkRef, dvRef, in.cpu(dout), in.cpu(in.q), in.cpu(in.k), in.cpu(in.v),
                in.cpu(out32), Tensor.wrap(lse32, b, h, t), in.cpuMask(), in.scale);

        Tensor dq = poison(DType.F32, b, h, t, d), dk = poison(DType.F32, b, h, t, d), dv = poison(DType.F32, b, h, t, d);
        Tensor doutDev = in.dev(dout, DType.F32);
        kernels.attentionBackward(dq, dk, dv, doutDev, q, k, v, out, lse, mask, in.scale);
        float[] gdq = host(dq), gdk = host(dk), gdv = host(dv);
        assertClose("dq", gdq, dqRef.toDoubleArray(), 1e-5);
        assertClose("dk", gdk, dkRef.toDoubleArray(), 1e-5);
        assertClose("dv", gdv, dvRef.toDoubleArray(), 1e-5);

        // a second run gives the same bits (no order-dependent accumulation)
        Tensor dq2 = poison(DType.F32, b, h, t, d), dk2 = poison(DType.F32, b, h, t, d), dv2 = poison(DType.F32, b, h, t, d);
        kernels.attentionBackward(dq2, dk2, dv2, doutDev, q, k, v, out, lse, mask, in.scale);
        assertArrayEquals(gdq, host(dq2), "dq of a second run");
        assertArrayEquals(gdk, host(dk2), "dk of a second run");
        assertArrayEquals(gdv, host(dv2), "dv of a second run");
        Tensor out2 = poison(DType.F32, b, h, t, d), lse2 = poison(DType.F32, b, h, t);
        kernels.attention(out2, lse2, q, k, v, mask, in.scale);
        assertArrayEquals(gotOut, host(out2), "out of a second run");
    }

    // ---- BF16 ----

    @ParameterizedTest(name = "BF16 T={0} D={1} padded={2}")
    @MethodSource("bf16Shapes")
    void bf16ForwardAndBackwardMatchTheCpuOp(int t, int d, boolean padded) {
        int b = batchFor(t), h = t >= 2048 ? 1 : 2;
        Inputs in = Inputs.random(b, h, t, d, padded, true);
        double[][] lseRef = new double[1][];
        double[] outRef = reference(in, lseRef);
        Tensor q = in.dev(in.q, DType.BF16), k = in.dev(in.k, DType.BF16), v = in.dev(in.v, DType.BF16);
        Tensor out = poison(DType.BF16, b, h, t, d), lse = poison(DType.F32, b, h, t);
        kernels.attention(out, lse, q, k, v, in.devMask(), in.scale);
        float[] gotOut = host(out);
        assertClose("out (bf16)", gotOut, outRef, 1e-2);
        assertClose("lse (bf16 inputs)", host(lse), lseRef[0], 1e-2);
        Tensor out2 = poison(DType.BF16, b, h, t, d), lse2 = poison(DType.F32, b, h, t);
        kernels.attention(out2, lse2, q, k, v, in.devMask(), in.scale);
        assertArrayEquals(gotOut, host(out2), "out of a second run");

        // backward from the GPU's own (bf16) out and (F32) lse, against the CPU op on the same values
        double[] dout = round(gauss(SEEDS.split(), b * h * t * d), true);
        float[] gotLse = host(lse);
        double[] out64 = new double[gotOut.length], lse64 = new double[gotLse.length];
        for (int i = 0; i < out64.length; i++) out64[i] = gotOut[i];
        for (int i = 0; i < lse64.length; i++) lse64[i] = gotLse[i];
        Tensor dqRef = Tensor.empty(DType.F64, b, h, t, d), dkRef = Tensor.empty(DType.F64, b, h, t, d),
                dvRef = Tensor.empty(DType.F64, b, h, t, d);
        CpuAttention.attentionBackward(dqRef, dkRef, dvRef, in.cpu(dout), in.cpu(in.q), in.cpu(in.k), in.cpu(in.v),
                in.cpu(out64), Tensor.wrap(lse64, b, h, t), in.cpuMask(), in.scale);
        Tensor doutDev = in.dev(dout, DType.BF16);
        Tensor dq = poison(DType.BF16, b, h, t, d), dk = poison(DType.BF16, b, h, t, d), dv = poison(DType.BF16, b, h, t, d);
        kernels.attentionBackward(dq, dk, dv, doutDev, q, k, v, out, lse, in.devMask(), in.scale);
        float[] gdq = host(dq), gdk = host(dk), gdv = host(dv);
        assertClose("dq (bf16)", gdq, dqRef.toDoubleArray(), 1e-2);
        assertClose("dk (bf16)", gdk, dkRef.toDoubleArray(), 1e-2);
        assertClose("dv (bf16)", gdv, dvRef.toDoubleArray(), 1e-2);
        Tensor dq2 = poison(DType.BF16, b, h, t, d), dk2 = poison(DType.BF16, b, h, t, d), dv2 = poison(DType.BF16, b, h, t, d);
        kernels.attentionBackward(dq2, dk2, dv2, doutDev, q, k, v, out, lse, in.devMask(), in.scale);
        assertArrayEquals(gdq, host(dq2), "dq of a second run");
        assertArrayEquals(gdk, host(dk2), "dk of a second run");
        assertArrayEquals(gdv, host(dv2), "dv of a second run");
    }

    // ---- decoding against a KV cache ----

    @ParameterizedTest(name = "cached {0} T={1} D={2} t={3}")
    @MethodSource("cachedShapes")
    void cachedQueriesMatchTheLastRowsOfFullAttention(DType dtype, int t, int d, int chunk) {
        int b = 3, h = 2, maxLen = t + 24;
        boolean bf16 = dtype == DType.BF16;
        Inputs in = Inputs.random(b, h, t, d, true, bf16);
        double[][] lseRef = new double[1][];
        double[] outRef = reference(in, lseRef);

        // a cache [B, H, maxLen, D] (poisoned past t) narrowed to t keys, a mask [B, maxLen] narrowed likewise
        Tensor kCache = poison(dtype, b, h, maxLen, d), vCache = poison(dtype, b, h, maxLen, d);
        kCache.narrow(2, 0, t).copyFrom(in.dev(in.k, dtype));
        vCache.narrow(2, 0, t).copyFrom(in.dev(in.v, dtype));
        Tensor maskFull = poison(DType.F32, b, maxLen);
        maskFull.narrow(1, 0, t).copyFrom(in.devMask());
        Tensor q = in.dev(in.q, dtype).narrow(2, t - chunk, chunk);
        Tensor out = poison(dtype, b, h, chunk, d), lse = poison(DType.F32, b, h, chunk);
        kernels.attentionCached(out, lse, q, kCache.narrow(2, 0, t), vCache.narrow(2, 0, t),
                maskFull.narrow(1, 0, t), in.scale);

        double[] want = new double[b * h * chunk * d], wantLse = new double[b * h * chunk];
        for (int bh = 0; bh < b * h; bh++) {
            for (int i = 0; i < chunk; i++) {
                wantLse[bh * chunk + i] = lseRef[0][bh * t + t - chunk + i];
                System.arraycopy(outRef, (bh * t + t - chunk + i) * d, want, (bh * chunk + i) * d, d);
            }
        }
        double tol = bf16 ? 1e-2 : 1e-5;
        assertClose("cached out", host(out), want, tol);
        assertClose("cached lse", host(lse), wantLse, tol);
    }

    static Stream<Arguments> cachedShapes() {
        return Stream.of(Arguments.of(DType.F32, 1, 64, 1), Arguments.of(DType.F32, 300, 64, 1),
                Arguments.of(DType.F32, 1000, 128, 1), Arguments.of(DType.F32, 300, 128, 7),
                Arguments.of(DType.BF16, 300, 64, 1), Arguments.of(DType.BF16, 1000, 128, 1),
                Arguments.of(DType.BF16, 200, 128, 70));
    }

    @Test
    void unsupportedHeadDimsAreRefusedWithAMessage() {
        // BF16 takes any head dim the F32 kernels take (64 and 128 on the tensor cores); 18 is not a multiple of 4
        Tensor x = poison(DType.BF16, 1, 1, 4, 18);
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> kernels.attention(poison(DType.BF16, 1, 1, 4, 18), poison(DType.F32, 1, 1, 4), x, x, x, null, 1.0));
        assertTrue(e.getMessage().contains("multiple of 4") && e.getMessage().contains("found 18"), e.getMessage());
    }
}
