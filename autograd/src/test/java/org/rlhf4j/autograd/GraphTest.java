package org.rlhf4j.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.Tensor;

/** The backward engine: accumulation, ordering, freeing, no-grad scopes and their errors. */
class GraphTest {

    @Test
    void gradientsAccumulateOverPathsAndCalls() {
        // y = x*x + 3x at x = 2: dy/dx = 2x + 3 = 7 (by hand)
        Variable x = Variable.parameter(Tensor.of(new double[] {2.0}));
        Variable y = x.mul(x).add(x.mul(3.0));
        y.sum().backward();
        assertEquals(7.0, x.grad().get(0), 1e-15);
        // a second graph adds to the leaf's gradient
        x.mul(x).sum().backward();
        assertEquals(11.0, x.grad().get(0), 1e-15);
        x.zeroGrad();
        assertNull(x.grad());
    }

    @Test
    void diamondGraphVisitsSharedNodeOnce() {
        // z = exp(x); out = z*z + z  -> d/dx = (2z + 1) z
        Variable x = Variable.parameter(Tensor.of(new double[] {0.3, -0.2}));
        Variable z = x.exp();
        z.mul(z).add(z).sum().backward();
        for (int i = 0; i < 2; i++) {
            double e = Math.exp(x.data().get(i));
            assertEquals((2 * e + 1) * e, x.grad().get(i), 1e-12);
        }
    }

    @Test
    void backwardTwiceOnFreedGraphFailsClearly() {
        Variable x = Variable.parameter(Tensor.of(new double[] {1.0, 2.0}));
        Variable loss = x.exp().sum();
        loss.backward();
        IllegalStateException e = assertThrows(IllegalStateException.class, loss::backward);
        assertTrue(e.getMessage().contains("freed"), e.getMessage());
    }

    @Test
    void retainedGraphRunsBackwardTwice() {
        Variable x = Variable.parameter(Tensor.of(new double[] {1.0}));
        Variable loss = x.exp().sum();
        loss.backward(true);
        loss.backward(true);
        assertEquals(2 * Math.E, x.grad().get(0), 1e-12);
    }

    @Test
    void backwardOnConstantFailsClearly() {
        Variable c = Variable.constant(Tensor.of(new double[] {1.0}));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.exp().sum().backward());
        assertTrue(e.getMessage().contains("does not require a gradient"), e.getMessage());
    }

    @Test
    void nonScalarBackwardNeedsAnExplicitGradient() {
        Variable x = Variable.parameter(Tensor.ones(2, 2));
        assertThrows(IllegalStateException.class, () -> x.exp().backward());
    }

    @Test
    void disabledScopeRecordsNothingAndRestores() {
        Variable x = Variable.parameter(Tensor.ones(2));
        try (var g = Grad.disabled()) {
            assertFalse(Grad.isEnabled());
            Variable y = x.mul(2.0);
            assertFalse(y.requiresGrad());
            assertTrue(y.isLeaf());
            try (var inner = Grad.enabled()) {
                assertTrue(x.mul(2.0).requiresGrad());
            }
            assertFalse(Grad.isEnabled());
        }
        assertTrue(Grad.isEnabled());
        assertTrue(x.mul(2.0).requiresGrad());
    }

    @Test
    void detachCutsTheGraph() {
        Variable x = Variable.parameter(Tensor.of(new double[] {3.0}));
        Variable y = x.mul(x);
        Variable z = y.detach().mul(x); // d/dx = y = 9 (y treated as constant)
        z.sum().backward();
        assertEquals(9.0, x.grad().get(0), 1e-15);
        assertFalse(y.detach().requiresGrad());
    }

    @Test
    void longChainDoesNotOverflowTheStack() {
        Variable x = Variable.parameter(Tensor.of(new double[] {1.0}));
        Variable y = x;
        for (int i = 0; i < 20000; i++) y = y.add(0.0);
        y.sum().backward();
        assertEquals(1.0, x.grad().get(0), 0);
    }
}
