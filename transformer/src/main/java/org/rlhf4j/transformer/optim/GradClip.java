package org.rlhf4j.transformer.optim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Tensor;

/**
 * Gradient clipping by global L2 norm, as PyTorch's {@code torch.nn.utils.clip_grad_norm_} (and the Hugging
 * Face Trainer's {@code max_grad_norm}, default 1.0):
 *
 * <pre>
 *   norm = sqrt(sum over parameters and elements of g^2)
 *   coef = maxNorm / (norm + 1e-6)
 *   g    = g * coef      when coef &lt; 1, that is when norm exceeds maxNorm (up to the 1e-6)
 * </pre>
 *
 * <p>Parameters with a null gradient are ignored; a Variable listed twice counts once. Squares are accumulated
 * in double across all parameters (on the CPU, per element as well; on a GPU each tensor's sum of squares is
 * reduced on the device in its own dtype).
 */
public final class GradClip {
    /** Added to the norm before dividing, as PyTorch does. */
    public static final double EPS = 1e-6;

    private static final int CHUNK = 1 << 15;

    private GradClip() {
    }

    /**
     * Scales all gradients so that their global L2 norm is at most {@code maxNorm}, and returns the norm they
     * had before. When that norm is NaN or infinite, nothing is scaled and the non-finite norm is returned: the
     * caller decides whether to skip the step or stop (see {@link #clipGlobalNormOrThrow}). PyTorch (without
     * {@code error_if_nonfinite}) would instead multiply every gradient by a NaN or zero factor.
     */
    public static double clipGlobalNorm(Collection<Variable> params, double maxNorm) {
        requireMaxNorm(maxNorm);
        List<Tensor> grads = gradients(params);
        double norm = norm(grads);
        if (!Double.isFinite(norm)) return norm;
        double coef = maxNorm / (norm + EPS);
        if (coef < 1.0) {
            for (Tensor g : grads) g.mulInPlace(coef);
        }
        return norm;
    }

    /**
     * As {@link #clipGlobalNorm}, for trainers that stop on a bad gradient: a NaN or infinite norm throws a
     * {@link NonFiniteGradientException}, and no gradient is changed.
     */
    public static double clipGlobalNormOrThrow(Collection<Variable> params, double maxNorm) {
        double norm = clipGlobalNorm(params, maxNorm);
        if (!Double.isFinite(norm)) {
            throw new NonFiniteGradientException("gradient clipping: the global gradient norm is " + norm
                    + " (a NaN or infinite gradient); stopping before the optimizer writes it into the weights", norm);
        }
        return norm;
    }

    /**
     * As {@link #clipGlobalNormOrThrow}, naming (in the message) the parameters whose gradients hold NaN or
     * infinite values.
     */
    public static double clipGlobalNormOrThrow(Map<String, Variable> namedParams, double maxNorm) {
        double norm = clipGlobalNorm(namedParams.values(), maxNorm);
        if (!Double.isFinite(norm)) {
            List<String> bad = new ArrayList<>();
            for (var e : namedParams.entrySet()) {
                Tensor g = e.getValue().grad();
                if (g != null && !Double.isFinite(sumOfSquares(g))) bad.add(e.getKey());
            }
            throw new NonFiniteGradientException("gradient clipping: the global gradient norm is " + norm
                    + "; non-finite gradients in " + (bad.isEmpty() ? "(overflow of the sum)" : bad)
                    + "; stopping before the optimizer writes them into the weights", norm);
        }
        return norm;
    }

    /** The global L2 norm of the gradients, without changing them (for logging). */
    public static double globalNorm(Collection<Variable> params) {
        return norm(gradients(params));
    }

    /** Thrown by {@link #clipGlobalNormOrThrow} on a NaN or infinite gradient norm. */
    public static final class NonFiniteGradientException extends ArithmeticException {
        private final double norm;

        public NonFiniteGradientException(String message, double norm) {
            super(message);
            this.norm = norm;
        }

        /** The offending norm: NaN or infinite. */
        public double norm() {
            return norm;
        }
    }

    private static void requireMaxNorm(double maxNorm) {
        if (!(maxNorm > 0)) throw new IllegalArgumentException("gradient clipping: maxNorm must be > 0, found " + maxNorm);
    }

    /** The non-null gradients, each Variable once. */
    private static List<Tensor> gradients(Collection<Variable> params) {
        if (params == null) throw new NullPointerException("gradient clipping: params must not be null");
        Set<Variable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Tensor> grads = new ArrayList<>();
        for (Variable p : params) {
            if (p == null) throw new NullPointerException("gradient clipping: a parameter is null");
            if (!seen.add(p) || p.grad() == null) continue;
            grads.add(p.grad());
        }
        return grads;
    }

    private static double norm(List<Tensor> grads) {
        if (!grads.isEmpty() && !grads.get(0).device().isCpu()) {
            // on a device, the per-tensor sums stay there and the host waits once per step, not once per tensor
            Tensor[] sums = new Tensor[grads.size()];
            for (int i = 0; i < sums.length; i++) sums[i] = grads.get(i).square().sum().reshape(1);
            return Math.sqrt(Tensor.concat(0, sums).sum().item());
        }
        double total = 0;
        for (Tensor g : grads) total += sumOfSquares(g);
        return Math.sqrt(total);
    }

    /** sum(g^2): on the CPU in double per element, in fixed chunks summed in order (the same result every run). */
    static double sumOfSquares(Tensor g) {
        if (!g.device().isCpu()) return g.square().sum().item();
        Tensor flat = g.reshape(-1);
        int n = flat.numel();
        int chunks = (n + CHUNK - 1) / CHUNK;
        double[] partial = new double[chunks];
        IntStream range = IntStream.range(0, chunks);
        if (chunks > 4) range = range.parallel();
        range.forEach(c -> {
            int from = c * CHUNK;
            Tensor part = flat.narrow(0, from, Math.min(CHUNK, n - from));
            double s = 0;
            if (g.dtype() == DType.F64) {
                for (double x : part.toDoubleArray()) s += x * x;
            } else {
                for (float x : part.toFloatArray()) s += (double) x * x;
            }
            partial[c] = s;
        });
        return Arrays.stream(partial).sum();
    }
}
