package org.rlhf4j.autograd;

import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Tensor;

/** Differentiable matrix products. */
public final class LinearAlgebra {
    private LinearAlgebra() {}

    /**
     * {@code [..., M, K] x [..., K, N] -> [..., M, N]} with broadcast batch dimensions:
     * dA = dC · Bᵀ, dB = Aᵀ · dC, summed over any batch dimensions an operand was broadcast along.
     * The transposes are views; the GEMM reads them without copying.
     */
    public static Variable matmul(Variable a, Variable b) {
        if (Autocast.lowers(a.data()) && Autocast.lowers(b.data())) return matmulBf16(a, b);
        Tensor y = a.data().matmul(b.data());
        return Function.record("matmul", y, new Variable[] {a, b}, new Tensor[] {a.data(), b.data()},
                (g, s, needs) -> new Tensor[] {
                    needs[0] ? Broadcast.sumTo(g.matmul(s[1].transpose(-1, -2)), s[0].shape()) : null,
                    needs[1] ? Broadcast.sumTo(s[0].transpose(-1, -2).matmul(g), s[1].shape()) : null});
    }

    /**
     * An affine map, {@code x [N, in] · w [in, out] + bias [out] -> [N, out]} (bias may be null), in one graph node:
     * the output starts as bias in every row and the product is added onto it by the GEMM ({@code beta = 1}), so
     * there is no separate sum and no second {@code [N, out]} tensor. dx = dy · wᵀ, dw = xᵀ · dy, dbias = the
     * column sums of dy. Under {@link Autocast} the product runs on BF16 copies as in {@link #matmul}.
     */
    public static Variable linear(Variable x, Variable w, Variable bias) {
        int[] xs = x.shape(), ws = w.shape();
        if (xs.length != 2 || ws.length != 2 || xs[1] != ws[0]
                || (bias != null && (bias.shape().length != 1 || bias.shape()[0] != ws[1]))) {
            throw new IllegalArgumentException("linear: expected x [N, in], w [in, out] and bias [out] or none, found "
                    + java.util.Arrays.toString(xs) + ", " + java.util.Arrays.toString(ws)
                    + (bias == null ? " and no bias" : " and " + java.util.Arrays.toString(bias.shape())));
        }
        if (bias == null) return matmul(x, w);
        boolean lower = Autocast.lowers(x.data()) && Autocast.lowers(w.data());
        Tensor a = lower ? x.data().to(DType.BF16) : x.data(), b = lower ? w.data().to(DType.BF16) : w.data();
        Tensor y = Tensor.empty(x.dtype(), x.data().device(), xs[0], ws[1]);
        y.copyFrom(bias.data());
        Tensor.gemm(y, a, b, 1.0, 1.0);
        return Function.record("linear", y, new Variable[] {x, w, bias}, new Tensor[] {a, b},
                (g, s, needs) -> {
                    Tensor gw = lower ? g.to(DType.BF16) : g;
                    return new Tensor[] {
                        needs[0] ? gw.matmul(s[1].transpose(0, 1), g.dtype()) : null,
                        needs[1] ? s[0].transpose(0, 1).matmul(gw, g.dtype()) : null,
                        needs[2] ? g.sum(0, false) : null};
                });
    }

    /**
     * The mixed-precision product (see {@link Precision#BF16}): C = A16 · B16 in F32, saving the BF16 copies;
     * backward with the incoming gradient rounded to BF16 too, dA = dC16 · B16ᵀ and dB = A16ᵀ · dC16, each
     * accumulated and returned in F32.
     */
    private static Variable matmulBf16(Variable a, Variable b) {
        Tensor a16 = a.data().to(DType.BF16), b16 = b.data().to(DType.BF16);
        Tensor y = a16.matmul(b16, DType.F32);
        return Function.record("matmul", y, new Variable[] {a, b}, new Tensor[] {a16, b16},
                (g, s, needs) -> {
                    Tensor g16 = g.to(DType.BF16);
                    return new Tensor[] {
                        needs[0] ? Broadcast.sumTo(g16.matmul(s[1].transpose(-1, -2), DType.F32), s[0].shape()) : null,
                        needs[1] ? Broadcast.sumTo(s[0].transpose(-1, -2).matmul(g16, DType.F32), s[1].shape()) : null};
                });
    }
}
