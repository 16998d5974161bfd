package org.rlhf4j.transformer.nn;

import org.rlhf4j.autograd.LinearAlgebra;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;

/**
 * {@code y = x W + b} with {@code W} stored {@code [in, out]}, as GPT-2's Conv1D (and Hugging Face's checkpoints)
 * store it. Leading dimensions of x are flattened into one GEMM.
 */
public final class Linear extends Module {
    private final int in, out;
    private final Variable weight, bias;

    /** Weights from N(0, std), bias zero (GPT-2 uses std 0.02). */
    public Linear(int in, int out, boolean withBias, double std, DType dtype, Generator gen) {
        this.in = in;
        this.out = out;
        this.weight = parameter("weight", Tensor.empty(dtype, in, out).fillNormal(gen, 0, std));
        this.bias = withBias ? parameter("bias", Tensor.zeros(dtype, out)) : null;
    }

    public Variable weight() {
        return weight;
    }

    public Variable bias() {
        return bias;
    }

    /** x {@code [.., in]} -> {@code [.., out]}. */
    public Variable forward(Variable x) {
        int[] shape = x.shape();
        if (shape[shape.length - 1] != in) {
            throw new IllegalArgumentException("Linear: input width " + shape[shape.length - 1] + ", expected " + in);
        }
        int rows = x.data().numel() / Math.max(in, 1);
        Variable y = LinearAlgebra.linear(x.reshape(rows, in), weight, bias);
        shape[shape.length - 1] = out;
        return y.reshape(shape);
    }
}
