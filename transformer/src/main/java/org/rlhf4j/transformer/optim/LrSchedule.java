package org.rlhf4j.transformer.optim;

/**
 * A learning rate as a pure function of the optimizer step, as the Hugging Face {@code get_*_schedule_with_warmup}
 * functions. {@code step} is the number of updates already made (0 for the first), so with warmup the first
 * update has learning rate 0, exactly as HF's LambdaLR-based schedules. Use it as
 * {@code opt.setLearningRate(schedule.at(opt.stepCount())); opt.step();}.
 *
 * <p>Warmup, in every variant: {@code lr * step / warmup} for {@code step < warmup}.
 */
@FunctionalInterface
public interface LrSchedule {

    /** The learning rate for the update that follows {@code step} earlier ones ({@code step >= 0}). */
    double at(long step);

    /** {@code lr} at every step (HF {@code constant}). */
    static LrSchedule constant(double lr) {
        return new Constant(lr, 0);
    }

    /** Linear warmup to {@code lr}, then {@code lr} (HF {@code constant_with_warmup}). */
    static LrSchedule constantWithWarmup(double lr, long warmupSteps) {
        return new Constant(lr, warmupSteps);
    }

    /** Linear warmup, then linear decay to 0 at {@code totalSteps} (HF {@code linear}, the Trainer's default). */
    static LrSchedule linear(double lr, long warmupSteps, long totalSteps) {
        return new Linear(lr, warmupSteps, totalSteps);
    }

    /** Linear warmup, then half a cosine from {@code lr} down to 0 at {@code totalSteps} (HF {@code cosine}). */
    static LrSchedule cosine(double lr, long warmupSteps, long totalSteps) {
        return new Cosine(lr, warmupSteps, totalSteps, 0.0);
    }

    /**
     * Linear warmup, then half a cosine from {@code lr} down to {@code minLrRatio * lr} at {@code totalSteps}
     * (HF {@code cosine_with_min_lr} with {@code min_lr_rate}).
     */
    static LrSchedule cosine(double lr, long warmupSteps, long totalSteps, double minLrRatio) {
        return new Cosine(lr, warmupSteps, totalSteps, minLrRatio);
    }

    /** Constant {@code lr} after an optional linear warmup. */
    record Constant(double lr, long warmupSteps) implements LrSchedule {
        public Constant {
            requireLr(lr);
            if (warmupSteps < 0) throw new IllegalArgumentException("LrSchedule: warmupSteps must be >= 0, found " + warmupSteps);
        }

        @Override
        public double at(long step) {
            requireStep(step);
            if (step < warmupSteps) return lr * warmupFactor(step, warmupSteps);
            return lr;
        }
    }

    /** Linear warmup, then {@code lr * (total - step) / (total - warmup)}, and 0 from {@code totalSteps} on. */
    record Linear(double lr, long warmupSteps, long totalSteps) implements LrSchedule {
        public Linear {
            requireLr(lr);
            requireSteps(warmupSteps, totalSteps);
        }

        @Override
        public double at(long step) {
            requireStep(step);
            if (step < warmupSteps) return lr * warmupFactor(step, warmupSteps);
            return lr * Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
        }
    }

    /**
     * Linear warmup, then {@code lr * (minLrRatio + (1 - minLrRatio) * 0.5 * (1 + cos(pi * progress)))} with
     * {@code progress = (step - warmup) / (total - warmup)}. Progress is capped at 1, so the rate stays at its
     * minimum after {@code totalSteps}; HF's formula would climb back up the cosine there.
     */
    record Cosine(double lr, long warmupSteps, long totalSteps, double minLrRatio) implements LrSchedule {
        public Cosine {
            requireLr(lr);
            requireSteps(warmupSteps, totalSteps);
            if (!(minLrRatio >= 0 && minLrRatio <= 1)) {
                throw new IllegalArgumentException("LrSchedule: minLrRatio must be in [0, 1], found " + minLrRatio);
            }
        }

        @Override
        public double at(long step) {
            requireStep(step);
            if (step < warmupSteps) return lr * warmupFactor(step, warmupSteps);
            double progress = Math.min(1.0, (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
            double cosine = 0.5 * (1.0 + Math.cos(Math.PI * progress));
            return lr * (minLrRatio + (1.0 - minLrRatio) * cosine);
        }
    }

    private static double warmupFactor(long step, long warmupSteps) {
        return (double) step / Math.max(1, warmupSteps);
    }

    private static void requireLr(double lr) {
        if (!(lr >= 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("LrSchedule: learning rate must be finite and >= 0, found " + lr);
        }
    }

    private static void requireSteps(long warmupSteps, long totalSteps) {
        if (warmupSteps < 0) throw new IllegalArgumentException("LrSchedule: warmupSteps must be >= 0, found " + warmupSteps);
        if (totalSteps < warmupSteps) {
            throw new IllegalArgumentException("LrSchedule: totalSteps (" + totalSteps + ") must be >= warmupSteps ("
                    + warmupSteps + ")");
        }
    }

    private static void requireStep(long step) {
        if (step < 0) throw new IllegalArgumentException("LrSchedule: step must be >= 0, found " + step);
    }
}
