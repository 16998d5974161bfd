package org.rlhf4j.transformer.nn;

import org.rlhf4j.autograd.Elementwise;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.Generator;

/** Inverted dropout with a Philox mask; the identity in eval mode or when p is 0. */
public final class Dropout extends Module {
    private final double p;
    private final Generator gen;

    public Dropout(double p, Generator gen) {
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("Dropout: p must be in [0, 1), found " + p);
        this.p = p;
        this.gen = gen;
    }

    public Variable forward(Variable x) {
        return Elementwise.dropout(x, p, isTraining(), gen);
    }
}
