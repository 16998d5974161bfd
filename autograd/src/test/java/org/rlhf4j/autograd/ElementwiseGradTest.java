package org.rlhf4j.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;

/** Every elementwise op's backward against central finite differences (GradCheck, F64). */
class ElementwiseGradTest {
    private final Generator gen = new Generator(42);

    private Tensor randn(int... shape) {
        return Tensor.randn(gen, DType.F64, shape);
    }

    /** Values in [lo, hi): keeps log, sqrt, pow away from their singularities. */
    private Tensor uniform(double lo, double hi, int... shape) {
        return Tensor.empty(DType.F64, shape).fillUniform(gen, lo, hi);
    }

    /** A non-contiguous [2, 3] input: the transpose of a [3, 2] tensor. */
    private Tensor transposed() {
        return randn(3, 2).t();
    }

    @Test
    void binaryOpsWithBroadcastingAndViews() {
        GradCheck.check(v -> v[0].add(v[1]), randn(2, 3), randn(3)).assertPassed();
        GradCheck.check(v -> v[0].sub(v[1]), randn(2, 1), randn(1, 3)).assertPassed();
        GradCheck.check(v -> v[0].mul(v[1]), transposed(), randn(2, 3)).assertPassed();
        GradCheck.check(v -> v[0].mul(v[1]), randn(4, 1, 3), randn(2, 3)).assertPassed();
        GradCheck.check(v -> v[0].div(v[1]), randn(2, 3), uniform(0.5, 2, 3)).assertPassed();
        GradCheck.check(v -> Elementwise.pow(v[0], v[1]), uniform(0.5, 2, 2, 3), randn(2, 3)).assertPassed();
        GradCheck.check(v -> Elementwise.maximum(v[0], v[1]), randn(2, 3), randn(3)).assertPassed();
        GradCheck.check(v -> Elementwise.minimum(v[0], v[1]), randn(2, 3), transposed()).assertPassed();
    }

    @Test
    void maximumSplitsTiesEvenly() {
        Variable a = Variable.parameter(Tensor.of(new double[] {1, 2}));
        Variable b = Variable.parameter(Tensor.of(new double[] {1, 3}));
        Elementwise.maximum(a, b).sum().backward();
        // tie at element 0: half each; element 1: all to b
        assertEquals(0.5, a.grad().get(0), 0);
        assertEquals(0.0, a.grad().get(1), 0);
        assertEquals(0.5, b.grad().get(0), 0);
        assertEquals(1.0, b.grad().get(1), 0);
    }

    @Test
    void scalarForms() {
        GradCheck.check(v -> v[0].add(3.0), randn(2, 3)).assertPassed();
        GradCheck.check(v -> v[0].mul(-2.5), transposed()).assertPassed();
        GradCheck.check(v -> v[0].pow(3.0), randn(2, 3)).assertPassed();
        GradCheck.check(v -> v[0].pow(-1.5), uniform(0.5, 2, 2, 3)).assertPassed();
    }

    @Test
    void unaryOps() {
        GradCheck.check(v -> v[0].neg(), randn(2, 3)).assertPassed();
        GradCheck.check(v -> v[0].exp(), transposed()).assertPassed();
        GradCheck.check(v -> v[0].log(), uniform(0.2, 3, 2, 3)).assertPassed();
        GradCheck.check(v -> v[0].sqrt(), uniform(0.2, 3, 2, 3)).assertPassed();
        GradCheck.check(v -> v[0].tanh(), randn(2, 3)).assertPassed();
        GradCheck.check(v -> v[0].sigmoid(), randn(2, 3)).assertPassed();
        GradCheck.check(v -> v[0].gelu(), randn(3, 4)).assertPassed();
        GradCheck.check(v -> Elementwise.softplus(v[0]), randn(2, 3).mul(4)).assertPassed();
        GradCheck.check(v -> Elementwise.logSigmoid(v[0]), randn(2, 3).mul(4)).assertPassed();
        GradCheck.check(v -> Elementwise.square(v[0]), transposed()).assertPassed();
        GradCheck.check(v -> Elementwise.reciprocal(v[0]), uniform(0.5, 2, 2, 3)).assertPassed();
        GradCheck.check(v -> Elementwise.rsqrt(v[0]), uniform(0.5, 2, 2, 3)).assertPassed();
    }

    @Test
    void ternaryOpsWithBroadcasting() {
        GradCheck.check(v -> Elementwise.fma(v[0], v[1], v[2]), randn(2, 3), randn(3), transposed()).assertPassed();
        GradCheck.check(v -> Elementwise.lerp(v[0], v[1], v[2]), randn(2, 1), randn(1, 3), randn(2, 3)).assertPassed();
    }

    @Test
    void kinkedOpsAwayFromTheirKinks() {
        // |x| > 0.1 so that the finite difference never straddles the kink at 0 (or at the clamp bounds)
        Tensor x = Tensor.of(new double[] {-1.3, -0.4, -0.15, 0.2, 0.7, 1.9}, 2, 3);
        GradCheck.check(v -> v[0].relu(), x.copy()).assertPassed();
        GradCheck.check(v -> Elementwise.abs(v[0]), x.copy()).assertPassed();
        GradCheck.check(v -> Elementwise.clamp(v[0], -0.5, 0.5), x.copy()).assertPassed();
    }

    @Test
    void whereRoutesGradientsByCondition() {
        Tensor cond = Tensor.of(new double[] {1, 0, 1}, 3);
        GradCheck.check(v -> Elementwise.where(cond, v[0], v[1]), randn(2, 3), randn(3)).assertPassed();
    }

    @Test
    void dropoutMatchesItsMaskAndIsIdentityInEval() {
        Tensor x = randn(50, 40);
        Variable in = Variable.parameter(x);
        Variable y = Elementwise.dropout(in, 0.25, true, new Generator(7));
        y.sum().backward();
        double[] out = y.data().toDoubleArray(), xs = x.toDoubleArray(), g = in.grad().toDoubleArray();
        int dropped = 0;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == 0) {
                dropped++;
                assertEquals(0.0, g[i], 0);
            } else {
                assertEquals(xs[i] / 0.75, out[i], 1e-12);
                assertEquals(1 / 0.75, g[i], 1e-12);
            }
        }
        // 2000 Bernoulli(0.25) draws: mean 500, sd ~19.4
        assertTrue(Math.abs(dropped - 500) < 5 * 19.4, "dropped " + dropped);
        // same generator seed, same mask
        Variable again = Elementwise.dropout(Variable.constant(x), 0.25, true, new Generator(7));
        assertTrue(again.data().allClose(y.data(), 0, 0));
        assertTrue(Elementwise.dropout(in, 0.25, false, new Generator(7)) == in);
        GradCheck.check(v -> Elementwise.dropout(v[0], 0.5, true, new Generator(3)), randn(3, 4)).assertPassed();
    }

    @Test
    void gradCheckCatchesAWrongBackward() {
        // A deliberately wrong rule (d exp = 2 exp) must be reported, or GradCheck proves nothing.
        GradCheck.Fn wrong = v -> Function.record("badExp", v[0].data().exp(), new Variable[] {v[0]},
                new Tensor[] {v[0].data().exp()}, (g, s, n) -> new Tensor[] {g.mul(s[0]).mul(2)});
        GradCheck.Report r = GradCheck.check(wrong, randn(2, 2));
        assertTrue(!r.passed(), "a wrong gradient passed");
        assertTrue(r.message().contains("finite differences"), r.message());
        assertTrue(!GradCheck.checkFast(wrong, 1, randn(8, 8)).passed());
        assertThrows(IllegalArgumentException.class, () -> GradCheck.check(v -> v[0].exp(), Tensor.zeros(2)));
    }
}
