package org.rlhf4j.autograd;

/**
 * Whether ops record the graph, per thread. {@code try (var g = Grad.disabled()) { ... }} turns recording off
 * inside the block (inference, reference-model log-probs, optimizer steps) and restores it afterwards.
 */
public final class Grad {
    private static final ThreadLocal<boolean[]> ENABLED = ThreadLocal.withInitial(() -> new boolean[] {true});

    private Grad() {}

    /** True when ops on this thread record the graph. */
    public static boolean isEnabled() {
        return ENABLED.get()[0];
    }

    /** A scope with recording off; closing it restores what was there before. */
    public static Scope disabled() {
        return new Scope(false);
    }

    /** A scope with recording on (inside a disabled one); closing it restores what was there before. */
    public static Scope enabled() {
        return new Scope(true);
    }

    /** A try-with-resources scope over the recording flag. */
    public static final class Scope implements AutoCloseable {
        private final boolean previous;
        private boolean closed;

        private Scope(boolean value) {
            boolean[] flag = ENABLED.get();
            previous = flag[0];
            flag[0] = value;
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            ENABLED.get()[0] = previous;
        }
    }
}
