package org.rlhf4j.transformer.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Tensor;

class GradClipTest {

    /** Parameters with random gradients: a matrix, a vector, a scalar, and one larger than a norm chunk. */
    private static List<Variable> withGradients(DType dtype, long seed) {
        Random rnd = new Random(seed);
        int[][] shapes = {{3, 5}, {7}, {}, {300, 250}};
        List<Variable> params = new ArrayList<>();
        for (int[] shape : shapes) {
            Variable p = Variable.parameter(Tensor.zeros(dtype, shape));
            int numel = 1;
            for (int d : shape) numel *= d;
            double[] values = new double[numel];
            for (int i = 0; i < values.length; i++) values[i] = rnd.nextGaussian();
            Tensor g = shape.length == 0 ? Tensor.scalar(values[0], DType.F64) : Tensor.of(values, shape);
            p.setGrad(g.to(dtype));
            params.add(p);
        }
        return params;
    }

    private static double independentNorm(List<Variable> params) {
        double sumSq = 0;
        for (Variable p : params) {
            if (p.grad() == null) continue;
            for (double x : p.grad().toDoubleArray()) sumSq += x * x;
        }
        return Math.sqrt(sumSq);
    }

    private static List<double[]> snapshot(List<Variable> params) {
        List<double[]> out = new ArrayList<>();
        for (Variable p : params) out.add(p.grad() == null ? null : p.grad().toDoubleArray());
        return out;
    }

    @Test
    void returnsTheGlobalNormOfAllGradients() {
        for (DType dtype : new DType[] {DType.F64, DType.F32}) {
            List<Variable> params = withGradients(dtype, 1);
            double expected = independentNorm(params);
            assertEquals(expected, GradClip.globalNorm(params), expected * 1e-12, dtype.toString());
            assertEquals(expected, GradClip.clipGlobalNorm(params, 1e9), expected * 1e-12, dtype.toString());
        }
    }

    @Test
    void f32GradientsAreAccumulatedInDouble() {
        // One big element and many small ones: in a float sum each small square would vanish against 1e8.
        int n = 200_000;
        float[] g = new float[n];
        g[0] = 1e4f;
        for (int i = 1; i < n; i++) g[i] = 1e-2f;
        Variable p = Variable.parameter(Tensor.zeros(DType.F32, n));
        p.setGrad(Tensor.of(g));
        double small = (double) 1e-2f * 1e-2f;
        double expected = Math.sqrt(1e8 + (n - 1) * small);
        assertEquals(expected, GradClip.globalNorm(List.of(p)), expected * 1e-12);
    }

    @Test
    void scalesEveryGradientByMaxNormOverNormWhenAbove() {
        List<Variable> params = withGradients(DType.F64, 2);
        List<double[]> before = snapshot(params);
        double norm = independentNorm(params);
        double maxNorm = norm / 4;
        assertEquals(norm, GradClip.clipGlobalNorm(params, maxNorm), norm * 1e-12);
        double coef = maxNorm / (norm + 1e-6);
        for (int k = 0; k < params.size(); k++) {
            double[] after = params.get(k).grad().toDoubleArray();
            for (int i = 0; i < after.length; i++) assertEquals(before.get(k)[i] * coef, after[i], 1e-14);
        }
        assertEquals(maxNorm, independentNorm(params), 1e-6);
    }

    @Test
    void leavesGradientsUntouchedBelowTheThreshold() {
        List<Variable> params = withGradients(DType.F32, 3);
        List<double[]> before = snapshot(params);
        double norm = independentNorm(params);
        assertEquals(norm, GradClip.clipGlobalNorm(params, 2 * norm), norm * 1e-12);
        for (int k = 0; k < params.size(); k++) assertArrayEquals(before.get(k), params.get(k).grad().toDoubleArray(), 0.0);
    }

    @Test
    void ignoresNullGradientsAndCountsARepeatedVariableOnce() {
        List<Variable> params = withGradients(DType.F64, 4);
        double norm = independentNorm(params);
        List<Variable> withExtras = new ArrayList<>(params);
        withExtras.add(Variable.parameter(Tensor.zeros(DType.F64, 9)));
        withExtras.add(params.get(0));
        assertEquals(norm, GradClip.globalNorm(withExtras), norm * 1e-12);
        assertEquals(0.0, GradClip.globalNorm(List.of(Variable.parameter(Tensor.zeros(DType.F64, 2)))));
    }

    @Test
    void aNaNOrInfiniteNormIsReturnedWithoutScaling() {
        for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY}) {
            List<Variable> params = withGradients(DType.F32, 5);
            params.get(1).grad().set(bad, 3);
            List<double[]> before = snapshot(params);
            double norm = GradClip.clipGlobalNorm(params, 1e-3);
            assertTrue(Double.isNaN(bad) ? Double.isNaN(norm) : norm == Double.POSITIVE_INFINITY, "norm " + norm);
            for (int k = 0; k < params.size(); k++) assertArrayEquals(before.get(k), params.get(k).grad().toDoubleArray(), 0.0);
        }
    }

    @Test
    void theThrowingVariantNamesTheNonFiniteParameters() {
        List<Variable> list = withGradients(DType.F32, 6);
        Map<String, Variable> named = new LinkedHashMap<>();
        named.put("transformer.h.0.attn.c_attn.weight", list.get(0));
        named.put("transformer.h.0.ln_1.bias", list.get(1));
        named.put("transformer.h.0.mlp.c_proj.bias", list.get(3));
        list.get(1).grad().set(Double.NaN, 0);
        List<double[]> before = snapshot(list);
        var e = assertThrows(GradClip.NonFiniteGradientException.class, () -> GradClip.clipGlobalNormOrThrow(named, 1.0));
        assertTrue(Double.isNaN(e.norm()));
        assertTrue(e.getMessage().contains("[transformer.h.0.ln_1.bias]"), e.getMessage());
        for (int k = 0; k < list.size(); k++) assertArrayEquals(before.get(k), list.get(k).grad().toDoubleArray(), 0.0);

        assertThrows(GradClip.NonFiniteGradientException.class, () -> GradClip.clipGlobalNormOrThrow(list, 1.0));
        List<Variable> finite = withGradients(DType.F32, 7);
        double norm = independentNorm(finite);
        assertEquals(norm, GradClip.clipGlobalNormOrThrow(finite, 1.0), norm * 1e-12);
        assertEquals(1.0, independentNorm(finite), 1e-5);
    }

    @Test
    void rejectsANonPositiveMaxNorm() {
        List<Variable> params = withGradients(DType.F64, 8);
        assertThrows(IllegalArgumentException.class, () -> GradClip.clipGlobalNorm(params, 0));
        assertThrows(IllegalArgumentException.class, () -> GradClip.clipGlobalNorm(params, Double.NaN));
    }
}
