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
