package org.rlhf4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.LongSupplier;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.io.HfConfig;
import org.rlhf4j.transformer.io.ModelDirectory;
import org.rlhf4j.transformer.io.TrainingCheckpoint;
import org.rlhf4j.transformer.optim.AdamW;

/**
 * The {@link TrainingRun.Session} of one trainer and its AdamW optimizer. The step count, the optimizer's state, the
 * order of a restore (models, optimizer, generators, trainer) and the tokenizer files next to the saved model are the
 * same for every training command; a command says how it takes a step, which models it trains, how its trainer's
 * position is saved and restored, and what it plots.
 */
abstract class TrainerSession implements TrainingRun.Session {
    private final long totalSteps;
    private final LongSupplier step;
    private final AdamW optimizer;
    private final Path tokenizerSource;

    /** {@code tokenizerSource}: where the tokenizer files come from (null for the byte-level tokenizer). */
    TrainerSession(long totalSteps, LongSupplier step, AdamW optimizer, Path tokenizerSource) {
        this.totalSteps = totalSteps;
        this.step = step;
        this.optimizer = optimizer;
        this.tokenizerSource = tokenizerSource;
    }

    @Override
    public final long totalSteps() {
        return totalSteps;
    }

    @Override
    public final long step() {
        return step.getAsLong();
    }

    /** Whether the step just taken was the run's last: the final evaluation goes with it. */
    final boolean atLastStep() {
        return step() == totalSteps;
    }

    @Override
    public final Map<String, Tensor> optimizerState() {
        return optimizer.state();
    }

    @Override
    public final long optimizerSteps() {
        return optimizer.stepCount();
    }

    @Override
    public final void restore(TrainingCheckpoint checkpoint, long optimizerSteps, Map<String, Object> trainerState) {
        restoreModels(checkpoint);
        optimizer.loadState(checkpoint.optimizer(), optimizerSteps);
        checkpoint.restoreGenerators(generators());
        restoreTrainer(checkpoint, trainerState);
    }

    /** Loads the checkpoint's tensors into the trained models ({@link #modelState()} as it was saved). */
    abstract void restoreModels(TrainingCheckpoint checkpoint);

    /** Puts the trainer back where the checkpoint was taken ({@link #trainerState()} as it was saved). */
    abstract void restoreTrainer(TrainingCheckpoint checkpoint, Map<String, Object> trainerState);

    @Override
    public final void saveModel(Path dir) throws IOException {
        ModelFiles.copyTokenizer(tokenizerSource, dir);
        saveWeights(dir);
    }

    /** Writes the trained model's weights and config.json (last) to {@code dir}. */
    abstract void saveWeights(Path dir) throws IOException;

    /** A session that trains one GPT policy and saves it as a GPT2LMHeadModel with EOS as BOS and EOS. */
    abstract static class OfPolicy extends TrainerSession {
        private final Gpt policy;
        private final int eos;

        OfPolicy(long totalSteps, LongSupplier step, AdamW optimizer, Path tokenizerSource, Gpt policy, int eos) {
            super(totalSteps, step, optimizer, tokenizerSource);
            this.policy = policy;
            this.eos = eos;
        }

        @Override
        public Map<String, Tensor> modelState() {
            return policy.stateDict();
        }

        @Override
        void restoreModels(TrainingCheckpoint checkpoint) {
            checkpoint.restoreModel(policy);
        }

        @Override
        final void saveWeights(Path dir) throws IOException {
            policy.eval();
            ModelDirectory.save(policy, HfConfig.of(policy.config(), eos, eos), dir);
        }
    }
}
