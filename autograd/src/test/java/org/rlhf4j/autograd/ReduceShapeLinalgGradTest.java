package org.rlhf4j.autograd;

import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;

/** Reductions, shape ops, indexing and matmul: every backward against finite differences (GradCheck, F64). */
class ReduceShapeLinalgGradTest {
    private final Generator gen = new Generator(7);

    private Tensor randn(int... shape) {
        return Tensor.randn(gen, DType.F64, shape);
    }

    @Test
    void reductions() {
        GradCheck.check(v -> v[0].sum(), randn(2, 3)).assertPassed();
        GradCheck.check(v -> v[0].mean(), randn(3, 2).t()).assertPassed();
        for (int axis = -3; axis < 3; axis++) {
            int a = axis;
            GradCheck.check(v -> v[0].sum(a, false), randn(2, 3, 2)).assertPassed();
            GradCheck.check(v -> v[0].mean(a, true), randn(2, 3, 2)).assertPassed();
            GradCheck.check(v -> Reduce.max(v[0], a, false), randn(2, 3, 2)).assertPassed();
        }
        GradCheck.check(v -> Reduce.max(v[0]), randn(3, 4)).assertPassed();
    }

    @Test
    void views() {
        GradCheck.check(v -> v[0].reshape(3, -1), randn(2, 3)).assertPassed();
        GradCheck.check(v -> v[0].reshape(6), randn(3, 2).t()).assertPassed();
        GradCheck.check(v -> v[0].permute(2, 0, 1), randn(2, 3, 2)).assertPassed();
        GradCheck.check(v -> v[0].transpose(0, 2), randn(2, 1, 3)).assertPassed();
        GradCheck.check(v -> ShapeOps.narrow(v[0], 1, 1, 2), randn(2, 4)).assertPassed();
        GradCheck.check(v -> ShapeOps.expand(v[0], 2, 3, 4), randn(3, 1)).assertPassed();
        GradCheck.check(v -> ShapeOps.squeeze(v[0], 1), randn(2, 1, 3)).assertPassed();
        GradCheck.check(v -> ShapeOps.unsqueeze(v[0], -1), randn(2, 3)).assertPassed();
    }

    @Test
    void concatAndStack() {
        GradCheck.check(v -> ShapeOps.concat(1, v[0], v[1], v[2]), randn(2, 1), randn(2, 3), randn(3, 2).t()).assertPassed();
        GradCheck.check(v -> ShapeOps.concat(0, v[0], v[1]), randn(1, 3), randn(2, 3)).assertPassed();
        GradCheck.check(v -> ShapeOps.stack(1, v[0], v[1]), randn(2, 3), randn(2, 3)).assertPassed();
    }

    @Test
    void indexing() {
        Tensor rows = Tensor.ofInts(new int[] {2, 0, 2, 1}); // repeated index: gradients add
        GradCheck.check(v -> ShapeOps.indexSelect(v[0], 0, rows), randn(3, 2)).assertPassed();
        GradCheck.check(v -> ShapeOps.indexSelect(v[0], 1, rows), randn(2, 3)).assertPassed();
        Tensor idx = Tensor.ofInts(new int[] {0, 2, 2, 1, 0, 0}, 2, 3);
        GradCheck.check(v -> ShapeOps.gather(v[0], 1, idx), randn(2, 4)).assertPassed();
        Tensor idx0 = Tensor.ofInts(new int[] {1, 0, 1}, 1, 3);
        GradCheck.check(v -> ShapeOps.gather(v[0], 0, idx0), randn(2, 3)).assertPassed();
    }

    @Test
    void matmulPlainBatchedBroadcastAndTransposed() {
        GradCheck.check(v -> v[0].matmul(v[1]), randn(3, 4), randn(4, 2)).assertPassed();
        GradCheck.check(v -> v[0].matmul(v[1]), randn(2, 3, 4), randn(2, 4, 5)).assertPassed();
        GradCheck.check(v -> v[0].matmul(v[1]), randn(2, 3, 4), randn(4, 2)).assertPassed();     // shared weight
        GradCheck.check(v -> v[0].matmul(v[1]), randn(1, 3, 4), randn(3, 4, 2)).assertPassed();  // broadcast batch
        GradCheck.check(v -> v[0].matmul(v[1]), randn(4, 3).t(), randn(2, 4).t()).assertPassed(); // transposed views
        GradCheck.check(v -> v[0].matmul(v[1].transpose(-1, -2)), randn(2, 3, 4), randn(2, 5, 4)).assertPassed();
    }

    @Test
    void linearAgainstFiniteDifferencesAndItsComposition() {
        GradCheck.check(v -> LinearAlgebra.linear(v[0], v[1], v[2]), randn(3, 4), randn(4, 2), randn(2)).assertPassed();
        GradCheck.check(v -> LinearAlgebra.linear(v[0], v[1], null), randn(3, 4), randn(4, 2)).assertPassed();
        GradCheck.check(v -> LinearAlgebra.linear(v[0], v[1], v[2]), randn(4, 3).t(), randn(2, 4).t(), randn(2)).assertPassed();
        // the same values and gradients as matmul then a broadcast add, to 1e-12 (F64)
        Tensor x = randn(5, 7), w = randn(7, 3), b = randn(3), dy = randn(5, 3);
        Variable[] f = {Variable.parameter(x), Variable.parameter(w), Variable.parameter(b)};
        Variable[] c = {Variable.parameter(x), Variable.parameter(w), Variable.parameter(b)};
        Variable yf = LinearAlgebra.linear(f[0], f[1], f[2]);
        Variable yc = c[0].matmul(c[1]).add(c[2]);
        org.junit.jupiter.api.Assertions.assertTrue(yf.data().allClose(yc.data(), 1e-12, 1e-12));
        yf.backward(dy, false);
        yc.backward(dy, false);
        for (int i = 0; i < 3; i++) {
            org.junit.jupiter.api.Assertions.assertTrue(f[i].grad().allClose(c[i].grad(), 1e-12, 1e-12), "input " + i);
        }
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> LinearAlgebra.linear(Variable.constant(x), Variable.constant(w), Variable.constant(randn(4))));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("linear") && e.getMessage().contains("[4]"),
                e.getMessage());
    }

    @Test
    void fastModeOnABigComposition() {
        // 64x48 @ 48x32 then tanh and a mean: too big for the full Jacobian in a unit test
        GradCheck.checkFast(v -> v[0].matmul(v[1]).tanh().mean(1, false), 11, randn(64, 48), randn(48, 32)).assertPassed();
    }
}
