package org.rlhf4j.transformer.nn;

import org.rlhf4j.autograd.Nn;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;

/** A table of {@code [count, width]} vectors looked up by id (gather forward, scatter-add backward). */
public final class Embedding extends Module {
    private final Variable weight;

    public Embedding(int count, int width, double std, DType dtype, Generator gen) {
        this.weight = parameter("weight", Tensor.empty(dtype, count, width).fillNormal(gen, 0, std));
    }

    public Variable weight() {
        return weight;
    }

    /** ids (I32, any shape) -> {@code [..ids, width]}. */
    public Variable forward(Tensor ids) {
        return Nn.embedding(weight, ids);
    }
}
