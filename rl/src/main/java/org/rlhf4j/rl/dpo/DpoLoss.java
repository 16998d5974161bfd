package org.rlhf4j.rl.dpo;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.rlhf4j.autograd.Elementwise;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.Tensor;

/**
 * The DPO family of pairwise losses, exactly as TRL's {@code DPOTrainer.dpo_loss} defines them (reverse-KL
 * f-divergence, {@code reference_free=False}). Inputs are per-pair sequence log-probabilities {@code [B]}: the
 * policy's (with a graph) and the frozen reference's (plain tensors). With
 *
 * <pre>
 *   logits = (policy_chosen - policy_rejected) - (ref_chosen - ref_rejected)      (pi_logratios - ref_logratios)
 *   z      = beta * logits
 * </pre>
 *
 * the per-pair losses are ({@code ls} = label_smoothing):
 *
 * <pre>
 *   "sigmoid"  -logsigmoid(z) (1 - ls) - logsigmoid(-z) ls                DPO (Rafailov et al.); cDPO when ls > 0
 *   "robust"   (-logsigmoid(z) (1 - ls) + logsigmoid(-z) ls) / (1 - 2 ls)  Robust DPO (Chowdhury et al.), ls < 0.5
 *   "hinge"    relu(1 - z)                                                 SLiC (Zhao et al.)
 *   "ipo"      (logits - 1 / (2 beta))^2                                   IPO (Azar et al.) eq. 17, beta = tau
 * </pre>
 *
 * and the loss is their mean over the batch. Implicit rewards, for logging only, are
 * {@code chosen_rewards = beta * (policy_chosen - ref_chosen)} and {@code rejected_rewards = beta * (policy_rejected
 * - ref_rejected)}, detached, as in TRL.
 *
 * <p>What the log-probs are is the caller's business, and TRL's choice depends on the loss type: the sum of the
 * completion tokens' log-probs, except for "ipo", where TRL's {@code concatenated_forward} divides the sums by the
 * number of completion tokens (for the policy and the reference alike, and so also in the rewards and the
 * {@code logps/*} metrics). {@link Type#averagesLogProbs()} says which; {@link DpoTrainer} follows it.
 *
 * <p>label_smoothing only exists for "sigmoid" and "robust"; TRL warns and ignores it for "hinge" and "ipo", this
 * class refuses it there.
 */
public final class DpoLoss {

    /** The loss types, by TRL's {@code loss_type} names. */
    public enum Type {
        SIGMOID("sigmoid"), ROBUST("robust"), HINGE("hinge"), IPO("ipo");

        private final String trlName;

        Type(String trlName) {
            this.trlName = trlName;
        }

        /** TRL's name: "sigmoid", "robust", "hinge" or "ipo". */
        public String trlName() {
            return trlName;
        }

        /** True when TRL feeds this loss log-probs averaged over completion tokens instead of summed (IPO). */
        public boolean averagesLogProbs() {
            return this == IPO;
        }

        /** The type TRL calls {@code name}. */
        public static Type of(String name) {
            for (Type t : values()) if (t.trlName.equals(name)) return t;
            throw new IllegalArgumentException("DpoLoss: unknown loss type '" + name + "'; supported: "
                    + Arrays.stream(values()).map(Type::trlName).toList());
        }
    }

    private final double beta;
    private final Type type;
    private final double labelSmoothing;

    /** beta 0.1 and label_smoothing 0 are TRL's defaults. */
    public DpoLoss(double beta, Type type, double labelSmoothing) {
        if (!(beta > 0) || Double.isInfinite(beta)) throw new IllegalArgumentException("DpoLoss: beta must be finite and > 0, found " + beta);
        if (!(labelSmoothing >= 0 && labelSmoothing <= 0.5)) {
            throw new IllegalArgumentException("DpoLoss: label_smoothing must be in [0, 0.5], found " + labelSmoothing);
        }
        if (type == Type.ROBUST && labelSmoothing >= 0.5) {
            throw new IllegalArgumentException("DpoLoss: the robust loss divides by 1 - 2 label_smoothing, which needs"
                    + " label_smoothing < 0.5, found " + labelSmoothing);
        }
        if ((type == Type.HINGE || type == Type.IPO) && labelSmoothing != 0) {
            throw new IllegalArgumentException("DpoLoss: the " + type.trlName() + " loss has no label smoothing (TRL"
                    + " ignores it); found label_smoothing " + labelSmoothing);
        }
        this.beta = beta;
        this.type = type;
        this.labelSmoothing = labelSmoothing;
    }

    public DpoLoss(double beta, String type, double labelSmoothing) {
        this(beta, Type.of(type), labelSmoothing);
    }

    public double beta() {
        return beta;
    }

    public Type type() {
        return type;
    }

    public double labelSmoothing() {
        return labelSmoothing;
    }

    /**
     * The losses of a batch of pairs. {@code policyChosen}, {@code policyRejected}: {@code [B]}, with a graph to the
     * policy; {@code referenceChosen}, {@code referenceRejected}: {@code [B]} in the same dtype (no gradient).
     */
    public Result compute(Variable policyChosen, Variable policyRejected, Tensor referenceChosen, Tensor referenceRejected) {
        int[] shape = policyChosen.shape();
        for (int[] s : new int[][] {policyRejected.shape(), referenceChosen.shape(), referenceRejected.shape()}) {
            if (shape.length != 1 || !Arrays.equals(s, shape)) {
                throw new IllegalArgumentException("DpoLoss: log-probs must all be [B]; found policy chosen "
                        + Arrays.toString(shape) + ", policy rejected " + Arrays.toString(policyRejected.shape())
                        + ", reference chosen " + Arrays.toString(referenceChosen.shape()) + ", reference rejected "
                        + Arrays.toString(referenceRejected.shape()));
            }
        }
        Tensor refLogratios = referenceChosen.sub(referenceRejected);                     // [B]
        Variable logits = policyChosen.sub(policyRejected).sub(Variable.constant(refLogratios)); // [B]
        Variable losses = switch (type) {
            case SIGMOID -> {
                Variable z = logits.mul(beta);
                yield Elementwise.logSigmoid(z).mul(-(1 - labelSmoothing))
                        .sub(Elementwise.logSigmoid(z.neg()).mul(labelSmoothing));
            }
            case ROBUST -> {
                Variable z = logits.mul(beta);
                yield Elementwise.logSigmoid(z).mul(-(1 - labelSmoothing))
                        .add(Elementwise.logSigmoid(z.neg()).mul(labelSmoothing))
                        .mul(1.0 / (1 - 2 * labelSmoothing));
            }
            case HINGE -> logits.mul(-beta).add(1.0).relu();                           // relu(1 - beta logits)
            case IPO -> Elementwise.square(logits.add(-1.0 / (2 * beta)));             // (logits - 1/(2 beta))^2
        };
        Tensor chosenRewards = policyChosen.data().sub(referenceChosen).mul(beta);
        Tensor rejectedRewards = policyRejected.data().sub(referenceRejected).mul(beta);
        return new Result(losses, losses.mean(), logits.data(), chosenRewards, rejectedRewards,
                policyChosen.data(), policyRejected.data());
    }

    /**
     * A batch's losses and what TRL logs about them.
     *
     * @param losses          per pair {@code [B]}, with a graph
     * @param loss            their mean, the value to minimise
     * @param logits          {@code pi_logratios - ref_logratios} {@code [B]}
     * @param chosenRewards   {@code beta (policy_chosen - ref_chosen)} {@code [B]}, detached
     * @param rejectedRewards {@code beta (policy_rejected - ref_rejected)} {@code [B]}, detached
     * @param policyChosen    the policy's chosen log-probs {@code [B]}, detached
     * @param policyRejected  the policy's rejected log-probs {@code [B]}, detached
     */
    public record Result(Variable losses, Variable loss, Tensor logits, Tensor chosenRewards, Tensor rejectedRewards,
                         Tensor policyChosen, Tensor policyRejected) {

        /** The names of {@link #metrics()}, in TRL's order (and the order of {@link #metricValues()}). */
        public static final List<String> METRIC_NAMES = List.of("loss", "rewards/chosen", "rewards/rejected",
                "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected");

        /**
         * The values of {@link #metrics()} as one tensor {@code [7]} on the device of the inputs, in
         * {@link #METRIC_NAMES} order, so that a caller can download them together with its own values.
         */
        public Tensor metricValues() {
            Tensor[] values = {
                loss.data(),
                chosenRewards.mean(),
                rejectedRewards.mean(),
                chosenRewards.gt(rejectedRewards).to(chosenRewards.dtype()).mean(),
                chosenRewards.sub(rejectedRewards).mean(),
                policyChosen.mean(),
                policyRejected.mean()};
            for (int i = 0; i < values.length; i++) values[i] = values[i].reshape(1);
            return Tensor.concat(0, values);
        }

        /** Names {@code values} (from {@link #metricValues()}, downloaded, possibly followed by more) as metrics. */
        public static Map<String, Object> metrics(double[] values) {
            Map<String, Object> m = new LinkedHashMap<>();
            for (int i = 0; i < METRIC_NAMES.size(); i++) m.put(METRIC_NAMES.get(i), values[i]);
            return m;
        }

        /**
         * TRL's DPO metrics, batch means, in TRL's order: {@code loss}, {@code rewards/chosen},
         * {@code rewards/rejected}, {@code rewards/accuracies} (fraction of pairs with chosen_rewards strictly above
         * rejected_rewards), {@code rewards/margins}, {@code logps/chosen}, {@code logps/rejected}; one download.
         */
        public Map<String, Object> metrics() {
            return metrics(metricValues().toDoubleArray());
        }
    }
}
