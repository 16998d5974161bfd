package org.rlhf4j.rl.metrics;

import java.util.Arrays;
import org.rlhf4j.tensor.Tensor;

/**
 * Statistics over the positions where a 0/1 mask is 1, as TRL's {@code masked_mean}, {@code masked_var} and
 * {@code masked_whiten} (trl/trainer/utils.py and trl/core.py). Values at masked-out positions never reach a
 * result, even when they are NaN or infinite (TRL multiplies by the mask, which would let a NaN through; here they
 * are selected away). Reductions run in F64 whatever the inputs' dtype. No graph is recorded: these are for
 * advantages and logging, which TRL also computes without gradients. Tensors may be on any device: each
 * statistic downloads values and mask once and reduces on the host.
 */
public final class MaskedStats {
    private MaskedStats() {}

    /** {@code sum(values * mask) / sum(mask)} over all elements; NaN when the mask is all zero. */
    public static double mean(Tensor values, Tensor mask) {
        checkShapes("mean", values, mask);
        return mean(values.toDoubleArray(), mask.toDoubleArray());
    }

    private static double mean(double[] v, double[] m) {
        double sum = 0, count = 0;
        for (int i = 0; i < v.length; i++) {
            if (m[i] != 0) {
                sum += v[i] * m[i];
                count += m[i];
            }
        }
        return sum / count;
    }

    /**
     * TRL's {@code masked_var}: the masked mean of squared deviations from the masked mean, times the Bessel
     * correction {@code n / (n - 1)} when {@code unbiased} (TRL's default). Fails when the mask is all zero, as
     * TRL does; with one counted element and {@code unbiased}, the result is infinite or NaN, as in TRL.
     */
    public static double variance(Tensor values, Tensor mask, boolean unbiased) {
        checkShapes("variance", values, mask);
        double[] v = values.toDoubleArray(), m = mask.toDoubleArray();
        double count = 0;
        for (double w : m) count += w;
        if (count == 0) throw new IllegalArgumentException("MaskedStats.variance: the mask is all zero");
        double mean = mean(v, m);
        double sq = 0;
        for (int i = 0; i < v.length; i++) if (m[i] != 0) sq += (v[i] - mean) * (v[i] - mean) * m[i];
        double variance = sq / count;
        return unbiased ? variance * count / (count - 1) : variance;
    }

    /**
     * TRL's {@code masked_whiten}: {@code (values - mean) / sqrt(var + 1e-8)} with the masked mean and the
     * unbiased masked variance, plus the mean back again when {@code !shiftMean}. Returned for every position, as
     * TRL does; positions outside the mask hold whatever the formula gives there and are for the caller to mask.
     */
    public static Tensor whiten(Tensor values, Tensor mask, boolean shiftMean) {
        double mean = mean(values, mask);
        double variance = variance(values, mask, true);
        double scale = 1.0 / Math.sqrt(variance + 1e-8);
        Tensor whitened = values.sub(mean).mul(scale);
        return shiftMean ? whitened : whitened.add(mean);
    }

    /** Mean of an array; NaN when empty. */
    public static double mean(double[] values) {
        double sum = 0;
        for (double v : values) sum += v;
        return sum / values.length;
    }

    /** Population standard deviation of an array (divides by n, as numpy's default); NaN when empty. */
    public static double std(double[] values) {
        double mean = mean(values), sq = 0;
        for (double v : values) sq += (v - mean) * (v - mean);
        return Math.sqrt(sq / values.length);
    }

    private static void checkShapes(String op, Tensor values, Tensor mask) {
        if (!Arrays.equals(values.shape(), mask.shape())) {
            throw new IllegalArgumentException("MaskedStats." + op + ": values " + Arrays.toString(values.shape())
                    + " and mask " + Arrays.toString(mask.shape()) + " differ in shape");
        }
    }
}
