package org.rlhf4j.autograd;

import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Tensor;

/**
 * The precision of matrix products and attention, per thread (as PyTorch's autocast):
 * {@code try (var a = Autocast.with(Precision.BF16)) { loss = model.forward(...); loss.backward(); }}. The ops
 * decide when they run forward and remember it for their backward, so the backward may run inside or outside the
 * scope. Closing a scope restores the precision that was there before; the default is {@link Precision#F32}.
 */
public final class Autocast {
    private static final ThreadLocal<Precision[]> CURRENT = ThreadLocal.withInitial(() -> new Precision[] {Precision.F32});

    private Autocast() {}

    /** The precision ops on this thread use now. */
    public static Precision current() {
        return CURRENT.get()[0];
    }

    /** A scope with {@code precision}; closing it restores the one before. */
    public static Scope with(Precision precision) {
        return new Scope(precision);
    }

    /** True when a product or attention over {@code t} computes on a BF16 copy of it. */
    static boolean lowers(Tensor t) {
        return current() == Precision.BF16 && t.dtype() == DType.F32;
    }

    /** A try-with-resources scope over the precision. */
    public static final class Scope implements AutoCloseable {
        private final Precision previous;
        private boolean closed;

        private Scope(Precision precision) {
            if (precision == null) throw new NullPointerException("Autocast: precision is null");
            Precision[] slot = CURRENT.get();
            previous = slot[0];
            slot[0] = precision;
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            CURRENT.get()[0] = previous;
        }
    }
}
