package org.rlhf4j.autograd;

import java.util.Arrays;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;

/**
 * Checks an op's backward against central finite differences in F64, with PyTorch gradcheck's defaults
 * (eps 1e-6, atol 1e-5, rtol 1e-3). Public API: run it on your own ops.
 *
 * <p>{@link #check} compares the whole Jacobian: one backward per output element, two forwards per input
 * element. {@link #checkFast} compares a random projection {@code vᵀ J u} (one backward, two forwards per
 * input), for inputs too big for the full Jacobian.
 */
public final class GradCheck {
    public static final double EPS = 1e-6;
    public static final double ATOL = 1e-5;
    public static final double RTOL = 1e-3;

    /** The function under test: F64 variables in, one variable out. */
    @FunctionalInterface
    public interface Fn {
        Variable apply(Variable... inputs);
    }

    /** The outcome: passed, or the first disagreement. */
    public record Report(boolean passed, String message) {
        /** Throws an AssertionError with the message when the check failed. */
        public void assertPassed() {
            if (!passed) throw new AssertionError(message);
        }
    }

    private GradCheck() {}

    private static void requireF64(Tensor[] inputs) {
        for (int i = 0; i < inputs.length; i++) {
            if (inputs[i].dtype() != DType.F64) {
                throw new IllegalArgumentException("GradCheck: input " + i + " is " + inputs[i].dtype()
                        + "; finite differences need F64 inputs");
            }
        }
    }

    private static Tensor forward(Fn f, Tensor[] inputs) {
        Variable[] vs = new Variable[inputs.length];
        for (int i = 0; i < inputs.length; i++) vs[i] = Variable.constant(inputs[i]);
        try (var g = Grad.disabled()) {
            return f.apply(vs).data().copy();
        }
    }

    /** Full-Jacobian check with the default tolerances. Inputs are perturbed in place and restored. */
    public static Report check(Fn f, Tensor... inputs) {
        return check(f, EPS, ATOL, RTOL, inputs);
    }

    /** Full-Jacobian check. */
    public static Report check(Fn f, double eps, double atol, double rtol, Tensor... inputs) {
        requireF64(inputs);
        Variable[] vs = new Variable[inputs.length];
        for (int i = 0; i < inputs.length; i++) vs[i] = Variable.parameter(inputs[i]);
        Variable out = f.apply(vs);
        if (out.dtype() != DType.F64) return new Report(false, "GradCheck: the output is " + out.dtype() + ", expected F64");
        int outN = out.data().numel();
        int[] outShape = out.shape();
        // analytic[i][o] = d out[o] / d input_i, one backward per output element
        double[][][] analytic = new double[inputs.length][outN][];
        for (int o = 0; o < outN; o++) {
            for (Variable v : vs) v.zeroGrad();
            double[] seed = new double[outN];
            seed[o] = 1;
            if (out.requiresGrad()) out.backward(Tensor.of(seed).reshape(outShape), true);
            for (int i = 0; i < inputs.length; i++) {
                Tensor g = vs[i].grad();
                analytic[i][o] = g == null ? new double[inputs[i].numel()] : g.toDoubleArray();
            }
        }
        for (int i = 0; i < inputs.length; i++) {
            Tensor x = inputs[i];
            int[] shape = x.shape();
            int n = x.numel();
            int[] idx = new int[shape.length];
            for (int e = 0; e < n; e++) {
                double orig = x.get(idx);
                x.set(orig + eps, idx);
                double[] plus = forward(f, inputs).toDoubleArray();
                x.set(orig - eps, idx);
                double[] minus = forward(f, inputs).toDoubleArray();
                x.set(orig, idx);
                for (int o = 0; o < outN; o++) {
                    double numeric = (plus[o] - minus[o]) / (2 * eps);
                    double an = analytic[i][o][e];
                    if (!(Math.abs(an - numeric) <= atol + rtol * Math.abs(numeric))) {
                        return new Report(false, String.format(
                                "GradCheck: input %d element %s, output element %d: backward gives %.10g, finite"
                                        + " differences give %.10g", i, Arrays.toString(idx), o, an, numeric));
                    }
                }
                for (int d = shape.length - 1; d >= 0; d--) {
                    if (++idx[d] < shape[d]) break;
                    idx[d] = 0;
                }
            }
        }
        return new Report(true, "ok");
    }

    /** Random-projection check with the default tolerances; {@code seed} picks the projections. */
    public static Report checkFast(Fn f, long seed, Tensor... inputs) {
        requireF64(inputs);
        Generator gen = new Generator(seed);
        Variable[] vs = new Variable[inputs.length];
        for (int i = 0; i < inputs.length; i++) vs[i] = Variable.parameter(inputs[i]);
        Variable out = f.apply(vs);
        Tensor v = Tensor.randn(gen, DType.F64, out.shape());
        out.backward(v, false);
        // analytic: sum_i <u_i, (Jᵀ v)_i>;  numeric: <v, (f(x + eps u) - f(x - eps u)) / 2 eps>
        Tensor[] us = new Tensor[inputs.length];
        double analytic = 0;
        for (int i = 0; i < inputs.length; i++) {
            us[i] = Tensor.randn(gen, DType.F64, inputs[i].shape());
            Tensor g = vs[i].grad();
            if (g != null) analytic += g.mul(us[i]).sum().item();
        }
        Tensor[] saved = new Tensor[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            saved[i] = inputs[i].copy();
            inputs[i].addScaledInPlace(us[i], EPS);
        }
        Tensor plus = forward(f, inputs);
        for (int i = 0; i < inputs.length; i++) inputs[i].copyFrom(saved[i]).addScaledInPlace(us[i], -EPS);
        Tensor minus = forward(f, inputs);
        for (int i = 0; i < inputs.length; i++) inputs[i].copyFrom(saved[i]);
        double numeric = plus.sub(minus).mul(v).sum().item() / (2 * EPS);
        boolean ok = Math.abs(analytic - numeric) <= ATOL + RTOL * Math.abs(numeric);
        return new Report(ok, ok ? "ok" : String.format(
                "GradCheck (fast): vᵀJu from backward is %.10g, from finite differences %.10g", analytic, numeric));
    }
}
