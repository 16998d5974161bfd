package org.rlhf4j.autograd;

import java.util.Arrays;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Tensor;

/** Differentiable views and rearrangements. Views stay views in forward; backward undoes them. */
public final class ShapeOps {
    private ShapeOps() {}

    private static final Tensor[] NONE = new Tensor[0];

    public static Variable reshape(Variable x, int... shape) {
        int[] in = x.shape();
        return Function.record("reshape", x.data().reshape(shape), new Variable[] {x}, NONE,
                (g, s, n) -> new Tensor[] {g.reshape(in)});
    }

    public static Variable permute(Variable x, int... order) {
        int rank = x.shape().length;
        int[] inverse = new int[rank];
        for (int i = 0; i < rank; i++) inverse[org.rlhf4j.tensor.Shapes.axis("permute", order[i], rank)] = i;
        return Function.record("permute", x.data().permute(order), new Variable[] {x}, NONE,
                (g, s, n) -> new Tensor[] {g.permute(inverse)});
    }

    public static Variable transpose(Variable x, int d0, int d1) {
        return Function.record("transpose", x.data().transpose(d0, d1), new Variable[] {x}, NONE,
                (g, s, n) -> new Tensor[] {g.transpose(d0, d1)});
    }

    /** Elements [start, start + length) along an axis; backward pads the gradient with zeros. */
    public static Variable narrow(Variable x, int axis, int start, int length) {
        int[] in = x.shape();
        return Function.record("narrow", x.data().narrow(axis, start, length), new Variable[] {x}, NONE,
                (g, s, n) -> {
                    Tensor full = Tensor.zeros(g.dtype(), g.device(), in);
                    full.narrow(axis, start, length).copyFrom(g);
                    return new Tensor[] {full};
                });
    }

    /** Broadcast to a larger shape; backward sums over the broadcast dimensions. */
    public static Variable expand(Variable x, int... shape) {
        int[] in = x.shape();
        return Function.record("expand", x.data().expand(shape), new Variable[] {x}, NONE,
                (g, s, n) -> new Tensor[] {Broadcast.sumTo(g, in)});
    }

    public static Variable squeeze(Variable x, int axis) {
        int[] in = x.shape();
        return Function.record("squeeze", x.data().squeeze(axis), new Variable[] {x}, NONE,
                (g, s, n) -> new Tensor[] {g.reshape(in)});
    }

    public static Variable unsqueeze(Variable x, int axis) {
        int[] in = x.shape();
        return Function.record("unsqueeze", x.data().unsqueeze(axis), new Variable[] {x}, NONE,
                (g, s, n) -> new Tensor[] {g.reshape(in)});
    }

    /** Joins along an axis; backward hands each input its slice of the gradient. */
    public static Variable concat(int axis, Variable... xs) {
        Tensor[] data = new Tensor[xs.length];
        for (int i = 0; i < xs.length; i++) data[i] = xs[i].data();
        Tensor y = Tensor.concat(axis, data);
        int a = org.rlhf4j.tensor.Shapes.axis("concat", axis, y.dim());
        int[] sizes = new int[xs.length];
        for (int i = 0; i < xs.length; i++) sizes[i] = xs[i].shape()[a];
        return Function.record("concat", y, xs, NONE, (g, s, needs) -> {
            Tensor[] out = new Tensor[sizes.length];
            int at = 0;
            for (int i = 0; i < sizes.length; i++) {
                if (needs[i]) out[i] = g.narrow(a, at, sizes[i]).contiguous();
                at += sizes[i];
            }
            return out;
        });
    }

    /** Stacks along a new axis. */
    public static Variable stack(int axis, Variable... xs) {
        Variable[] parts = new Variable[xs.length];
        int a = org.rlhf4j.tensor.Shapes.axis("stack", axis, xs[0].shape().length + 1);
        for (int i = 0; i < xs.length; i++) parts[i] = unsqueeze(xs[i], a);
        return concat(a, parts);
    }

    /** Slices {@code index[j]} along an axis; backward adds each slice's gradient back where it came from. */
    public static Variable indexSelect(Variable x, int axis, Tensor index) {
        int[] in = x.shape();
        int a = org.rlhf4j.tensor.Shapes.axis("indexSelect", axis, in.length);
        return Function.record("indexSelect", x.data().indexSelect(a, index), new Variable[] {x}, new Tensor[] {index},
                (g, s, n) -> {
                    int[] view = new int[in.length];
                    Arrays.fill(view, 1);
                    view[a] = s[0].size(0);
                    Tensor fullIndex = s[0].reshape(view).expand(g.shape()).contiguous();
                    return new Tensor[] {Tensor.zeros(g.dtype(), g.device(), in).scatterAddInPlace(a, fullIndex, g)};
                });
    }

    /** PyTorch's gather; backward scatter-adds the gradient to the gathered positions. */
    public static Variable gather(Variable x, int axis, Tensor index) {
        int[] in = x.shape();
        int a = org.rlhf4j.tensor.Shapes.axis("gather", axis, in.length);
        return Function.record("gather", x.data().gather(a, index), new Variable[] {x}, new Tensor[] {index},
                (g, s, n) -> new Tensor[] {Tensor.zeros(g.dtype(), g.device(), in).scatterAddInPlace(a, s[0], g)});
    }

    static boolean isIndex(Tensor t) {
        return t.dtype() == DType.I32;
    }
}
