package org.rlhf4j.autograd;

import org.rlhf4j.tensor.Tensor;

/** Undoing broadcasting in backward: a gradient of the broadcast shape summed back to an input's shape. */
final class Broadcast {
    private Broadcast() {}

    /** Sums {@code g} over the leading dimensions it has beyond {@code shape} and where shape has size 1. */
    static Tensor sumTo(Tensor g, int[] shape) {
        int[] gs = g.shape();
        if (java.util.Arrays.equals(gs, shape)) return g;
        Tensor r = g;
        int lead = gs.length - shape.length;
        for (int i = 0; i < lead; i++) r = r.sum(0, false);
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] == 1 && r.size(d) != 1) r = r.sum(d, true);
        }
        return r;
    }
}
