package org.rlhf4j.transformer.nn;

import org.rlhf4j.autograd.Nn;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Tensor;

/** Layer norm over the last axis with weight (ones) and bias (zeros): the fused kernel. */
public final class LayerNorm extends Module {
    private final double eps;
    private final Variable weight, bias;

    public LayerNorm(int width, double eps, DType dtype) {
        this.eps = eps;
        this.weight = parameter("weight", Tensor.ones(dtype, width));
        this.bias = parameter("bias", Tensor.zeros(dtype, width));
    }

    public Variable forward(Variable x) {
        return Nn.layerNorm(x, weight, bias, eps);
    }
}
