package org.rlhf4j.tensor;

/** Elementwise functions of one operand. {@link #apply(double)} is the reference definition, in F64. */
public enum UnaryOp {
    NEG { public double apply(double x) { return -x; } },
    ABS { public double apply(double x) { return Math.abs(x); } },
    EXP { public double apply(double x) { return Math.exp(x); } },
    LOG { public double apply(double x) { return Math.log(x); } },
    SQRT { public double apply(double x) { return Math.sqrt(x); } },
    /** 1 / sqrt(x). */
    RSQRT { public double apply(double x) { return 1.0 / Math.sqrt(x); } },
    TANH { public double apply(double x) { return Math.tanh(x); } },
    /** 1 / (1 + e^-x), evaluated without overflow for either sign. */
    SIGMOID {
        public double apply(double x) {
            if (x >= 0) return 1.0 / (1.0 + Math.exp(-x));
            double e = Math.exp(x);
            return e / (1.0 + e);
        }
    },
    RELU { public double apply(double x) { return x > 0 ? x : (x == x ? 0.0 : x); } },
    /** GPT-2's GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
    GELU {
        public double apply(double x) {
            return 0.5 * x * (1.0 + Math.tanh(GELU_C * (x + 0.044715 * x * x * x)));
        }
    },
    /** log(1 + e^x) = max(x, 0) + log1p(e^-|x|). */
    SOFTPLUS { public double apply(double x) { return Math.max(x, 0.0) + Math.log1p(Math.exp(-Math.abs(x))); } },
    /** log(sigmoid(x)) = -softplus(-x) = min(x, 0) - log1p(e^-|x|). */
    LOG_SIGMOID { public double apply(double x) { return Math.min(x, 0.0) - Math.log1p(Math.exp(-Math.abs(x))); } },
    SQUARE { public double apply(double x) { return x * x; } },
    RECIPROCAL { public double apply(double x) { return 1.0 / x; } },
    /** -1, 0 or 1 (NaN stays NaN). */
    SIGN { public double apply(double x) { return Math.signum(x); } };

    /** sqrt(2 / pi), the GELU tanh-form constant. */
    public static final double GELU_C = 0.7978845608028654;

    /** The function, in F64: the reference every kernel is tested against. */
    public abstract double apply(double x);
}
