package org.rlhf4j.autograd;

import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Tensor;

/** Differentiable reductions. */
public final class Reduce {
    private Reduce() {}

    private static final Tensor[] NONE = new Tensor[0];

    /** Sum of all elements; each element gets the output's gradient. */
    public static Variable sum(Variable x) {
        int[] shape = x.shape();
        return Function.record("sum", x.data().sum(), new Variable[] {x}, NONE,
                (g, s, n) -> new Tensor[] {g.expand(shape).contiguous()});
    }

    /** Mean of all elements; each element gets 1/N of the output's gradient. */
    public static Variable mean(Variable x) {
        int[] shape = x.shape();
        int count = x.data().numel();
        return Function.record("mean", x.data().mean(), new Variable[] {x}, NONE,
                (g, s, n) -> new Tensor[] {g.div(count).expand(shape).contiguous()});
    }

    /** Sum along an axis. */
    public static Variable sum(Variable x, int axis, boolean keepDim) {
        int[] shape = x.shape();
        int a = org.rlhf4j.tensor.Shapes.axis("sum", axis, shape.length);
        return Function.record("sumAxis", x.data().sum(a, keepDim), new Variable[] {x}, NONE,
                (g, s, n) -> new Tensor[] {(keepDim ? g : g.unsqueeze(a)).expand(shape).contiguous()});
    }

    /** Mean along an axis. */
    public static Variable mean(Variable x, int axis, boolean keepDim) {
        int[] shape = x.shape();
        int a = org.rlhf4j.tensor.Shapes.axis("mean", axis, shape.length);
        int count = shape[a];
        return Function.record("meanAxis", x.data().mean(a, keepDim), new Variable[] {x}, NONE,
                (g, s, n) -> new Tensor[] {(keepDim ? g : g.unsqueeze(a)).div(count).expand(shape).contiguous()});
    }

    /** Maximum along an axis; the gradient goes to the first maximal element, as the index argmax returns. */
    public static Variable max(Variable x, int axis, boolean keepDim) {
        int[] shape = x.shape();
        int a = org.rlhf4j.tensor.Shapes.axis("max", axis, shape.length);
        Tensor index = x.data().argmax(a, true);
        Tensor y = x.data().gather(a, index);
        return Function.record("maxAxis", keepDim ? y : y.squeeze(a), new Variable[] {x}, new Tensor[] {index},
                (g, s, n) -> new Tensor[] {
                    Tensor.zeros(g.dtype(), g.device(), shape).scatterAddInPlace(a, s[0], keepDim ? g : g.unsqueeze(a))});
    }

    /** Maximum of all elements; the gradient goes to the first maximal element. */
    public static Variable max(Variable x) {
        Variable flat = ShapeOps.reshape(x, -1);
        return max(flat, 0, false);
    }

    static DType dtypeOf(Variable v) {
        return v.dtype();
    }
}
