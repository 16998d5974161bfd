package org.rlhf4j.tensor.cpu;

import org.rlhf4j.tensor.BinaryOp;
import org.rlhf4j.tensor.ReduceOp;
import org.rlhf4j.tensor.TernaryOp;
import org.rlhf4j.tensor.UnaryOp;

/** Plain-Java F32 loops: the twin used when the Vector API is absent or disabled. */
final class ScalarFloatKernels implements FloatKernels {

    static float unaryOne(UnaryOp op, float x) {
        switch (op) {
            case NEG: return -x;
            case ABS: return Math.abs(x);
            case SQUARE: return x * x;
            case RELU: return x > 0 ? x : (x == x ? 0f : x);
            case RECIPROCAL: return 1f / x;
            case SQRT: return (float) Math.sqrt(x);
            default: return (float) op.apply(x);
        }
    }

    static float binaryOne(BinaryOp op, float a, float b) {
        switch (op) {
            case ADD: return a + b;
            case SUB: return a - b;
            case MUL: return a * b;
            case DIV: return a / b;
            case MAX: return Math.max(a, b);
            case MIN: return Math.min(a, b);
            case EQ: return a == b ? 1f : 0f;
            case NE: return a != b ? 1f : 0f;
            case LT: return a < b ? 1f : 0f;
            case LE: return a <= b ? 1f : 0f;
            case GT: return a > b ? 1f : 0f;
            case GE: return a >= b ? 1f : 0f;
            default: return (float) op.apply(a, b);
        }
    }

    static float ternaryOne(TernaryOp op, float a, float b, float c) {
        switch (op) {
            case WHERE: return a != 0 ? b : c;
            case FMA: return a * b + c;
            default: return a + c * (b - a);
        }
    }

    @Override
    public void unary(UnaryOp op, float[] x, int xo, float[] y, int yo, int n) {
        switch (op) {
            case NEG:
                for (int i = 0; i < n; i++) y[yo + i] = -x[xo + i];
                return;
            case SQUARE:
                for (int i = 0; i < n; i++) { float v = x[xo + i]; y[yo + i] = v * v; }
                return;
            case EXP:
                for (int i = 0; i < n; i++) y[yo + i] = (float) Math.exp(x[xo + i]);
                return;
            default:
                for (int i = 0; i < n; i++) y[yo + i] = unaryOne(op, x[xo + i]);
        }
    }

    @Override
    public void binary(BinaryOp op, float[] a, int ao, int aStep, float[] b, int bo, int bStep,
                       float[] y, int yo, int n) {
        if (aStep == 1 && bStep == 1) {
            switch (op) {
                case ADD:
                    for (int i = 0; i < n; i++) y[yo + i] = a[ao + i] + b[bo + i];
                    return;
                case SUB:
                    for (int i = 0; i < n; i++) y[yo + i] = a[ao + i] - b[bo + i];
                    return;
                case MUL:
                    for (int i = 0; i < n; i++) y[yo + i] = a[ao + i] * b[bo + i];
                    return;
                case DIV:
                    for (int i = 0; i < n; i++) y[yo + i] = a[ao + i] / b[bo + i];
                    return;
                default:
                    break;
            }
        }
        for (int i = 0; i < n; i++) y[yo + i] = binaryOne(op, a[ao + i * aStep], b[bo + i * bStep]);
    }

    @Override
    public void binaryScalar(BinaryOp op, float[] a, int ao, float s, float[] y, int yo, int n) {
        switch (op) {
            case ADD:
                for (int i = 0; i < n; i++) y[yo + i] = a[ao + i] + s;
                return;
            case MUL:
                for (int i = 0; i < n; i++) y[yo + i] = a[ao + i] * s;
                return;
            default:
                for (int i = 0; i < n; i++) y[yo + i] = binaryOne(op, a[ao + i], s);
        }
    }

    @Override
    public void ternary(TernaryOp op, float[] a, int ao, int aStep, float[] b, int bo, int bStep,
                        float[] c, int co, int cStep, float[] y, int yo, int n) {
        for (int i = 0; i < n; i++) {
            y[yo + i] = ternaryOne(op, a[ao + i * aStep], b[bo + i * bStep], c[co + i * cStep]);
        }
    }

    @Override
    public void clamp(float[] x, int xo, float[] y, int yo, int n, float lo, float hi) {
        for (int i = 0; i < n; i++) y[yo + i] = Math.min(Math.max(x[xo + i], lo), hi);
    }

    @Override
    public float reduce(ReduceOp op, float[] x, int xo, int n) {
        switch (op) {
            case SUM:
            case MEAN: {
                // Four partial sums: fewer dependent adds, and a little less rounding error than one chain.
                float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                int i = 0;
                for (; i + 4 <= n; i += 4) {
                    s0 += x[xo + i];
                    s1 += x[xo + i + 1];
                    s2 += x[xo + i + 2];
                    s3 += x[xo + i + 3];
                }
                for (; i < n; i++) s0 += x[xo + i];
                return (s0 + s1) + (s2 + s3);
            }
            case MAX: {
                float m = Float.NEGATIVE_INFINITY;
                for (int i = 0; i < n; i++) m = Math.max(m, x[xo + i]);
                return m;
            }
            default: {
                float m = Float.POSITIVE_INFINITY;
                for (int i = 0; i < n; i++) m = Math.min(m, x[xo + i]);
                return m;
            }
        }
    }

    @Override
    public void accumulate(ReduceOp op, float[] x, int xo, float[] acc, int ao, int n) {
        switch (op) {
            case SUM:
            case MEAN:
                for (int i = 0; i < n; i++) acc[ao + i] += x[xo + i];
                return;
            case MAX:
                for (int i = 0; i < n; i++) acc[ao + i] = Math.max(acc[ao + i], x[xo + i]);
                return;
            default:
                for (int i = 0; i < n; i++) acc[ao + i] = Math.min(acc[ao + i], x[xo + i]);
        }
    }
}
