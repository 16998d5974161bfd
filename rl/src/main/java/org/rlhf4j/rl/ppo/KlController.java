package org.rlhf4j.rl.ppo;

/**
 * The coefficient of the KL penalty in the PPO reward, fixed or adapted toward a target KL.
 *
 * <p>TRL's current {@code PPOTrainer} uses a fixed {@code kl_coef} (default {@link #DEFAULT_FIXED_KL_COEF});
 * the adaptive controller is the one of Ziegler et al. (2019), "Fine-Tuning Language Models from Human
 * Preferences", kept as {@code AdaptiveKLController} in TRL's earlier PPO trainer, with that trainer's defaults
 * {@link #DEFAULT_INIT_KL_COEF}, {@link #DEFAULT_TARGET} and {@link #DEFAULT_HORIZON}. That trainer called
 * {@code update(mean_kl, batch_size * num_processes)} once per PPO step, {@code mean_kl} being the mean over the
 * batch of each response's summed per-token KL.
 */
public sealed interface KlController permits KlController.Fixed, KlController.Adaptive {
    /** TRL {@code PPOConfig.kl_coef}. */
    double DEFAULT_FIXED_KL_COEF = 0.05;
    /** TRL's earlier {@code PPOConfig.init_kl_coef}. */
    double DEFAULT_INIT_KL_COEF = 0.2;
    /** TRL's earlier {@code PPOConfig.target}. */
    double DEFAULT_TARGET = 6.0;
    /** TRL's earlier {@code PPOConfig.horizon}. */
    double DEFAULT_HORIZON = 10000.0;

    /** The coefficient to use now. */
    double value();

    /** Feeds back the KL measured over the last {@code nSteps} samples. */
    void update(double currentKl, long nSteps);

    static Fixed fixed(double klCoef) {
        return new Fixed(klCoef);
    }

    static Adaptive adaptive(double initKlCoef, double target, double horizon) {
        return new Adaptive(initKlCoef, target, horizon);
    }

    /** TRL {@code FixedKLController}: {@link #update} does nothing. */
    final class Fixed implements KlController {
        private final double value;

        private Fixed(double klCoef) {
            if (!(klCoef >= 0) || Double.isInfinite(klCoef)) {
                throw new IllegalArgumentException("KlController.fixed: the coefficient must be finite and >= 0, found " + klCoef);
            }
            this.value = klCoef;
        }

        @Override
        public double value() {
            return value;
        }

        @Override
        public void update(double currentKl, long nSteps) {}

        @Override
        public String toString() {
            return "KlController.Fixed(" + value + ")";
        }
    }

    /**
     * TRL {@code AdaptiveKLController} (Ziegler et al. 2019, eq. 2):
     * <pre>
     *   proportional_error = clip(current / target - 1, -0.2, 0.2)
     *   mult               = 1 + proportional_error * n_steps / horizon
     *   value             *= mult
     * </pre>
     */
    final class Adaptive implements KlController {
        private final double target;
        private final double horizon;
        private double value;

        private Adaptive(double initKlCoef, double target, double horizon) {
            if (!(initKlCoef >= 0) || Double.isInfinite(initKlCoef)) {
                throw new IllegalArgumentException("KlController.adaptive: initKlCoef must be finite and >= 0, found " + initKlCoef);
            }
            if (!(target > 0) || Double.isInfinite(target)) {
                throw new IllegalArgumentException("KlController.adaptive: target must be finite and > 0, found " + target);
            }
            if (!(horizon > 0) || Double.isInfinite(horizon)) {
                throw new IllegalArgumentException("KlController.adaptive: horizon must be finite and > 0, found " + horizon);
            }
            this.value = initKlCoef;
            this.target = target;
            this.horizon = horizon;
        }

        @Override
        public double value() {
            return value;
        }

        public double target() {
            return target;
        }

        public double horizon() {
            return horizon;
        }

        /** Fails on a non-finite KL instead of turning the coefficient into NaN. */
        @Override
        public void update(double currentKl, long nSteps) {
            if (!Double.isFinite(currentKl)) {
                throw new IllegalArgumentException("KlController.update: the measured KL is " + currentKl);
            }
            if (nSteps < 0) throw new IllegalArgumentException("KlController.update: nSteps must be >= 0, found " + nSteps);
            double proportionalError = Math.max(-0.2, Math.min(0.2, currentKl / target - 1));
            double mult = 1 + proportionalError * nSteps / horizon;
            value *= mult;
        }

        @Override
        public String toString() {
            return "KlController.Adaptive(value=" + value + ", target=" + target + ", horizon=" + horizon + ")";
        }
    }
}
