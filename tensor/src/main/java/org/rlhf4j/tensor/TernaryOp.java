package org.rlhf4j.tensor;

/** Elementwise functions of three operands. */
public enum TernaryOp {
    /** {@code a != 0 ? b : c}. */
    WHERE { public double apply(double a, double b, double c) { return a != 0 ? b : c; } },
    /** {@code a * b + c}. */
    FMA { public double apply(double a, double b, double c) { return a * b + c; } },
    /** {@code a + c * (b - a)}: linear interpolation from a to b by weight c. */
    LERP { public double apply(double a, double b, double c) { return a + c * (b - a); } };

    /** The function, in F64. */
    public abstract double apply(double a, double b, double c);
}
