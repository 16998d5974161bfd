package org.rlhf4j.rl.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.Tensor;

class MaskedStatsTest {
    // values 1, 2, 3 counted; 100 and NaN masked out
    private static final Tensor VALUES = Tensor.of(new double[] {1, 100, 2, Double.NaN, 3, 100}, 2, 3);
    private static final Tensor MASK = Tensor.of(new double[] {1, 0, 1, 0, 1, 0}, 2, 3);

    @Test
    void meanAndVarianceIgnoreMaskedPositionsEvenWhenNaN() {
        assertEquals(2.0, MaskedStats.mean(VALUES, MASK), 1e-15);
        // deviations -1, 0, 1: biased variance 2/3, unbiased (TRL's default, Bessel n/(n-1) = 3/2) 1
        assertEquals(2.0 / 3.0, MaskedStats.variance(VALUES, MASK, false), 1e-15);
        assertEquals(1.0, MaskedStats.variance(VALUES, MASK, true), 1e-15);
    }

    @Test
    void whitenIsTrlMaskedWhiten() {
        // (v - 2) / sqrt(1 + 1e-8) at the counted positions
        double s = 1 / Math.sqrt(1 + 1e-8);
        double[] w = MaskedStats.whiten(VALUES, MASK, true).toDoubleArray();
        assertArrayEquals(new double[] {-s, 0, s}, new double[] {w[0], w[2], w[4]}, 1e-15);
        double[] kept = MaskedStats.whiten(VALUES, MASK, false).toDoubleArray();
        assertArrayEquals(new double[] {2 - s, 2, 2 + s}, new double[] {kept[0], kept[2], kept[4]}, 1e-15);
    }

    @Test
    void anAllZeroMaskHasNoVariance() {
        assertThrows(IllegalArgumentException.class, () -> MaskedStats.variance(VALUES, Tensor.zeros(2, 3).to(VALUES.dtype()), true));
    }

    @Test
    void arrayMeanAndPopulationStd() {
        assertEquals(2.5, MaskedStats.mean(new double[] {1, 2, 3, 4}), 1e-15);
        assertEquals(Math.sqrt(1.25), MaskedStats.std(new double[] {1, 2, 3, 4}), 1e-15);
    }
}
