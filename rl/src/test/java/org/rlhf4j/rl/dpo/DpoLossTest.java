package org.rlhf4j.rl.dpo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.Tensor;

/**
 * Every loss type against values computed by hand in F64 from TRL's formulas. Two pairs, beta 0.1:
 *
 * <pre>
 *   pair 0: policy chosen -1.0, rejected -2.0; reference chosen -1.5, rejected -1.8
 *           logits = (-1.0 - -2.0) - (-1.5 - -1.8) = 1.0 - 0.3 = 0.7;   z = beta * logits = 0.07
 *   pair 1: policy chosen -3.0, rejected -2.5; reference chosen -2.9, rejected -2.6
 *           logits = -0.5 - -0.3 = -0.2;                                z = -0.02
 * </pre>
 *
 * The expected values use -logsigmoid(x) = log(1 + exp(-x)), written independently of the code under test.
 */
class DpoLossTest {
    private static final double TOL = 1e-13;

    private Variable policyChosen, policyRejected;

    private DpoLoss.Result run(double beta, String type, double labelSmoothing) {
        policyChosen = Variable.parameter(Tensor.of(new double[] {-1.0, -3.0}));
        policyRejected = Variable.parameter(Tensor.of(new double[] {-2.0, -2.5}));
        return new DpoLoss(beta, type, labelSmoothing).compute(policyChosen, policyRejected,
                Tensor.of(new double[] {-1.5, -2.9}), Tensor.of(new double[] {-1.8, -2.6}));
    }

    private static double negLogSigmoid(double x) {
        return Math.log(1 + Math.exp(-x));
    }

    private static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    @Test
    void logitsArePolicyLogratiosMinusReferenceLogratios() {
        assertArrayEquals(new double[] {0.7, -0.2}, run(0.1, "sigmoid", 0).logits().toDoubleArray(), TOL);
    }

    @Test
    void sigmoidLossIsMinusLogSigmoidOfBetaLogits() {
        // the brief's example: logits 0.3, beta 0.1 -> -log(sigmoid(0.03)) = 0.678...
        Variable c = Variable.parameter(Tensor.of(new double[] {0.3})), r = Variable.parameter(Tensor.of(new double[] {0.0}));
        double single = new DpoLoss(0.1, "sigmoid", 0).compute(c, r, Tensor.of(new double[] {0.0}), Tensor.of(new double[] {0.0}))
                .loss().data().item();
        assertEquals(-Math.log(1 / (1 + Math.exp(-0.03))), single, TOL);
        assertEquals(0.6782, single, 1e-4);

        DpoLoss.Result res = run(0.1, "sigmoid", 0);
        assertArrayEquals(new double[] {negLogSigmoid(0.07), negLogSigmoid(-0.02)}, res.losses().data().toDoubleArray(), TOL);
        assertEquals((negLogSigmoid(0.07) + negLogSigmoid(-0.02)) / 2, res.loss().data().item(), TOL);
    }

    @Test
    void sigmoidGradientIsMinusBetaSigmoidOfMinusZOverBatch() {
        // d/d policy_chosen_i of mean_i -logsigmoid(beta l_i) = -(beta / B) sigmoid(-beta l_i); rejected gets the opposite
        DpoLoss.Result res = run(0.1, "sigmoid", 0);
        res.loss().backward();
        double g0 = -0.1 / 2 * sigmoid(-0.07), g1 = -0.1 / 2 * sigmoid(0.02);
        assertArrayEquals(new double[] {g0, g1}, policyChosen.grad().toDoubleArray(), TOL);
        assertArrayEquals(new double[] {-g0, -g1}, policyRejected.grad().toDoubleArray(), TOL);
    }

    @Test
    void conservativeDpoWeighsBothDirectionsByLabelSmoothing() {
        // ls 0.1: -logsigmoid(z) 0.9 - logsigmoid(-z) 0.1
        DpoLoss.Result res = run(0.1, "sigmoid", 0.1);
        double l0 = 0.9 * negLogSigmoid(0.07) + 0.1 * negLogSigmoid(-0.07);
        double l1 = 0.9 * negLogSigmoid(-0.02) + 0.1 * negLogSigmoid(0.02);
        assertArrayEquals(new double[] {l0, l1}, res.losses().data().toDoubleArray(), TOL);
    }

    @Test
    void robustLossIsTheUnbiasedEstimate() {
        // ls 0.1: (-logsigmoid(z) 0.9 + logsigmoid(-z) 0.1) / (1 - 0.2)
        DpoLoss.Result res = run(0.1, "robust", 0.1);
        double l0 = (0.9 * negLogSigmoid(0.07) - 0.1 * negLogSigmoid(-0.07)) / 0.8;
        double l1 = (0.9 * negLogSigmoid(-0.02) - 0.1 * negLogSigmoid(0.02)) / 0.8;
        assertArrayEquals(new double[] {l0, l1}, res.losses().data().toDoubleArray(), TOL);
        // with no smoothing it is the sigmoid loss
        assertArrayEquals(run(0.1, "sigmoid", 0).losses().data().toDoubleArray(),
                run(0.1, "robust", 0).losses().data().toDoubleArray(), TOL);
    }

    @Test
    void hingeLossIsReluOfOneMinusBetaLogits() {
        // relu(1 - 0.07) = 0.93, relu(1 + 0.02) = 1.02
        assertArrayEquals(new double[] {0.93, 1.02}, run(0.1, "hinge", 0).losses().data().toDoubleArray(), TOL);
        // beta 2: relu(1 - 1.4) = 0 (and no gradient), relu(1 + 0.4) = 1.4
        DpoLoss.Result res = run(2.0, "hinge", 0);
        assertArrayEquals(new double[] {0.0, 1.4}, res.losses().data().toDoubleArray(), TOL);
        res.loss().backward();
        // d/d chosen_1 of relu(1 - beta l) / B = -beta / B = -1
        assertArrayEquals(new double[] {0.0, -1.0}, policyChosen.grad().toDoubleArray(), TOL);
    }

    @Test
    void ipoLossIsSquaredDistanceOfLogitsFromOneOverTwoBeta() {
        // 1 / (2 beta) = 5: (0.7 - 5)^2 = 18.49, (-0.2 - 5)^2 = 27.04; note: logits, not beta * logits
        DpoLoss.Result res = run(0.1, "ipo", 0);
        assertArrayEquals(new double[] {18.49, 27.04}, res.losses().data().toDoubleArray(), 1e-12);
        assertEquals((18.49 + 27.04) / 2, res.loss().data().item(), 1e-12);
        res.loss().backward();
        // d/d chosen_i = 2 (l_i - 5) / B
        assertArrayEquals(new double[] {0.7 - 5, -0.2 - 5}, policyChosen.grad().toDoubleArray(), 1e-12);
    }

    @Test
    void sigmoidLossIsLn2WhenPolicyEqualsReference() {
        Variable c = Variable.parameter(Tensor.of(new double[] {-4.0, -1.0})), r = Variable.parameter(Tensor.of(new double[] {-2.0, -7.0}));
        double loss = new DpoLoss(0.1, "sigmoid", 0).compute(c, r, c.data(), r.data()).loss().data().item();
        assertEquals(Math.log(2), loss, TOL);
    }

    @Test
    void rewardsAndMetricsAreTrlsAndDetached() {
        DpoLoss.Result res = run(0.1, "sigmoid", 0);
        // chosen rewards 0.1 (policy - ref) = 0.1 (-1 + 1.5), 0.1 (-3 + 2.9) = 0.05, -0.01
        // rejected rewards 0.1 (-2 + 1.8), 0.1 (-2.5 + 2.6) = -0.02, 0.01
        assertArrayEquals(new double[] {0.05, -0.01}, res.chosenRewards().toDoubleArray(), TOL);
        assertArrayEquals(new double[] {-0.02, 0.01}, res.rejectedRewards().toDoubleArray(), TOL);
        Map<String, Object> m = res.metrics();
        assertEquals(java.util.List.of("loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins",
                "logps/chosen", "logps/rejected"), java.util.List.copyOf(m.keySet()));
        assertEquals((negLogSigmoid(0.07) + negLogSigmoid(-0.02)) / 2, (double) m.get("loss"), TOL);
        assertEquals(0.02, (double) m.get("rewards/chosen"), TOL);       // (0.05 - 0.01) / 2
        assertEquals(-0.005, (double) m.get("rewards/rejected"), TOL);   // (-0.02 + 0.01) / 2
        assertEquals(0.5, (double) m.get("rewards/accuracies"), TOL);    // 0.05 > -0.02 yes; -0.01 > 0.01 no
        assertEquals(0.025, (double) m.get("rewards/margins"), TOL);     // (0.07 - 0.02) / 2
        assertEquals(-2.0, (double) m.get("logps/chosen"), TOL);         // (-1 - 3) / 2
        assertEquals(-2.25, (double) m.get("logps/rejected"), TOL);      // (-2 - 2.5) / 2
    }

    @Test
    void accuracyCountsATieAsWrong() {
        Variable c = Variable.parameter(Tensor.of(new double[] {-1.0})), r = Variable.parameter(Tensor.of(new double[] {-1.0}));
        DpoLoss.Result res = new DpoLoss(0.1, "sigmoid", 0).compute(c, r, Tensor.of(new double[] {-1.0}), Tensor.of(new double[] {-1.0}));
        assertEquals(0.0, (double) res.metrics().get("rewards/accuracies"));
    }

    @Test
    void refusesSettingsTrlDoesNotDefine() {
        assertThrows(IllegalArgumentException.class, () -> new DpoLoss(0.1, "kto", 0));
        assertThrows(IllegalArgumentException.class, () -> new DpoLoss(0.0, "sigmoid", 0));
        assertThrows(IllegalArgumentException.class, () -> new DpoLoss(0.1, "robust", 0.5));
        assertThrows(IllegalArgumentException.class, () -> new DpoLoss(0.1, "sigmoid", 0.6));
        assertThrows(IllegalArgumentException.class, () -> new DpoLoss(0.1, "ipo", 0.1));
        assertThrows(IllegalArgumentException.class, () -> new DpoLoss(0.1, "hinge", 0.1));
        Variable v = Variable.parameter(Tensor.of(new double[] {0, 0}));
        assertThrows(IllegalArgumentException.class, () -> new DpoLoss(0.1, "sigmoid", 0).compute(v, v,
                Tensor.of(new double[] {0}), Tensor.of(new double[] {0})));
    }

    @Test
    void onlyIpoAveragesLogProbs() {
        assertEquals(true, DpoLoss.Type.of("ipo").averagesLogProbs());
        for (String t : new String[] {"sigmoid", "robust", "hinge"}) assertEquals(false, DpoLoss.Type.of(t).averagesLogProbs());
    }

    @Test
    void defaultsAreTrls() {
        DpoConfig c = DpoConfig.defaults();
        assertEquals(0.1, c.beta());
        assertEquals("sigmoid", c.lossType());
        assertEquals(0.0, c.labelSmoothing());
        assertEquals(1e-6, c.learningRate());
        assertEquals(8, c.batchSize());
        assertEquals(1.0, c.maxGradNorm());
        assertEquals(1024, c.maxLength());
        assertEquals(512, c.maxPromptLength());
        assertEquals("keep_end", c.truncationMode());
    }
}
