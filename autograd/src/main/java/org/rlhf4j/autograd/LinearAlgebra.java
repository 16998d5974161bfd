package org.rlhf4j.autograd;

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
        Tensor y = a.data().matmul(b.data());
        return Function.record("matmul", y, new Variable[] {a, b}, new Tensor[] {a.data(), b.data()},
                (g, s, needs) -> new Tensor[] {
                    needs[0] ? Broadcast.sumTo(g.matmul(s[1].transpose(-1, -2)), s[0].shape()) : null,
                    needs[1] ? Broadcast.sumTo(s[0].transpose(-1, -2).matmul(g), s[1].shape()) : null});
    }
}
