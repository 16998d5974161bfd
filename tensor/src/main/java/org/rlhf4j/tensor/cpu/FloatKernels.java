package org.rlhf4j.tensor.cpu;

import org.rlhf4j.tensor.BinaryOp;
import org.rlhf4j.tensor.ReduceOp;
import org.rlhf4j.tensor.TernaryOp;
import org.rlhf4j.tensor.UnaryOp;

/**
 * The F32 inner loops of the CPU backend over contiguous runs of {@code n} elements. Two twins implement it:
 * {@link ScalarFloatKernels} (plain Java) and {@code VectorFloatKernels} (Vector API), chosen by {@link Simd}.
 */
interface FloatKernels {
    /** y[yo..] = op(x[xo..]). */
    void unary(UnaryOp op, float[] x, int xo, float[] y, int yo, int n);

    /** y = op(a, b), where aStep and bStep are 1 (a run) or 0 (one value repeated). */
    void binary(BinaryOp op, float[] a, int ao, int aStep, float[] b, int bo, int bStep, float[] y, int yo, int n);

    /** y = op(a, s). */
    void binaryScalar(BinaryOp op, float[] a, int ao, float s, float[] y, int yo, int n);

    /** y = op(a, b, c) with steps 0 or 1 on each input. */
    void ternary(TernaryOp op, float[] a, int ao, int aStep, float[] b, int bo, int bStep,
                 float[] c, int co, int cStep, float[] y, int yo, int n);

    /** y = min(max(x, lo), hi). */
    void clamp(float[] x, int xo, float[] y, int yo, int n, float lo, float hi);

    /** The SUM, MAX or MIN of a run (MEAN is SUM divided by the caller). */
    float reduce(ReduceOp op, float[] x, int xo, int n);

    /** acc[i] = acc[i] op x[i] for a run (op is SUM, MEAN (summing), MAX or MIN). */
    void accumulate(ReduceOp op, float[] x, int xo, float[] acc, int ao, int n);

    /** The active twin. */
    static FloatKernels get() {
        return Holder.INSTANCE;
    }

    final class Holder {
        static final FloatKernels INSTANCE = Simd.ENABLED ? load() : new ScalarFloatKernels();

        private static FloatKernels load() {
            try {
                return (FloatKernels) Class.forName("org.rlhf4j.tensor.cpu.VectorFloatKernels")
                        .getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException | LinkageError e) {
                return new ScalarFloatKernels();
            }
        }

        private Holder() {}
    }
}
