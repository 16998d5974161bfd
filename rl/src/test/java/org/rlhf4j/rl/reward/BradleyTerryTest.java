package org.rlhf4j.rl.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.Tensor;

/**
 * TRL's RewardTrainer loss by hand. Rewards chosen (1.0, -0.5, 2.0), rejected (0.2, 0.5, 2.0):
 * differences d = (0.8, -1.0, 0.0); with margins (0.1, 0, 0.5), d - m = (0.7, -1.0, -0.5).
 * -logsigmoid(x) = log(1 + exp(-x)), written independently of the code under test.
 */
class BradleyTerryTest {
    private static final double TOL = 1e-14;

    private static double negLogSigmoid(double x) {
        return Math.log(1 + Math.exp(-x));
    }

    private Variable chosen() {
        return Variable.parameter(Tensor.of(new double[] {1.0, -0.5, 2.0}));
    }

    private Variable rejected() {
        return Variable.parameter(Tensor.of(new double[] {0.2, 0.5, 2.0}));
    }

    @Test
    void lossIsMeanMinusLogSigmoidOfTheRewardDifference() {
        double expected = (negLogSigmoid(0.8) + negLogSigmoid(-1.0) + Math.log(2)) / 3;
        assertEquals(expected, BradleyTerry.loss(chosen(), rejected()).data().item(), TOL);
    }

    @Test
    void aMarginIsSubtractedFromTheDifference() {
        double expected = (negLogSigmoid(0.7) + negLogSigmoid(-1.0) + negLogSigmoid(-0.5)) / 3;
        Tensor margin = Tensor.of(new double[] {0.1, 0.0, 0.5});
        assertEquals(expected, BradleyTerry.loss(chosen(), rejected(), margin).data().item(), TOL);
    }

    @Test
    void gradientIsMinusSigmoidOfMinusDifferenceOverBatch() {
        // d/d r_c_i of mean -logsigmoid(d_i) = -sigmoid(-d_i) / B; r_r gets the opposite
        Variable c = chosen(), r = rejected();
        BradleyTerry.loss(c, r).backward();
        double[] d = {0.8, -1.0, 0.0};
        double[] expected = new double[3];
        for (int i = 0; i < 3; i++) expected[i] = -1 / (1 + Math.exp(d[i])) / 3;
        assertArrayEquals(expected, c.grad().toDoubleArray(), TOL);
        for (int i = 0; i < 3; i++) expected[i] = -expected[i];
        assertArrayEquals(expected, r.grad().toDoubleArray(), TOL);
    }

    @Test
    void centeringPenaltyIsCoefficientTimesMeanSquaredSum() {
        // sums 1.2, 0.0, 4.0: 0.01 (1.44 + 0 + 16) / 3
        assertEquals(0.01 * (1.44 + 16) / 3, BradleyTerry.centeringPenalty(chosen(), rejected(), 0.01).data().item(), TOL);
    }

    @Test
    void accuracyIsTheFractionWithTheChosenRewardStrictlyHigher() {
        // 1.0 > 0.2 yes; -0.5 > 0.5 no; 2.0 > 2.0 a tie, counted wrong
        assertEquals(1.0 / 3, BradleyTerry.accuracy(new double[] {1.0, -0.5, 2.0}, new double[] {0.2, 0.5, 2.0}), TOL);
        assertThrows(IllegalArgumentException.class, () -> BradleyTerry.accuracy(new double[1], new double[2]));
    }

    @Test
    void rewardsMustBeMatchingVectors() {
        Variable c = chosen(), shortOne = Variable.parameter(Tensor.of(new double[] {1.0}));
        assertThrows(IllegalArgumentException.class, () -> BradleyTerry.loss(c, shortOne));
        assertThrows(IllegalArgumentException.class, () -> BradleyTerry.loss(c, rejected(), Tensor.of(new double[] {0.0})));
    }

    @Test
    void defaultsAreTrls() {
        RewardConfig c = RewardConfig.defaults();
        assertEquals(5e-5, c.learningRate());
        assertEquals(8, c.batchSize());
        assertEquals(1024, c.maxLength());
        assertEquals(1.0, c.maxGradNorm());
        assertEquals(0.0, c.centerRewardsCoefficient());
    }
}
