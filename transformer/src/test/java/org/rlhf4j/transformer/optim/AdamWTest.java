package org.rlhf4j.transformer.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Tensor;

class AdamWTest {

    /** The textbook AdamW step in double, written independently of the library (PyTorch's order of operations). */
    private static final class Reference {
        final double[] p, m, v;
        final double lr, b1, b2, eps, wd;
        long t;

        Reference(double[] p, double lr, double b1, double b2, double eps, double wd) {
            this.p = p.clone();
            this.m = new double[p.length];
            this.v = new double[p.length];
            this.lr = lr;
            this.b1 = b1;
            this.b2 = b2;
            this.eps = eps;
            this.wd = wd;
        }

        void step(double[] g) {
            t++;
            double bc1 = 1 - Math.pow(b1, t);
            double bc2 = 1 - Math.pow(b2, t);
            for (int i = 0; i < p.length; i++) {
                p[i] -= lr * wd * p[i];
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                double mHat = m[i] / bc1;
                double vHat = v[i] / bc2;
                p[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
            }
        }
    }

    private static double[] randoms(Random rnd, int n, double scale) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = scale * rnd.nextGaussian();
        return x;
    }

    private static Tensor tensor(double[] values, DType dtype, int... shape) {
        return dtype == DType.F64 ? Tensor.of(values, shape) : Tensor.of(toFloats(values), shape);
    }

    private static float[] toFloats(double[] x) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; i++) f[i] = (float) x[i];
        return f;
    }

    /** Values as the tensor holds them (F32 parameters start from their rounded values). */
    private static double[] rounded(double[] x, DType dtype) {
        return dtype == DType.F64 ? x.clone() : tensor(x, DType.F32).toDoubleArray();
    }

    private static void matchesReference(DType dtype, double weightDecay, double tolerance) {
        Random rnd = new Random(7);
        double[] init = randoms(rnd, 12, 1.0);
        Variable w = Variable.parameter(tensor(init, dtype, 3, 4));
        Map<String, Variable> params = new LinkedHashMap<>();
        params.put("h.0.mlp.c_fc.weight", w);
        var config = new AdamW.Config(1e-2, 0.9, 0.999, 1e-8, weightDecay);
        AdamW opt = new AdamW(params, config);
        Reference ref = new Reference(rounded(init, dtype), 1e-2, 0.9, 0.999, 1e-8, weightDecay);
        for (int step = 1; step <= 6; step++) {
            double[] g = rounded(randoms(rnd, 12, 0.5), dtype);
            w.setGrad(tensor(g, dtype, 3, 4));
            opt.step();
            ref.step(g);
            assertEquals(step, opt.stepCount());
            assertArrayEquals(ref.p, w.data().toDoubleArray(), tolerance, "parameter after step " + step);
            Map<String, Tensor> state = opt.state();
            assertArrayEquals(ref.m, state.get("exp_avg.h.0.mlp.c_fc.weight").toDoubleArray(), tolerance, "m after step " + step);
            assertArrayEquals(ref.v, state.get("exp_avg_sq.h.0.mlp.c_fc.weight").toDoubleArray(), tolerance, "v after step " + step);
        }
    }

    @Test
    void f64UpdatesMatchTheReferenceFormulaWithoutWeightDecay() {
        matchesReference(DType.F64, 0.0, 1e-12);
    }

    @Test
    void f64UpdatesMatchTheReferenceFormulaWithWeightDecay() {
        matchesReference(DType.F64, 0.1, 1e-12);
    }

    @Test
    void f32UpdatesMatchTheReferenceFormulaWithinFloatPrecision() {
        matchesReference(DType.F32, 0.0, 2e-6);
        matchesReference(DType.F32, 0.1, 2e-6);
    }

    @Test
    void defaultsAreTheHuggingFaceTrainerOnes() {
        var d = AdamW.Config.defaults();
        assertEquals(5e-5, d.learningRate());
        assertEquals(0.9, d.beta1());
        assertEquals(0.999, d.beta2());
        assertEquals(1e-8, d.eps());
        assertEquals(0.0, d.weightDecay());
        assertEquals(0.1, d.withWeightDecay(0.1).weightDecay());
        assertEquals(1e-3, d.withLearningRate(1e-3).learningRate());
    }

    private static Map<String, Variable> gptLikeParameters() {
        Map<String, Variable> params = new LinkedHashMap<>();
        params.put("transformer.h.0.attn.c_attn.weight", Variable.parameter(Tensor.full(1.0, DType.F64, 4, 12)));
        params.put("transformer.h.0.attn.c_attn.bias", Variable.parameter(Tensor.full(1.0, DType.F64, 12)));
        params.put("transformer.h.0.ln_1.weight", Variable.parameter(Tensor.full(1.0, DType.F64, 4)));
        params.put("transformer.h.0.ln_1.bias", Variable.parameter(Tensor.full(1.0, DType.F64, 4)));
        for (Variable p : params.values()) p.setGrad(Tensor.zerosLike(p.data()));
        return params;
    }

    @Test
    void biasesAndLayerNormParametersAreNotDecayedButMatricesAre() {
        // With zero gradients the Adam part of the update is exactly 0, so only decay can move a parameter.
        Map<String, Variable> params = gptLikeParameters();
        AdamW opt = new AdamW(params, AdamW.Config.defaults().withLearningRate(0.1).withWeightDecay(0.5));
        assertTrue(opt.decays("transformer.h.0.attn.c_attn.weight"));
        assertFalse(opt.decays("transformer.h.0.attn.c_attn.bias"));
        assertFalse(opt.decays("transformer.h.0.ln_1.weight"));
        assertFalse(opt.decays("transformer.h.0.ln_1.bias"));
        opt.step();
        opt.step();
        double shrunk = (1 - 0.1 * 0.5) * (1 - 0.1 * 0.5);
        for (double x : params.get("transformer.h.0.attn.c_attn.weight").data().toDoubleArray()) assertEquals(shrunk, x, 1e-15);
        for (String name : new String[] {"transformer.h.0.attn.c_attn.bias", "transformer.h.0.ln_1.weight", "transformer.h.0.ln_1.bias"}) {
            for (double x : params.get(name).data().toDoubleArray()) assertEquals(1.0, x, 0.0, name + " must not be decayed");
        }
    }

    @Test
    void aCustomRuleOverridesTheNoDecayDefault() {
        Map<String, Variable> params = gptLikeParameters();
        AdamW opt = new AdamW(params, AdamW.Config.defaults().withLearningRate(0.1).withWeightDecay(0.5),
                (name, p) -> name.endsWith(".bias"));
        opt.step();
        assertEquals(0.95, params.get("transformer.h.0.attn.c_attn.bias").data().get(0), 1e-15);
        assertEquals(0.95, params.get("transformer.h.0.ln_1.bias").data().get(0), 1e-15);
        assertEquals(1.0, params.get("transformer.h.0.ln_1.weight").data().get(0), 0.0);
        assertEquals(1.0, params.get("transformer.h.0.attn.c_attn.weight").data().get(0, 0), 0.0);
    }

    @Test
    void parametersWithoutGradientAreSkippedAndKeepTheirState() {
        Random rnd = new Random(3);
        Variable a = Variable.parameter(Tensor.of(randoms(rnd, 5, 1)));
        Variable b = Variable.parameter(Tensor.of(randoms(rnd, 6, 1), 2, 3));
        Variable frozen = Variable.parameter(Tensor.of(randoms(rnd, 3, 1)));
        Map<String, Variable> params = new LinkedHashMap<>();
        params.put("a", a);
        params.put("b", b);
        params.put("frozen", frozen);
        AdamW opt = new AdamW(params, AdamW.Config.defaults().withLearningRate(1e-2).withWeightDecay(0.1));
        double[] frozenBefore = frozen.data().toDoubleArray();

        a.setGrad(Tensor.of(randoms(rnd, 5, 1)));
        b.setGrad(Tensor.of(randoms(rnd, 6, 1), 2, 3));
        opt.step();
        double[] bAfter1 = b.data().toDoubleArray();
        double[] bM = opt.state().get("exp_avg.b").toDoubleArray();
        double[] bV = opt.state().get("exp_avg_sq.b").toDoubleArray();
        double[] aAfter1 = a.data().toDoubleArray();

        b.zeroGrad();
        a.setGrad(Tensor.of(randoms(rnd, 5, 1)));
        opt.step();
        assertEquals(2, opt.stepCount());
        assertFalse(java.util.Arrays.equals(aAfter1, a.data().toDoubleArray()), "a had a gradient and must move");
        assertArrayEquals(bAfter1, b.data().toDoubleArray(), 0.0);
        assertArrayEquals(bM, opt.state().get("exp_avg.b").toDoubleArray(), 0.0);
        assertArrayEquals(bV, opt.state().get("exp_avg_sq.b").toDoubleArray(), 0.0);
        assertArrayEquals(frozenBefore, frozen.data().toDoubleArray(), 0.0);
        assertFalse(opt.state().containsKey("exp_avg.frozen"), "a never-updated parameter has no state");
        assertFalse(opt.state().containsKey("exp_avg_sq.frozen"));
    }

    @Test
    void zeroGradDropsEveryGradient() {
        Map<String, Variable> params = gptLikeParameters();
        AdamW opt = new AdamW(params, AdamW.Config.defaults());
        opt.zeroGrad();
        for (Variable p : params.values()) assertNull(p.grad());
    }

    @Test
    void setLearningRateChangesTheNextUpdate() {
        // The first Adam step moves each element by lr * g / (|g| + eps'), about lr in size.
        Variable p = Variable.parameter(Tensor.of(new double[] {0.0}));
        AdamW opt = new AdamW(Map.of("p", p), AdamW.Config.defaults());
        opt.setLearningRate(0.25);
        assertEquals(0.25, opt.learningRate());
        p.setGrad(Tensor.of(new double[] {3.0}));
        opt.step();
        assertEquals(-0.25, p.data().get(0), 1e-9);
        assertThrows(IllegalArgumentException.class, () -> opt.setLearningRate(-1));
        assertThrows(IllegalArgumentException.class, () -> opt.setLearningRate(Double.NaN));
    }

    private static Map<String, Variable> copyOf(Map<String, Variable> params) {
        Map<String, Variable> out = new LinkedHashMap<>();
        for (var e : params.entrySet()) out.put(e.getKey(), Variable.parameter(e.getValue().data().copy()));
        return out;
    }

    @Test
    void stateRoundTripGivesIdenticalSubsequentUpdates() {
        Random rnd = new Random(11);
        Map<String, Variable> first = new LinkedHashMap<>();
        first.put("w", Variable.parameter(Tensor.of(toFloats(randoms(rnd, 8, 1)), 2, 4)));
        first.put("b", Variable.parameter(Tensor.of(toFloats(randoms(rnd, 4, 1)), 4)));
        var config = AdamW.Config.defaults().withLearningRate(3e-3).withWeightDecay(0.01);
        AdamW opt1 = new AdamW(first, config);
        for (int i = 0; i < 3; i++) {
            for (Variable p : first.values()) p.setGrad(Tensor.of(toFloats(randoms(rnd, p.data().numel(), 1)), p.shape()));
            opt1.step();
        }
        Map<String, Variable> second = copyOf(first);
        AdamW opt2 = new AdamW(second, config);
        Map<String, Tensor> saved = opt1.state();
        assertEquals(4, saved.size());
        opt2.loadState(saved, opt1.stepCount());
        assertEquals(3, opt2.stepCount());
        assertNotSame(saved.get("exp_avg.w"), opt2.state().get("exp_avg.w"), "loaded state must be copied");

        for (int i = 0; i < 2; i++) {
            for (String name : first.keySet()) {
                Variable p = first.get(name);
                Tensor g = Tensor.of(toFloats(randoms(rnd, p.data().numel(), 1)), p.shape());
                p.setGrad(g);
                second.get(name).setGrad(g.copy());
            }
            opt1.step();
            opt2.step();
        }
        for (String name : first.keySet()) {
            assertArrayEquals(first.get(name).data().toFloatArray(), second.get(name).data().toFloatArray(), 0f, name);
            assertArrayEquals(opt1.state().get("exp_avg." + name).toFloatArray(), opt2.state().get("exp_avg." + name).toFloatArray(), 0f);
            assertArrayEquals(opt1.state().get("exp_avg_sq." + name).toFloatArray(), opt2.state().get("exp_avg_sq." + name).toFloatArray(), 0f);
        }
    }

    @Test
    void stateTensorsAreTheLiveMomentsInParameterOrder() {
        Map<String, Variable> params = gptLikeParameters();
        AdamW opt = new AdamW(params, AdamW.Config.defaults());
        assertTrue(opt.state().isEmpty());
        opt.step();
        Map<String, Tensor> state = opt.state();
        assertEquals(8, state.size());
        assertEquals("exp_avg.transformer.h.0.attn.c_attn.weight", state.keySet().iterator().next());
        assertSame(state.get("exp_avg.transformer.h.0.ln_1.bias"), opt.state().get("exp_avg.transformer.h.0.ln_1.bias"));
    }

    @Test
    void loadStateRejectsUnknownNamesWrongShapesAndUnpairedMomentsWithoutChangingAnything() {
        Map<String, Variable> params = gptLikeParameters();
        AdamW opt = new AdamW(params, AdamW.Config.defaults());
        opt.step();
        Map<String, Tensor> good = opt.state();
        double[] mBefore = good.get("exp_avg.transformer.h.0.ln_1.weight").toDoubleArray();

        Map<String, Tensor> unknown = new LinkedHashMap<>(good);
        unknown.put("exp_avg.lm_head.weight", Tensor.zeros(DType.F64, 4));
        var e1 = assertThrows(IllegalArgumentException.class, () -> opt.loadState(unknown, 5));
        assertTrue(e1.getMessage().contains("exp_avg.lm_head.weight"), e1.getMessage());

        Map<String, Tensor> badShape = new LinkedHashMap<>(good);
        badShape.put("exp_avg_sq.transformer.h.0.attn.c_attn.weight", Tensor.zeros(DType.F64, 12, 4));
        var e2 = assertThrows(IllegalArgumentException.class, () -> opt.loadState(badShape, 5));
        assertTrue(e2.getMessage().contains("[12, 4]") && e2.getMessage().contains("[4, 12]"), e2.getMessage());

        Map<String, Tensor> unpaired = new LinkedHashMap<>(good);
        unpaired.remove("exp_avg_sq.transformer.h.0.ln_1.bias");
        var e3 = assertThrows(IllegalArgumentException.class, () -> opt.loadState(unpaired, 5));
        assertTrue(e3.getMessage().contains("exp_avg_sq.transformer.h.0.ln_1.bias"), e3.getMessage());

        Map<String, Tensor> foreign = Map.of("momentum_buffer.transformer.h.0.ln_1.bias", Tensor.zeros(DType.F64, 4));
        var e4 = assertThrows(IllegalArgumentException.class, () -> opt.loadState(foreign, 5));
        assertTrue(e4.getMessage().contains("momentum_buffer"), e4.getMessage());

        assertThrows(IllegalArgumentException.class, () -> opt.loadState(good, -1));
        assertThrows(IllegalArgumentException.class, () -> opt.loadState(good, 0));

        assertEquals(1, opt.stepCount());
        assertArrayEquals(mBefore, opt.state().get("exp_avg.transformer.h.0.ln_1.weight").toDoubleArray(), 0.0);
    }

    @Test
    void loadStateConvertsDtypeToTheParameters() {
        Variable p = Variable.parameter(Tensor.of(new float[] {1f, 2f}));
        AdamW opt = new AdamW(Map.of("p", p), AdamW.Config.defaults());
        opt.loadState(Map.of("exp_avg.p", Tensor.of(new double[] {0.5, 0.25}), "exp_avg_sq.p", Tensor.of(new double[] {1, 1})), 4);
        assertEquals(DType.F32, opt.state().get("exp_avg.p").dtype());
        assertArrayEquals(new float[] {0.5f, 0.25f}, opt.state().get("exp_avg.p").toFloatArray(), 0f);
    }

    @Test
    void aGradientOfTheWrongDtypeFailsBeforeAnyParameterIsWritten() {
        Variable first = Variable.parameter(Tensor.of(new float[] {1f, 2f}));
        Variable second = Variable.parameter(Tensor.of(new float[] {3f}));
        Map<String, Variable> params = new LinkedHashMap<>();
        params.put("first", first);
        params.put("second", second);
        AdamW opt = new AdamW(params, AdamW.Config.defaults());
        first.setGrad(Tensor.of(new float[] {1f, 1f}));
        second.setGrad(Tensor.of(new double[] {1.0}));
        var e = assertThrows(IllegalArgumentException.class, opt::step);
        assertTrue(e.getMessage().contains("'second'") && e.getMessage().contains("F64"), e.getMessage());
        assertArrayEquals(new float[] {1f, 2f}, first.data().toFloatArray(), 0f);
        assertEquals(0, opt.stepCount());
        assertTrue(opt.state().isEmpty());
    }

    @Test
    void theSameVariableUnderTwoNamesIsRejected() {
        Variable shared = Variable.parameter(Tensor.zeros(DType.F32, 2, 2));
        Map<String, Variable> params = new LinkedHashMap<>();
        params.put("transformer.wte.weight", shared);
        params.put("lm_head.weight", shared);
        var e = assertThrows(IllegalArgumentException.class, () -> new AdamW(params, AdamW.Config.defaults()));
        assertTrue(e.getMessage().contains("transformer.wte.weight") && e.getMessage().contains("lm_head.weight"), e.getMessage());
    }

    @Test
    void invalidHyperParametersAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new AdamW.Config(-1e-3, 0.9, 0.999, 1e-8, 0));
        assertThrows(IllegalArgumentException.class, () -> new AdamW.Config(1e-3, 1.0, 0.999, 1e-8, 0));
        assertThrows(IllegalArgumentException.class, () -> new AdamW.Config(1e-3, 0.9, -0.1, 1e-8, 0));
        assertThrows(IllegalArgumentException.class, () -> new AdamW.Config(1e-3, 0.9, 0.999, Double.NaN, 0));
        assertThrows(IllegalArgumentException.class, () -> new AdamW.Config(1e-3, 0.9, 0.999, 1e-8, -0.1));
    }
}
