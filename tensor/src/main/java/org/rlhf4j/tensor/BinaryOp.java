package org.rlhf4j.tensor;

/**
 * Elementwise functions of two operands. Comparisons give 1 where true and 0 where false, in the operands'
 * dtype. {@link #apply(double, double)} is the reference definition, in F64.
 */
public enum BinaryOp {
    ADD { public double apply(double a, double b) { return a + b; } },
    SUB { public double apply(double a, double b) { return a - b; } },
    MUL { public double apply(double a, double b) { return a * b; } },
    DIV { public double apply(double a, double b) { return a / b; } },
    POW { public double apply(double a, double b) { return Math.pow(a, b); } },
    /** Elementwise maximum; NaN if either is NaN. */
    MAX { public double apply(double a, double b) { return Math.max(a, b); } },
    /** Elementwise minimum; NaN if either is NaN. */
    MIN { public double apply(double a, double b) { return Math.min(a, b); } },
    EQ { public double apply(double a, double b) { return a == b ? 1 : 0; } },
    NE { public double apply(double a, double b) { return a != b ? 1 : 0; } },
    LT { public double apply(double a, double b) { return a < b ? 1 : 0; } },
    LE { public double apply(double a, double b) { return a <= b ? 1 : 0; } },
    GT { public double apply(double a, double b) { return a > b ? 1 : 0; } },
    GE { public double apply(double a, double b) { return a >= b ? 1 : 0; } };

    /** The function, in F64. */
    public abstract double apply(double a, double b);

    /** True for the comparisons, whose result is a 0/1 mask. */
    public boolean isComparison() {
        return ordinal() >= EQ.ordinal();
    }
}
