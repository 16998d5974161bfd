package org.rlhf4j.rl.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.rlhf4j.autograd.GradCheck;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;

class PpoMathTest {
    private static final double TOL = 1e-12;

    private static Tensor t(double[] data, int... shape) {
        return Tensor.of(data, shape);
    }

    // ---- masked statistics ----

    @Test
    void maskedMeanAndVarianceMatchHandArithmetic() {
        // selected elements {1, 2, 4}; 100 and -7 are masked
        Tensor x = t(new double[] {1, 2, 100, 4, 100, -7}, 2, 3);
        Tensor mask = t(new double[] {1, 1, 0, 1, 0, 0}, 2, 3);
        double mean = (1.0 + 2.0 + 4.0) / 3.0;                                           // 7/3
        double biased = ((1 - mean) * (1 - mean) + (2 - mean) * (2 - mean) + (4 - mean) * (4 - mean)) / 3.0;
        assertEquals(mean, PpoMath.maskedMean(x, mask), TOL);
        assertEquals(biased, PpoMath.maskedVar(x, mask, false), TOL);
        assertEquals(biased * 3.0 / 2.0, PpoMath.maskedVar(x, mask), TOL);              // Bessel: n / (n - 1)
        // per row: (1 + 2) / 2 and 4 / 1
        assertArrayEquals(new double[] {1.5, 4.0}, PpoMath.maskedMean(x, mask, 1).toDoubleArray(), TOL);
    }

    @Test
    void differentiableMaskedMeanSendsGradientOnlyToUnmaskedElements() {
        Tensor data = t(new double[] {1, 2, Double.NaN, 4, 100, -7}, 2, 3);
        Tensor mask = t(new double[] {1, 1, 0, 1, 0, 0}, 2, 3);
        Variable x = Variable.parameter(data);
        Variable m = PpoMath.maskedMean(x, mask);
        assertEquals(7.0 / 3.0, m.data().item(), TOL);
        m.backward();
        double third = 1.0 / 3.0;
        assertArrayEquals(new double[] {third, third, 0, third, 0, 0}, x.grad().toDoubleArray(), TOL);
    }

    @Test
    void maskedVarianceFailsWithoutEnoughElements() {
        Tensor x = t(new double[] {3, 5}, 1, 2);
        assertThrows(IllegalArgumentException.class, () -> PpoMath.maskedVar(x, t(new double[] {0, 0}, 1, 2)));
        assertThrows(IllegalArgumentException.class, () -> PpoMath.maskedVar(x, t(new double[] {1, 0}, 1, 2)));
        assertEquals(0.0, PpoMath.maskedVar(x, t(new double[] {1, 0}, 1, 2), false), 0.0);
        assertThrows(IllegalArgumentException.class, () -> PpoMath.maskedMean(x, t(new double[] {0, 0}, 1, 2)));
    }

    @Test
    void whiteningMatchesHandArithmeticAndZeroesMaskedPositionsOnlyWhenAsked() {
        Tensor x = t(new double[] {1, 2, 4, 9}, 1, 4);
        Tensor mask = t(new double[] {1, 1, 1, 0}, 1, 4);
        double mean = 7.0 / 3.0;
        double var = ((1 - mean) * (1 - mean) + (2 - mean) * (2 - mean) + (4 - mean) * (4 - mean)) / 2.0; // unbiased
        double s = 1.0 / Math.sqrt(var + 1e-8);
        // TRL masked_whiten transforms every position, the masked one too
        assertArrayEquals(new double[] {(1 - mean) * s, (2 - mean) * s, (4 - mean) * s, (9 - mean) * s},
                PpoMath.maskedWhiten(x, mask).toDoubleArray(), 1e-12);
        assertArrayEquals(new double[] {(1 - mean) * s + mean, (2 - mean) * s + mean, (4 - mean) * s + mean, (9 - mean) * s + mean},
                PpoMath.maskedWhiten(x, mask, false).toDoubleArray(), 1e-12);
        assertArrayEquals(new double[] {(1 - mean) * s, (2 - mean) * s, (4 - mean) * s, 0},
                PpoMath.whitenAdvantages(x, mask).toDoubleArray(), 1e-12);
        assertArrayEquals(new double[] {(1 - mean) * s + mean, (2 - mean) * s + mean, (4 - mean) * s + mean, 0},
                PpoMath.whitenRewards(x, mask).toDoubleArray(), 1e-12);
        // whitened advantages have masked mean 0 and unbiased masked variance 1 (up to the 1e-8)
        Tensor w = PpoMath.whitenAdvantages(x, mask);
        assertEquals(0.0, PpoMath.maskedMean(w, mask), 1e-12);
        assertEquals(1.0, PpoMath.maskedVar(w, mask), 1e-7);
    }

    // ---- KL ----

    @Test
    void klEstimatorsMatchHandArithmetic() {
        Tensor logp = t(new double[] {-1.0, -2.0, -0.3}, 1, 3);
        Tensor ref = t(new double[] {-1.5, -1.0, -0.3}, 1, 3);
        // logr = ref - logp = [-0.5, 1.0, 0.0]
        assertArrayEquals(new double[] {0.5, -1.0, 0.0}, PpoMath.klPerToken(logp, ref, "k1").toDoubleArray(), TOL);
        assertArrayEquals(new double[] {Math.exp(-0.5) - 1 + 0.5, Math.exp(1.0) - 1 - 1.0, 0.0},
                PpoMath.klPerToken(logp, ref, "k3").toDoubleArray(), TOL);
        assertThrows(IllegalArgumentException.class, () -> PpoMath.klPerToken(logp, ref, "k2"));
    }

    @Test
    void maskedKlIsZeroAtPaddingWhateverItHolds() {
        Tensor logp = t(new double[] {-1.0, Double.NEGATIVE_INFINITY}, 1, 2);
        Tensor ref = t(new double[] {-1.5, Double.NEGATIVE_INFINITY}, 1, 2);
        Tensor mask = t(new double[] {1, 0}, 1, 2);
        assertArrayEquals(new double[] {0.5, 0.0}, PpoMath.klPerToken(logp, ref, mask, "k1").toDoubleArray(), TOL);
        assertArrayEquals(new double[] {Math.exp(-0.5) - 0.5, 0.0}, PpoMath.klPerToken(logp, ref, mask, "k3").toDoubleArray(), TOL);
    }

    @Test
    void k3IsNonNegativeOnRandomInputs() {
        Generator gen = new Generator(7);
        Tensor logp = Tensor.randn(gen, DType.F64, 16, 32).mul(2.0);
        Tensor ref = Tensor.randn(gen, DType.F64, 16, 32).mul(2.0);
        Tensor k3 = PpoMath.klPerToken(logp, ref, "k3");
        for (double v : k3.toDoubleArray()) assertTrue(v >= 0, "k3 element " + v);
        assertTrue(k3.mean().item() > 0);
    }

    // ---- rewards ----

    @Test
    void rewardsPutTheScoreOnTheLastTokenAndTheKlPenaltyEverywhereElse() {
        Tensor scores = t(new double[] {2.0, -1.0}, 2);
        Tensor kl = t(new double[] {0.1, 0.2, 0.3, 0.4, 0.5, 99}, 2, 3);
        Tensor mask = t(new double[] {1, 1, 1, 1, 1, 0}, 2, 3);
        int[] last = PpoMath.lastTokenIndex(mask);
        assertArrayEquals(new int[] {2, 1}, last);
        double c = 0.05;
        // row 0: -c*kl, score on t = 2;  row 1: score on t = 1, t = 2 is padding
        double[] expected = {-c * 0.1, -c * 0.2, -c * 0.3 + 2.0, -c * 0.4, -c * 0.5 - 1.0, 0.0};
        assertArrayEquals(expected, PpoMath.rewards(scores, kl, c, mask, last).toDoubleArray(), TOL);
        assertArrayEquals(new double[] {-c * 0.1, -c * 0.2, -c * 0.3, -c * 0.4, -c * 0.5, 0.0},
                PpoMath.nonScoreRewards(kl, c, mask).toDoubleArray(), TOL);
    }

    @Test
    void trlPlacementPutsTheScoreOnePastTheLastTokenWhenThereIsRoom() {
        Tensor mask = t(new double[] {1, 1, 1, 1, 1, 0, 1, 0, 0}, 3, 3);
        // L = [2, 1, 0]; L + 1 = 3 does not fit in T = 3, so row 0 keeps 2
        assertArrayEquals(new int[] {2, 2, 1}, PpoMath.trlScoreIndex(mask));
        assertArrayEquals(new double[] {1, 1, 1, 1, 1, 1, 1, 1, 0}, PpoMath.trlValueMask(mask).toDoubleArray(), 0.0);
        Tensor kl = t(new double[] {0, 0, 0, 0, 0, 0, 0, 0, 0}, 3, 3);
        Tensor r = PpoMath.rewards(t(new double[] {1, 2, 3}, 3), kl, 0.05, mask, PpoMath.trlScoreIndex(mask));
        assertArrayEquals(new double[] {0, 0, 1, 0, 0, 2, 0, 3, 0}, r.toDoubleArray(), 0.0);
    }

    @Test
    void missingEosPenaltyIsSubtractedOnlyWithoutEos() {
        Tensor scores = t(new double[] {1.0, 2.0, 3.0}, 3);
        assertArrayEquals(new double[] {1.0, 1.0, 3.0},
                PpoMath.applyMissingEosPenalty(scores, new boolean[] {true, false, true}, 1.0).toDoubleArray(), TOL);
        assertArrayEquals(new double[] {1.0, 2.0, 3.0}, scores.toDoubleArray(), 0.0); // input untouched
    }

    // ---- GAE ----

    @Test
    void gaeMatchesTheTrlLoopOnAHandExample() {
        // gamma 1, lambda 0.95; r = [0.1, -0.2, 1.0], v = [0.5, 0.4, 0.3]
        // t=2: delta = 1.0 + 1*0 - 0.3 = 0.7;            A2 = 0.7
        // t=1: delta = -0.2 + 1*0.3 - 0.4 = -0.3;        A1 = -0.3 + 0.95*0.7 = 0.365
        // t=0: delta = 0.1 + 1*0.4 - 0.5 = 0.0;          A0 = 0.0 + 0.95*0.365 = 0.34675
        double a2 = 1.0 + 0 - 0.3;
        double a1 = (-0.2 + 0.3 - 0.4) + 0.95 * a2;
        double a0 = (0.1 + 0.4 - 0.5) + 0.95 * a1;
        assertEquals(0.34675, a0, 1e-12);
        PpoMath.Gae g = PpoMath.gae(t(new double[] {0.1, -0.2, 1.0}, 1, 3), t(new double[] {0.5, 0.4, 0.3}, 1, 3),
                t(new double[] {1, 1, 1}, 1, 3), 1.0, 0.95);
        assertArrayEquals(new double[] {a0, a1, a2}, g.advantages().toDoubleArray(), TOL);
        assertArrayEquals(new double[] {a0 + 0.5, a1 + 0.4, a2 + 0.3}, g.returns().toDoubleArray(), TOL); // returns = A + v
    }

    @Test
    void gaeIgnoresPaddingAndHonoursGamma() {
        // gamma 0.9, lambda 0.8; row 0: r = [1, 2, pad], v = [0.5, 0.25, pad]; row 1: r = [0, 0, 3], v = [1, 1, 1]
        // row 0, t=2: padding, r = v = 0 -> A2 = 0
        //        t=1: delta = 2 + 0.9*0 - 0.25 = 1.75;          A1 = 1.75 + 0.72*0 = 1.75
        //        t=0: delta = 1 + 0.9*0.25 - 0.5 = 0.725;       A0 = 0.725 + 0.72*1.75 = 1.985
        // row 1, t=2: delta = 3 - 1 = 2;                         A2 = 2
        //        t=1: delta = 0 + 0.9*1 - 1 = -0.1;             A1 = -0.1 + 0.72*2 = 1.34
        //        t=0: delta = -0.1;                              A0 = -0.1 + 0.72*1.34 = 0.8648
        double gl = 0.9 * 0.8;
        double r0a1 = 2 - 0.25, r0a0 = (1 + 0.9 * 0.25 - 0.5) + gl * r0a1;
        double r1a2 = 3 - 1.0, r1a1 = (0.9 - 1.0) + gl * r1a2, r1a0 = (0.9 - 1.0) + gl * r1a1;
        assertEquals(1.985, r0a0, 1e-12);
        assertEquals(0.8648, r1a0, 1e-12);
        Tensor mask = t(new double[] {1, 1, 0, 1, 1, 1}, 2, 3);
        Tensor v = t(new double[] {0.5, 0.25, 7, 1, 1, 1}, 2, 3);
        PpoMath.Gae g = PpoMath.gae(t(new double[] {1, 2, 9, 0, 0, 3}, 2, 3), v, mask, 0.9, 0.8);
        assertArrayEquals(new double[] {r0a0, r0a1, 0, r1a0, r1a1, r1a2}, g.advantages().toDoubleArray(), TOL);
        assertArrayEquals(new double[] {r0a0 + 0.5, r0a1 + 0.25, 0, r1a0 + 1, r1a1 + 1, r1a2 + 1},
                g.returns().toDoubleArray(), TOL);
        // other values at the padded position change nothing
        PpoMath.Gae g2 = PpoMath.gae(t(new double[] {1, 2, -1e6, 0, 0, 3}, 2, 3),
                t(new double[] {0.5, 0.25, Double.NaN, 1, 1, 1}, 2, 3), mask, 0.9, 0.8);
        assertArrayEquals(g.advantages().toDoubleArray(), g2.advantages().toDoubleArray(), 0.0);
        assertArrayEquals(g.returns().toDoubleArray(), g2.returns().toDoubleArray(), 0.0);
    }

    // ---- policy loss ----

    /** old log-probs and ratios [1.5, 0.7, 1.1, 0.6] with advantages [1, 1, -2, -1], plus a padded 5th position. */
    private static final double[] OLD = {-1.0, -2.0, -0.5, -1.5, -3.0};
    private static final double[] RATIO = {1.5, 0.7, 1.1, 0.6};
    private static final double[] ADV = {1.0, 1.0, -2.0, -1.0, 5.0};
    private static final Tensor MASK5 = Tensor.of(new double[] {1, 1, 1, 1, 0}, 1, 5);
    private static final Tensor MASK4 = Tensor.of(new double[] {1, 1, 1, 0}, 1, 4);

    private static double[] newLogprobs(double padded) {
        double[] x = new double[5];
        for (int i = 0; i < 4; i++) x[i] = OLD[i] + Math.log(RATIO[i]);
        x[4] = padded;
        return x;
    }

    @Test
    void policyLossMatchesHandArithmetic() {
        // cliprange 0.2 -> clamp to [0.8, 1.2]
        // t0: pg1 = -1*1.5 = -1.5, pg2 = -1*1.2 = -1.2 -> max -1.2 (clipped: pg2 > pg1)
        // t1: pg1 = -1*0.7 = -0.7, pg2 = -1*0.8 = -0.8 -> max -0.7
        // t2: pg1 = 2*1.1 = 2.2,   pg2 = 2*1.1 = 2.2   -> max 2.2 (tie: not clipped)
        // t3: pg1 = 1*0.6 = 0.6,   pg2 = 1*0.8 = 0.8   -> max 0.8 (clipped)
        // loss = (-1.2 - 0.7 + 2.2 + 0.8) / 4 = 0.275; clipfrac = 2/4; approxkl = 0.5 * mean(log(ratio)^2)
        Variable x = Variable.parameter(t(newLogprobs(42.0), 1, 5));
        PpoMath.PolicyLoss pl = PpoMath.policyLoss(x, t(OLD, 1, 5), t(ADV, 1, 5), MASK5, 0.2);
        assertEquals((-1.2 - 0.7 + 2.2 + 0.8) / 4.0, pl.loss().data().item(), 1e-12);
        assertEquals(2.0 / 4.0, pl.clipfrac(), TOL);
        double l0 = Math.log(1.5), l1 = Math.log(0.7), l2 = Math.log(1.1), l3 = Math.log(0.6);
        assertEquals(0.5 * (l0 * l0 + l1 * l1 + l2 * l2 + l3 * l3) / 4.0, pl.approxkl(), 1e-12);
        pl.loss().backward();
        // d/dnew of -adv*ratio is -adv*ratio: t0 clipped -> 0; t1 -> -0.7; t2 tie -> 0.5*2.2 + 0.5*2.2 = 2.2;
        // t3 clipped -> 0; pad -> 0
        assertArrayEquals(new double[] {0, -0.7 / 4.0, 2.2 / 4.0, 0, 0}, x.grad().toDoubleArray(), 1e-12);
    }

    @Test
    void policyLossIgnoresPaddedPositionsInValueAndGradient() {
        Variable a = Variable.parameter(t(newLogprobs(42.0), 1, 5));
        Variable b = Variable.parameter(t(newLogprobs(Double.NaN), 1, 5));
        double[] oldB = OLD.clone();
        oldB[4] = Double.NEGATIVE_INFINITY;
        double[] advB = ADV.clone();
        advB[4] = -1e9;
        PpoMath.PolicyLoss la = PpoMath.policyLoss(a, t(OLD, 1, 5), t(ADV, 1, 5), MASK5, 0.2);
        PpoMath.PolicyLoss lb = PpoMath.policyLoss(b, t(oldB, 1, 5), t(advB, 1, 5), MASK5, 0.2);
        la.loss().backward();
        lb.loss().backward();
        assertEquals(la.loss().data().item(), lb.loss().data().item(), 0.0);
        assertEquals(la.clipfrac(), lb.clipfrac(), 0.0);
        assertEquals(la.approxkl(), lb.approxkl(), 0.0);
        assertArrayEquals(a.grad().toDoubleArray(), b.grad().toDoubleArray(), 0.0);
    }

    @Test
    void firstMinibatchHasRatioOneAndLossMinusMeanAdvantage() {
        Generator gen = new Generator(11);
        Tensor old = Tensor.randn(gen, DType.F64, 3, 5);
        Tensor adv = Tensor.randn(gen, DType.F64, 3, 5);
        Tensor mask = t(new double[] {1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0}, 3, 5);
        Variable x = Variable.parameter(old.copy());
        PpoMath.PolicyLoss pl = PpoMath.policyLoss(x, old, adv, mask, 0.2);
        double[] a = adv.toDoubleArray(), m = mask.toDoubleArray();
        double sum = 0, n = 0;
        for (int i = 0; i < a.length; i++) if (m[i] == 1) { sum += a[i]; n++; }
        assertEquals(-sum / n, pl.loss().data().item(), 1e-12);
        assertEquals(0.0, pl.clipfrac(), 0.0);
        assertEquals(0.0, pl.approxkl(), 0.0);
        pl.loss().backward();
        // at ratio 1 the gradient is the vanilla policy gradient -adv / n on unmasked tokens
        double[] g = x.grad().toDoubleArray();
        for (int i = 0; i < g.length; i++) assertEquals(m[i] == 1 ? -a[i] / n : 0.0, g[i], 1e-12);
    }

    @Test
    void policyLossGradientPassesGradCheck() {
        // ratios 1.5, 0.7, 1.1, 0.9, 1.3, 0.75 with mixed-sign advantages: no ratio within 0.05 of 0.8 or 1.2
        double[] old = {-1.0, -2.0, -0.5, -1.5, -0.7, -2.5, -1.0, -1.0};
        double[] ratio = {1.5, 0.7, 1.1, 0.9, 1.3, 0.75, 1, 1};
        double[] adv = {1.0, 1.0, -2.0, 0.5, -0.3, -1.2, 3.0, 3.0};
        double[] lp = new double[8];
        for (int i = 0; i < 8; i++) lp[i] = old[i] + Math.log(ratio[i]);
        Tensor mask = t(new double[] {1, 1, 1, 1, 1, 1, 1, 0}, 2, 4);
        GradCheck.check(in -> PpoMath.policyLoss(in[0], t(old, 2, 4), t(adv, 2, 4), mask, 0.2).loss(), t(lp, 2, 4))
                .assertPassed();
    }

    // ---- value loss ----

    @Test
    void valueLossMatchesHandArithmetic() {
        // cliprange_value 0.2
        // t0: vpred 1.3, old 0.8 -> vclipped = clamp(1.3, 0.6, 1.0) = 1.0; ret 0: vf1 = 1.69, vf2 = 1.0 -> 1.69
        // t1: vpred 0.5, old 0.9 -> vclipped = 0.7; ret 0: vf1 = 0.25, vf2 = 0.49 -> 0.49 (clipped: vf2 > vf1)
        // t2: vpred 2.0, old 2.3 -> vclipped = 2.1; ret 2.5: vf1 = 0.25, vf2 = 0.16 -> 0.25
        // loss = 0.5 * (1.69 + 0.49 + 0.25) / 3; clipfrac = 1/3
        Variable v = Variable.parameter(t(new double[] {1.3, 0.5, 2.0, 77}, 1, 4));
        PpoMath.ValueLoss vl = PpoMath.valueLoss(v, t(new double[] {0.8, 0.9, 2.3, -5}, 1, 4),
                t(new double[] {0.0, 0.0, 2.5, 3}, 1, 4), MASK4, 0.2);
        assertEquals(0.5 * (1.69 + 0.49 + 0.25) / 3.0, vl.loss().data().item(), 1e-12);
        assertEquals(1.0 / 3.0, vl.clipfrac(), TOL);
        vl.loss().backward();
        // t0: d 0.5*mean((v-ret)^2) = 0.5 * 2*(1.3-0)/3; t1: clipped side wins, vclipped is flat -> 0;
        // t2: unclipped side wins, 2*(2-2.5) -> 0.5 * (-1)/3; padded -> 0
        assertArrayEquals(new double[] {0.5 * 2.6 / 3.0, 0, 0.5 * -1.0 / 3.0, 0}, v.grad().toDoubleArray(), 1e-12);
    }

    @Test
    void valueLossIgnoresPaddedPositions() {
        Variable a = Variable.parameter(t(new double[] {1.3, 0.5, 2.0, 77}, 1, 4));
        Variable b = Variable.parameter(t(new double[] {1.3, 0.5, 2.0, Double.NaN}, 1, 4));
        PpoMath.ValueLoss la = PpoMath.valueLoss(a, t(new double[] {0.8, 0.9, 2.3, -5}, 1, 4),
                t(new double[] {0.0, 0.0, 2.5, 3}, 1, 4), MASK4, 0.2);
        PpoMath.ValueLoss lb = PpoMath.valueLoss(b, t(new double[] {0.8, 0.9, 2.3, 1e30}, 1, 4),
                t(new double[] {0.0, 0.0, 2.5, Double.POSITIVE_INFINITY}, 1, 4), MASK4, 0.2);
        la.loss().backward();
        lb.loss().backward();
        assertEquals(la.loss().data().item(), lb.loss().data().item(), 0.0);
        assertEquals(la.clipfrac(), lb.clipfrac(), 0.0);
        assertArrayEquals(a.grad().toDoubleArray(), b.grad().toDoubleArray(), 0.0);
    }

    @Test
    void valueLossGradientPassesGradCheck() {
        // |vpred - old| is 0.5, 0.4, 0.3, 0.1, 0.35, 0.02: never within 0.05 of the clip range 0.2
        double[] vpred = {1.3, 0.5, 2.0, -0.4, 0.15, 1.02};
        double[] old = {0.8, 0.9, 2.3, -0.3, 0.5, 1.0};
        double[] ret = {0.0, 0.0, 2.5, 1.0, -1.0, 0.3};
        Tensor mask = t(new double[] {1, 1, 1, 1, 1, 0}, 2, 3);
        GradCheck.check(in -> PpoMath.valueLoss(in[0], t(old, 2, 3), t(ret, 2, 3), mask, 0.2).loss(), t(vpred, 2, 3))
                .assertPassed();
    }

    @Test
    void lossesWorkInF32() {
        Variable x = Variable.parameter(t(newLogprobs(0), 1, 5).to(DType.F32));
        PpoMath.PolicyLoss pl = PpoMath.policyLoss(x, t(OLD, 1, 5).to(DType.F32), t(ADV, 1, 5).to(DType.F32),
                MASK5.to(DType.F32), 0.2);
        assertEquals(DType.F32, pl.loss().dtype());
        assertEquals(0.275, pl.loss().data().item(), 1e-6);
        Tensor mask = MASK4.to(DType.F32);
        Variable v = Variable.parameter(t(new double[] {1.3, 0.5, 2.0, 0}, 1, 4).to(DType.F32));
        PpoMath.ValueLoss vl = PpoMath.valueLoss(v, t(new double[] {0.8, 0.9, 2.3, 0}, 1, 4).to(DType.F32),
                t(new double[] {0, 0, 2.5, 0}, 1, 4).to(DType.F32), mask, 0.2);
        assertEquals(0.5 * (1.69 + 0.49 + 0.25) / 3.0, vl.loss().data().item(), 1e-6);
    }

    @Test
    void badInputsFailWithAMessage() {
        Variable x = Variable.parameter(t(new double[] {0, 0, 0}, 1, 3));
        Tensor ok = t(new double[] {0, 0, 0}, 1, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PpoMath.policyLoss(x, t(new double[] {0, 0}, 1, 2), ok, t(new double[] {1, 1, 1}, 1, 3), 0.2));
        assertTrue(e.getMessage().contains("oldLogprobs"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> PpoMath.policyLoss(x, ok, ok, t(new double[] {1, 0.5, 1}, 1, 3), 0.2));
        assertTrue(e.getMessage().contains("only 0 and 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> PpoMath.policyLoss(x, ok.to(DType.F32), ok, t(new double[] {1, 1, 1}, 1, 3), 0.2));
        assertTrue(e.getMessage().contains("F32"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> PpoMath.rewards(t(new double[] {1}, 1), ok, 0.05, t(new double[] {0, 0, 0}, 1, 3), PpoMath.lastTokenIndex(
                        t(new double[] {0, 0, 0}, 1, 3))));
    }

    // ---- entropy ----

    @Test
    void entropyMatchesHandArithmetic() {
        // row 0: logits [0, 0] -> p = [1/2, 1/2], H = ln 2
        // row 1: logits [0, ln 3] -> p = [1/4, 3/4], H = -(1/4 ln 1/4 + 3/4 ln 3/4)
        Tensor logits = t(new double[] {0, 0, 0, Math.log(3)}, 1, 2, 2);
        double h1 = -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75));
        assertArrayEquals(new double[] {Math.log(2), h1}, PpoMath.entropy(logits).toDoubleArray(), 1e-12);
        assertArrayEquals(new int[] {1, 2}, PpoMath.entropy(logits).shape());
    }

    // ---- KL controller ----

    @Test
    void fixedKlControllerNeverMoves() {
        KlController c = KlController.fixed(0.05);
        c.update(100.0, 1000);
        assertEquals(0.05, c.value(), 0.0);
    }

    @Test
    void adaptiveKlControllerFollowsZieglerUpdate() {
        KlController c = KlController.adaptive(0.2, 6.0, 10000);
        // kl 9: error = clip(9/6 - 1 = 0.5, -0.2, 0.2) = 0.2; mult = 1 + 0.2 * 256 / 10000 = 1.00512
        c.update(9.0, 256);
        double expected = 0.2 * (1 + 0.2 * 256 / 10000.0);
        assertEquals(0.201024, expected, 1e-15);
        assertEquals(expected, c.value(), 1e-15);
        // kl 5.7: error = 5.7/6 - 1 = -0.05 (inside the clip); mult = 1 - 0.05 * 100 / 10000 = 0.9995
        c.update(5.7, 100);
        expected *= 1 + (5.7 / 6.0 - 1) * 100 / 10000.0;
        assertEquals(expected, c.value(), 1e-15);
        // kl 0: error = clip(-1, -0.2, 0.2) = -0.2
        c.update(0.0, 10000);
        expected *= 1 - 0.2;
        assertEquals(expected, c.value(), 1e-15);
        assertThrows(IllegalArgumentException.class, () -> c.update(Double.NaN, 1));
        assertThrows(IllegalArgumentException.class, () -> KlController.adaptive(0.2, 0, 10000));
    }
}
