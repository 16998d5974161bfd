package org.rlhf4j.rl.grpo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.rlhf4j.autograd.GradCheck;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;

class GrpoMathTest {
    private static final double TOL = 1e-12;

    private static Tensor t(double[] data, int... shape) {
        return Tensor.of(data, shape);
    }

    // ---- advantages ----

    /** Two groups of three: {1, 2, 3} (mean 2, std 1) and {0, 0, 0} (std 0). */
    private static final Tensor REWARDS = Tensor.of(new double[] {1, 2, 3, 0, 0, 0});

    @Test
    void groupScalingDividesByEachGroupsStd() {
        // group 0: mean 2, std = sqrt((1 + 0 + 1) / 2) = 1 -> adv = [-1, 0, 1] / (1 + 1e-4)
        // group 1: mean 0, std 0 -> adv = 0 / 1e-4 = 0
        GrpoMath.GroupAdvantages a = GrpoMath.advantages(REWARDS, 3, "group");
        double s = 1 + 1e-4;
        assertArrayEquals(new double[] {-1 / s, 0, 1 / s, 0, 0, 0}, a.advantages().toDoubleArray(), TOL);
        assertArrayEquals(new double[] {1, 1, 1, 0, 0, 0}, a.stdRewards().toDoubleArray(), TOL);
        assertEquals(1.0, a.reward(), TOL);                 // 6 / 6
        assertEquals(0.5, a.rewardStd(), TOL);              // (1 + 1 + 1 + 0 + 0 + 0) / 6
        assertEquals(0.5, a.fracRewardZeroStd(), TOL);      // 3 of 6 rows have a zero std
        Map<String, Double> m = a.metrics();
        assertEquals(0.5, m.get("frac_reward_zero_std"), TOL);
        assertEquals(0.5, m.get("reward_std"), TOL);
        assertEquals(1.0, m.get("reward"), TOL);
    }

    @Test
    void batchScalingDividesByTheWholeBatchStd() {
        // batch mean 1, std = sqrt(((1-1)^2 + (2-1)^2 + (3-1)^2 + 3 * (0-1)^2) / 5) = sqrt(8/5)
        // adv = (r - group mean) / (sqrt(1.6) + 1e-4); no row has a zero std
        GrpoMath.GroupAdvantages a = GrpoMath.advantages(REWARDS, 3, "batch");
        double s = Math.sqrt(8.0 / 5.0) + 1e-4;
        assertArrayEquals(new double[] {-1 / s, 0, 1 / s, 0, 0, 0}, a.advantages().toDoubleArray(), TOL);
        assertEquals(Math.sqrt(8.0 / 5.0), a.rewardStd(), TOL);
        assertEquals(0.0, a.fracRewardZeroStd(), 0.0);
    }

    @Test
    void noScalingOnlyCentresButStillReportsGroupStd() {
        Tensor r = t(new double[] {0.5, 1.5, 4.0, 4.0, -1.0, 3.0});
        // G = 2: groups {0.5, 1.5} mean 1, std sqrt(0.5); {4, 4} std 0; {-1, 3} mean 1, std sqrt(8)
        GrpoMath.GroupAdvantages a = GrpoMath.advantages(r, 2, "none");
        assertArrayEquals(new double[] {-0.5, 0.5, 0, 0, -2, 2}, a.advantages().toDoubleArray(), TOL);
        assertArrayEquals(new double[] {Math.sqrt(0.5), Math.sqrt(0.5), 0, 0, Math.sqrt(8), Math.sqrt(8)},
                a.stdRewards().toDoubleArray(), TOL);
        assertEquals(2.0 / 6.0, a.fracRewardZeroStd(), TOL);
        // the same rewards scaled by group: (-0.5 / (sqrt(0.5) + 1e-4), ...)
        GrpoMath.GroupAdvantages g = GrpoMath.advantages(r, 2, "group");
        double s0 = Math.sqrt(0.5) + 1e-4, s2 = Math.sqrt(8) + 1e-4;
        assertArrayEquals(new double[] {-0.5 / s0, 0.5 / s0, 0, 0, -2 / s2, 2 / s2}, g.advantages().toDoubleArray(), TOL);
    }

    @Test
    void advantagesRejectBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> GrpoMath.advantages(REWARDS, 4, "group"));
        assertThrows(IllegalArgumentException.class, () -> GrpoMath.advantages(REWARDS, 1, "group"));
        assertThrows(IllegalArgumentException.class, () -> GrpoMath.advantages(REWARDS, 3, "std"));
        GrpoMath.GroupAdvantages f = GrpoMath.advantages(REWARDS.to(DType.F32), 3, "group");
        assertEquals(DType.F32, f.advantages().dtype());
    }

    // ---- KL ----

    @Test
    void k3MatchesHandArithmeticAndIsNonNegative() {
        // d = ref - logp = [-0.2, 0.5, 0]: k3 = exp(d) - d - 1
        Tensor logp = t(new double[] {-1.0, -2.0, -0.5}, 1, 3);
        Tensor ref = t(new double[] {-1.2, -1.5, -0.5}, 1, 3);
        double[] expected = {Math.exp(-0.2) + 0.2 - 1, Math.exp(0.5) - 0.5 - 1, 0};
        assertArrayEquals(expected, GrpoMath.perTokenKl(logp, ref).toDoubleArray(), TOL);
        assertArrayEquals(expected, GrpoMath.perTokenKl(Variable.constant(logp), ref).data().toDoubleArray(), TOL);
        Generator gen = new Generator(3);
        Tensor k = GrpoMath.perTokenKl(Tensor.randn(gen, DType.F64, 8, 40).mul(3.0), Tensor.randn(gen, DType.F64, 8, 40).mul(3.0));
        for (double v : k.toDoubleArray()) assertTrue(v >= 0, "k3 element " + v);
        assertTrue(k.mean().item() > 0);
    }

    // ---- loss: aggregation on unequal rows ----

    /** Row 0 has 3 tokens, row 1 has 1; advantages [0.5, -1]; the masked positions hold garbage. */
    private static final Tensor MASK = Tensor.of(new double[] {1, 1, 1, 1, 0, 0}, 2, 3);
    private static final double[] LOGP = {-1.0, -2.0, -0.5, -0.7, 123.0, -50.0};
    private static final Tensor ADV = Tensor.of(new double[] {0.5, -1.0});

    private static double onPolicyLoss(String lossType, int maxLen) {
        Variable x = Variable.parameter(t(LOGP, 2, 3));
        return GrpoMath.loss(x, null, null, ADV, MASK, 0.2, 0.2, 0.0, lossType, maxLen).loss().data().item();
    }

    @Test
    void eachAggregationModeOnAHandExampleWithUnequalRows() {
        // on-policy (old = logp): coef1 = 1, per-token loss = -adv: row 0 -> [-0.5, -0.5, -0.5], row 1 -> [1.0]
        // grpo:    mean(-1.5 / 3, 1.0 / 1)      = (-0.5 + 1.0) / 2 = 0.25
        // bnpo:    (-1.5 + 1.0) / 4             = -0.125
        // dr_grpo: (-1.5 + 1.0) / (2 * 5)       = -0.05
        // dapo:    (-1.5 + 1.0) / 4 tokens      = -0.125 (one micro-batch: as bnpo)
        assertEquals(0.25, onPolicyLoss("grpo", 5), TOL);
        assertEquals(-0.125, onPolicyLoss("bnpo", 5), TOL);
        assertEquals(-0.05, onPolicyLoss("dr_grpo", 5), TOL);
        assertEquals(-0.125, onPolicyLoss("dapo", 5), TOL);
        // dapo with the whole generation batch's token count (say 10 over the micro-batches): -0.5 / 10
        Variable x = Variable.parameter(t(LOGP, 2, 3));
        assertEquals(-0.05, GrpoMath.loss(x, null, null, ADV, MASK, 0.2, 0.2, 0.0, "dapo", 5, 10.0).loss().data().item(), TOL);
    }

    @Test
    void onPolicyGradientIsMinusAdvantageOverTheNormalizer() {
        // grpo: d/dlogp of -adv * exp(logp - sg(logp)) = -adv, scaled by 1 / (B * row count)
        Variable x = Variable.parameter(t(LOGP, 2, 3));
        GrpoMath.Loss l = GrpoMath.loss(x, null, null, ADV, MASK, 0.2, 0.2, 0.0, "grpo", 5);
        l.loss().backward();
        assertArrayEquals(new double[] {-0.5 / 6, -0.5 / 6, -0.5 / 6, 1.0 / 2, 0, 0}, x.grad().toDoubleArray(), TOL);
        assertEquals(0.0, l.clipRatioRegionMean(), 0.0);
        assertTrue(Double.isNaN(l.kl()));
        assertFalse(l.metrics().containsKey("kl"));
        // bnpo: 1 / 4 tokens
        Variable y = Variable.parameter(t(LOGP, 2, 3));
        GrpoMath.loss(y, null, null, ADV, MASK, 0.2, 0.2, 0.0, "bnpo", 5).loss().backward();
        assertArrayEquals(new double[] {-0.5 / 4, -0.5 / 4, -0.5 / 4, 1.0 / 4, 0, 0}, y.grad().toDoubleArray(), TOL);
    }

    // ---- loss: clipping, KL term and metrics ----

    /**
     * B = 2, T = 3, mask [[1, 1, 0], [1, 1, 1]], epsLow 0.2, epsHigh 0.28, beta 0.1, advantages [1, -2].
     * Ratios (coef1): row 0 [1.5, 0.5, pad], row 1 [0.5, 1.5, 0.9]. Reference: d = ref - logp = [-0.2, 0.5, pad,
     * 0, -0.5, 0.3].
     */
    private static final double[] LP = {-1.0, -2.0, 9.0, -0.5, -0.4, -1.3};
    private static final double[] RATIO = {1.5, 0.5, 1.0, 0.5, 1.5, 0.9};
    private static final double[] OLD = new double[6];
    private static final double[] REF = {-1.2, -1.5, Double.NEGATIVE_INFINITY, -0.5, -0.9, -1.0};
    private static final Tensor MASK2 = Tensor.of(new double[] {1, 1, 0, 1, 1, 1}, 2, 3);
    private static final Tensor ADV2 = Tensor.of(new double[] {1.0, -2.0});

    static {
        for (int i = 0; i < 6; i++) OLD[i] = LP[i] - Math.log(RATIO[i]);
        OLD[2] = Double.NaN;
    }

    // t00: adv +1, coef1 1.5, coef2 1.28: -min(1.5, 1.28)   = -1.28  (high-clipped)
    // t01: adv +1, coef1 0.5, coef2 0.8:  -min(0.5, 0.8)    = -0.5   (not clipped: adv > 0)
    // t10: adv -2, coef1 0.5, coef2 0.8:  -min(-1.0, -1.6)  = 1.6    (low-clipped)
    // t11: adv -2, coef1 1.5, coef2 1.28: -min(-3.0, -2.56) = 3.0    (not clipped: adv < 0)
    // t12: adv -2, coef1 0.9, coef2 0.9:  -min(-1.8, -1.8)  = 1.8    (inside the range)
    // k3 = exp(d) - d - 1
    private static final double K00 = Math.exp(-0.2) + 0.2 - 1, K01 = Math.exp(0.5) - 0.5 - 1, K10 = 0,
            K11 = Math.exp(-0.5) + 0.5 - 1, K12 = Math.exp(0.3) - 0.3 - 1;
    private static final double L00 = -1.28 + 0.1 * K00, L01 = -0.5 + 0.1 * K01, L10 = 1.6 + 0.1 * K10,
            L11 = 3.0 + 0.1 * K11, L12 = 1.8 + 0.1 * K12;
    private static final double SUM = L00 + L01 + L10 + L11 + L12;

    private static GrpoMath.Loss clipped(Variable x, String lossType) {
        return GrpoMath.loss(x, t(OLD, 2, 3), t(REF, 2, 3), ADV2, MASK2, 0.2, 0.28, 0.1, lossType, 4);
    }

    @Test
    void clippedLossWithKlMatchesHandArithmetic() {
        Variable x = Variable.parameter(t(LP, 2, 3));
        assertEquals(((L00 + L01) / 2 + (L10 + L11 + L12) / 3) / 2, clipped(x, "grpo").loss().data().item(), 1e-12);
        assertEquals(SUM / 5, clipped(x, "bnpo").loss().data().item(), 1e-12);
        assertEquals(SUM / (2 * 4), clipped(x, "dr_grpo").loss().data().item(), 1e-12);
        assertEquals(SUM / 5, clipped(x, "dapo").loss().data().item(), 1e-12);
    }

    @Test
    void metricsFollowTrlDefinitions() {
        GrpoMath.Loss l = clipped(Variable.parameter(t(LP, 2, 3)), "bnpo");
        assertEquals((K00 + K01 + K10 + K11 + K12) / 5, l.kl(), 1e-12); // masked mean of k3
        assertEquals(1.0 / 5, l.clipRatioLowMean(), TOL);                 // t10 only (t01 has adv > 0)
        assertEquals(1.0 / 5, l.clipRatioHighMean(), TOL);                // t00 only (t11 has adv < 0)
        assertEquals(2.0 / 5, l.clipRatioRegionMean(), TOL);
        Map<String, Double> m = l.metrics();
        assertEquals(l.kl(), m.get("kl"), 0.0);
        assertEquals(1.0 / 5, m.get("clip_ratio/low_mean"), TOL);
        assertEquals(1.0 / 5, m.get("clip_ratio/high_mean"), TOL);
        assertEquals(2.0 / 5, m.get("clip_ratio/region_mean"), TOL);
    }

    @Test
    void clippedLossGradientMatchesHandArithmetic() {
        // bnpo, over 5 tokens. d(-coef1 * adv)/dlogp = -adv * coef1; d k3 / d logp = 1 - exp(d)
        // t00: clipped side wins, flat -> 0;        KL: 0.1 * (1 - exp(-0.2))
        // t01: coef1 side: -1 * 0.5 = -0.5;         KL: 0.1 * (1 - exp(0.5))
        // t10: clipped side wins -> 0;              KL: 0.1 * (1 - exp(0)) = 0
        // t11: coef1 side: 2 * 1.5 = 3.0;           KL: 0.1 * (1 - exp(-0.5))
        // t12: tie inside the range: 2 * 0.9 = 1.8; KL: 0.1 * (1 - exp(0.3))
        Variable x = Variable.parameter(t(LP, 2, 3));
        clipped(x, "bnpo").loss().backward();
        double[] expected = {0.1 * (1 - Math.exp(-0.2)) / 5, (-0.5 + 0.1 * (1 - Math.exp(0.5))) / 5, 0,
            0, (3.0 + 0.1 * (1 - Math.exp(-0.5))) / 5, (1.8 + 0.1 * (1 - Math.exp(0.3))) / 5};
        assertArrayEquals(expected, x.grad().toDoubleArray(), 1e-12);
    }

    @Test
    void everyLossTypePassesGradCheck() {
        // coef1 = 1.5, 0.5, 0.5, 1.1, 0.9, 0.6: each at least 0.05 from 0.8 and 1.28
        double[] lp = {-1.0, -2.0, -0.5, -0.3, -1.1, -0.9};
        double[] ratio = {1.5, 0.5, 0.5, 1.1, 0.9, 0.6};
        double[] old = new double[6];
        for (int i = 0; i < 6; i++) old[i] = lp[i] - Math.log(ratio[i]);
        double[] ref = {-1.2, -1.5, -0.5, -0.1, -1.4, -2.0};
        Tensor mask = t(new double[] {1, 1, 1, 1, 1, 0}, 2, 3);
        Tensor adv = t(new double[] {0.7, -1.3});
        for (String type : new String[] {"grpo", "bnpo", "dr_grpo", "dapo"}) {
            GradCheck.check(in -> GrpoMath.loss(in[0], t(old, 2, 3), t(ref, 2, 3), adv, mask, 0.2, 0.28, 0.04, type, 7).loss(),
                    t(lp, 2, 3)).assertPassed();
        }
    }

    @Test
    void maskedPositionsChangeNothingEvenWhenNonFinite() {
        double[] lpB = LP.clone(), oldB = OLD.clone(), refB = REF.clone();
        lpB[2] = Double.NaN;
        oldB[2] = 1e30;
        refB[2] = Double.POSITIVE_INFINITY;
        for (String type : new String[] {"grpo", "bnpo", "dr_grpo", "dapo"}) {
            Variable a = Variable.parameter(t(LP, 2, 3));
            Variable b = Variable.parameter(t(lpB, 2, 3));
            GrpoMath.Loss la = clipped(a, type);
            GrpoMath.Loss lb = GrpoMath.loss(b, t(oldB, 2, 3), t(refB, 2, 3), ADV2, MASK2, 0.2, 0.28, 0.1, type, 4);
            la.loss().backward();
            lb.loss().backward();
            assertEquals(la.loss().data().item(), lb.loss().data().item(), 0.0, type);
            assertEquals(la.metrics(), lb.metrics(), type);
            assertArrayEquals(a.grad().toDoubleArray(), b.grad().toDoubleArray(), 0.0, type);
            assertEquals(0.0, b.grad().toDoubleArray()[2], 0.0, type);
        }
    }

    @Test
    void lossRejectsBadArguments() {
        Variable x = Variable.parameter(t(LP, 2, 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GrpoMath.loss(x, null, null, ADV2, MASK2, 0.2, 0.2, 0.04, "bnpo", 4));
        assertTrue(e.getMessage().contains("reference"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GrpoMath.loss(x, null, null, ADV2, MASK2, 0.2, 0.2, 0, "mean", 4));
        assertThrows(IllegalArgumentException.class, () -> GrpoMath.loss(x, null, null, ADV2, MASK2, 0.2, 0.2, 0, "dr_grpo", 0));
        assertThrows(IllegalArgumentException.class,
                () -> GrpoMath.loss(x, null, null, t(new double[] {1, 2, 3}), MASK2, 0.2, 0.2, 0, "grpo", 4));
    }
}
