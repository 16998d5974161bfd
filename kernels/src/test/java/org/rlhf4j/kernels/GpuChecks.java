package org.rlhf4j.kernels;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Random;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Tensor;

/** Shared helpers of the GPU tests: the device (or a skip), random inputs, poisoned outputs, comparisons. */
final class GpuChecks {
    private GpuChecks() {}

    /**
     * With {@code -Drlhf4j.gpuTests.dryRun=true} the GPU tests run with the CPU standing in for the GPU: that
     * checks the tests themselves (shapes, views, tolerances) on a machine without one. Never set on a GPU.
     */
    static final boolean DRY_RUN = Boolean.getBoolean("rlhf4j.gpuTests.dryRun");

    /** cuda:0, or the test is skipped with the reason (the CPU in a dry run). */
    static Device gpu() {
        if (DRY_RUN) return Device.CPU;
        assumeTrue(Cuda.isAvailable(), () -> "no GPU here: " + Cuda.unavailableReason());
        return Device.cuda(0);
    }

    static CudaBackend backend() {
        return Cuda.backend(gpu());
    }

    /** A CPU F32 tensor of uniform values in [lo, hi). */
    static Tensor uniform(Random rnd, double lo, double hi, int... shape) {
        int n = 1;
        for (int s : shape) n *= s;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (lo + (hi - lo) * rnd.nextDouble());
        return Tensor.wrap(v, shape);
    }

    /** A CPU F32 tensor of normal values times scale. */
    static Tensor normal(Random rnd, double scale, int... shape) {
        int n = 1;
        for (int s : shape) n *= s;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (rnd.nextGaussian() * scale);
        return Tensor.wrap(v, shape);
    }

    /** A GPU tensor filled with NaN (or -7 for I32): an element an op forgets to write shows up. */
    static Tensor poisoned(DType dtype, Device gpu, int... shape) {
        return Tensor.full(dtype == DType.I32 ? -7 : Double.NaN, dtype, gpu, shape);
    }

    /** |found - expected| <= rtol |expected| + atol elementwise; NaN only where expected is NaN. */
    static void assertClose(String what, Tensor expected, Tensor found, double rtol, double atol) {
        double[] e = expected.to(Device.CPU).toDoubleArray(), f = found.to(Device.CPU).toDoubleArray();
        if (e.length != f.length) fail(what + ": " + e.length + " elements expected, found " + f.length);
        int bad = 0;
        String first = null;
        double worst = 0;
        for (int i = 0; i < e.length; i++) {
            boolean ok = Double.isNaN(e[i]) ? Double.isNaN(f[i])
                    : e[i] == f[i] || Math.abs(f[i] - e[i]) <= rtol * Math.abs(e[i]) + atol;
            if (!ok) {
                if (first == null) first = "at flat " + i + " expected " + e[i] + ", found " + f[i];
                bad++;
            }
            if (!Double.isNaN(e[i]) && e[i] != 0) worst = Math.max(worst, Math.abs(f[i] - e[i]) / Math.abs(e[i]));
        }
        if (bad > 0) {
            fail(what + ": " + bad + " of " + e.length + " elements off (rtol " + rtol + ", atol " + atol + "), first "
                    + first + "; worst relative error " + worst);
        }
    }

    /** ||found - expected|| / ||expected|| <= tol (Frobenius), for products whose summation order differs. */
    static void assertNormwise(String what, Tensor expected, Tensor found, double tol) {
        double[] e = expected.to(Device.CPU).toDoubleArray(), f = found.to(Device.CPU).toDoubleArray();
        double num = 0, den = 0;
        for (int i = 0; i < e.length; i++) {
            if (Double.isNaN(f[i])) fail(what + ": NaN at flat " + i + " (expected " + e[i] + ")");
            num += (f[i] - e[i]) * (f[i] - e[i]);
            den += e[i] * e[i];
        }
        double rel = Math.sqrt(num / Math.max(den, 1e-300));
        if (!(rel <= tol)) fail(what + ": normwise relative error " + rel + " exceeds " + tol);
    }
}
