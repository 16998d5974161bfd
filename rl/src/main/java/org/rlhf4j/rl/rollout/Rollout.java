package org.rlhf4j.rl.rollout;

import org.rlhf4j.rl.logprobs.SequenceBatch;
import org.rlhf4j.rl.logprobs.SequenceLogProbs;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Generation;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.gpt.SamplingConfig;

/**
 * One batch of samples from the policy, laid out for scoring and training: the prompts and completions, the
 * {@link SequenceBatch} over them, whether each completion ended with EOS, and the per-token log-probs of the
 * completion under the policy and the reference {@code [B, T-1]}, both computed without a graph and with the
 * sampling temperature (as TRL does), zero outside the completion mask; and the seconds spent generating and
 * computing those log-probs. The batch and the log-probs live on the policy's device. Generation and the two
 * log-prob passes run in the caller's {@link org.rlhf4j.autograd.Autocast} precision.
 */
public record Rollout(int[][] prompts, int[][] completions, boolean[] endedWithEos, SequenceBatch batch,
                      Tensor policyLogProbs, Tensor referenceLogProbs, double generationSeconds, double logProbSeconds) {

    /** Samples completions for {@code prompts} from {@code policy} and scores them under both models. */
    public static Rollout sample(Gpt policy, Gpt reference, int[][] prompts, SamplingConfig sampling, long[] rowSeeds) {
        boolean wasTraining = policy.isTraining();
        policy.eval();
        try {
            long t0 = System.nanoTime();
            Generation.Result r = Generation.generate(policy, prompts, sampling, rowSeeds);
            long t1 = System.nanoTime();
            int[][] completions = r.completions();
            for (int i = 0; i < completions.length; i++) {
                if (completions[i].length == 0) completions[i] = new int[] {Math.max(sampling.padId(), 0)};
            }
            SequenceBatch batch = SequenceBatch.of(prompts, completions, Math.max(sampling.padId(), 0), policy.dtype(),
                    policy.device());
            double temperature = sampling.isGreedy() ? 1.0 : sampling.temperature();
            Tensor logp = SequenceLogProbs.perTokenNoGrad(policy, batch, temperature);
            Tensor ref = reference == null ? null
                    : SequenceLogProbs.perTokenNoGrad(reference, batch, temperature).to(logp.device());
            long t2 = System.nanoTime();
            return new Rollout(prompts, completions, r.endedWithEos(), batch, logp, ref, (t1 - t0) * 1e-9, (t2 - t1) * 1e-9);
        } finally {
            if (wasTraining) policy.train();
        }
    }

    public int size() {
        return prompts.length;
    }

    /** Index in {@code [0, T-1)} of each row's last completion token (where a sequence-level score lands). */
    public int[] lastTokenIndex() {
        int[] idx = new int[size()];
        for (int i = 0; i < idx.length; i++) idx[i] = batch.promptWidth() + completions[i].length - 2;
        return idx;
    }
}
