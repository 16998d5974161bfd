package org.rlhf4j.transformer.gpt;

import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.nn.Module;

/**
 * A scalar per position on top of a trunk's hidden states: the value head of PPO and the reward head of a reward
 * model. {@code weight [1, C]} as Hugging Face's {@code GPT2ForSequenceClassification.score} stores it, plus a bias.
 */
public final class ScalarHead extends Module {
    private final Variable weight, bias;

    public ScalarHead(int width, DType dtype, Generator gen) {
        this.weight = parameter("weight", Tensor.empty(dtype, 1, width).fillNormal(gen, 0, 1.0 / Math.sqrt(width + 1.0)));
        this.bias = parameter("bias", Tensor.zeros(dtype, 1));
    }

    /** hidden {@code [B, T, C]} -> {@code [B, T]}. */
    public Variable forward(Variable hidden) {
        int[] s = hidden.shape();
        Variable y = hidden.reshape(-1, s[2]).matmul(weight.transpose(0, 1)).add(bias); // [B*T, 1]
        return y.reshape(s[0], s[1]);
    }
}
