package org.rlhf4j.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;

/** The README's library example, as written there, so that it stays true. */
class ReadmeExampleTest {
    @Test
    void readmeExampleRuns() {
        var gen = new Generator(42);
        var x = Tensor.randn(gen, DType.F32, 8, 16);
        var w = Variable.parameter(Tensor.randn(gen, DType.F32, 16, 4).mul(0.1));
        var targets = Tensor.ofInts(new int[] {0, 1, 2, 3, 0, 1, 2, 3});

        Variable logits = Variable.constant(x).matmul(w);
        Variable loss = Loss.crossEntropy(logits, targets);
        loss.backward();

        GradCheck.check(v -> v[0].tanh().matmul(v[1]), Tensor.randn(gen, DType.F64, 3, 4),
                Tensor.randn(gen, DType.F64, 4, 2)).assertPassed();

        // small random weights: the loss is near log(4), and the gradient has the weight's shape
        assertTrue(Math.abs(loss.data().item() - Math.log(4)) < 0.5, "loss " + loss.data().item());
        assertArrayEquals(new int[] {16, 4}, w.grad().shape());
    }
}
