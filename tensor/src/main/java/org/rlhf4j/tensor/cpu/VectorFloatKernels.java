package org.rlhf4j.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.rlhf4j.tensor.BinaryOp;
import org.rlhf4j.tensor.ReduceOp;
import org.rlhf4j.tensor.TernaryOp;
import org.rlhf4j.tensor.UnaryOp;

/**
 * Vector API F32 loops. Loaded reflectively, only when {@link Simd#ENABLED}, so that the rest of the backend
 * works on a JVM without {@code jdk.incubator.vector}. Tails shorter than a vector use the scalar twin.
 */
final class VectorFloatKernels implements FloatKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final float GELU_C = (float) UnaryOp.GELU_C;

    private final ScalarFloatKernels tail = new ScalarFloatKernels();

    private static FloatVector unaryVec(UnaryOp op, FloatVector v) {
        switch (op) {
            case NEG: return v.neg();
            case ABS: return v.abs();
            case EXP: return v.lanewise(VectorOperators.EXP);
            case LOG: return v.lanewise(VectorOperators.LOG);
            case SQRT: return v.sqrt();
            case RSQRT: return v.broadcast(1f).div(v.sqrt());
            case TANH: return v.lanewise(VectorOperators.TANH);
            case SIGMOID: {
                // 1 / (1 + e^-x): e^-x overflows to +inf for very negative x, giving exactly 0, never NaN.
                FloatVector e = v.neg().lanewise(VectorOperators.EXP);
                return v.broadcast(1f).div(e.add(1f));
            }
            case RELU: return v.max(0f);
            case GELU: {
                FloatVector inner = v.mul(v).mul(v).mul(0.044715f).add(v).mul(GELU_C);
                // halve before multiplying by x: (1 + tanh) * x overflows for |x| near the F32 maximum
                return inner.lanewise(VectorOperators.TANH).add(1f).mul(0.5f).mul(v);
            }
            case SOFTPLUS: {
                FloatVector t = v.abs().neg().lanewise(VectorOperators.EXP).lanewise(VectorOperators.LOG1P);
                return v.max(0f).add(t);
            }
            case LOG_SIGMOID: {
                FloatVector t = v.abs().neg().lanewise(VectorOperators.EXP).lanewise(VectorOperators.LOG1P);
                return v.min(0f).sub(t);
            }
            case SQUARE: return v.mul(v);
            case RECIPROCAL: return v.broadcast(1f).div(v);
            default: return null;
        }
    }

    @Override
    public void unary(UnaryOp op, float[] x, int xo, float[] y, int yo, int n) {
        if (op == UnaryOp.SIGN) {
            tail.unary(op, x, xo, y, yo, n);
            return;
        }
        int i = 0;
        int bound = S.loopBound(n);
        if (op == UnaryOp.RSQRT) {
            FloatVector one = FloatVector.broadcast(S, 1f);
            for (; i < bound; i += L) one.div(FloatVector.fromArray(S, x, xo + i).sqrt()).intoArray(y, yo + i);
        } else if (op == UnaryOp.SIGMOID) {
            FloatVector one = FloatVector.broadcast(S, 1f);
            for (; i < bound; i += L) {
                FloatVector e = FloatVector.fromArray(S, x, xo + i).neg().lanewise(VectorOperators.EXP);
                one.div(e.add(1f)).intoArray(y, yo + i);
            }
        } else {
            for (; i < bound; i += L) unaryVec(op, FloatVector.fromArray(S, x, xo + i)).intoArray(y, yo + i);
        }
        if (i < n) tail.unary(op, x, xo + i, y, yo + i, n - i);
    }

    private static FloatVector binaryVec(BinaryOp op, FloatVector a, FloatVector b) {
        switch (op) {
            case ADD: return a.add(b);
            case SUB: return a.sub(b);
            case MUL: return a.mul(b);
            case DIV: return a.div(b);
            case MAX: return a.max(b);
            case MIN: return a.min(b);
            case POW: {
                // Math.pow's special cases, which the JIT's vector pow (C99 pow) does not follow once compiled:
                // pow(x, NaN) and pow(+-1, +-inf) are NaN, not 1
                VectorMask<Float> nan = b.test(VectorOperators.IS_NAN)
                        .or(b.test(VectorOperators.IS_INFINITE).and(a.abs().compare(VectorOperators.EQ, 1f)));
                return a.lanewise(VectorOperators.POW, b).blend(Float.NaN, nan);
            }
            default: {
                VectorMask<Float> m;
                switch (op) {
                    case EQ: m = a.compare(VectorOperators.EQ, b); break;
                    case NE: m = a.compare(VectorOperators.NE, b); break;
                    case LT: m = a.compare(VectorOperators.LT, b); break;
                    case LE: m = a.compare(VectorOperators.LE, b); break;
                    case GT: m = a.compare(VectorOperators.GT, b); break;
                    default: m = a.compare(VectorOperators.GE, b); break;
                }
                return FloatVector.zero(S).blend(1f, m);
            }
        }
    }

    @Override
    public void binary(BinaryOp op, float[] a, int ao, int aStep, float[] b, int bo, int bStep,
                       float[] y, int yo, int n) {
        int i = 0;
        int bound = S.loopBound(n);
        if (aStep == 1 && bStep == 1) {
            switch (op) {
                case ADD:
                    for (; i < bound; i += L) {
                        FloatVector.fromArray(S, a, ao + i).add(FloatVector.fromArray(S, b, bo + i)).intoArray(y, yo + i);
                    }
                    break;
                case MUL:
                    for (; i < bound; i += L) {
                        FloatVector.fromArray(S, a, ao + i).mul(FloatVector.fromArray(S, b, bo + i)).intoArray(y, yo + i);
                    }
                    break;
                default:
                    for (; i < bound; i += L) {
                        binaryVec(op, FloatVector.fromArray(S, a, ao + i), FloatVector.fromArray(S, b, bo + i))
                                .intoArray(y, yo + i);
                    }
            }
        } else if (aStep == 1) {
            FloatVector bv = FloatVector.broadcast(S, b[bo]);
            for (; i < bound; i += L) binaryVec(op, FloatVector.fromArray(S, a, ao + i), bv).intoArray(y, yo + i);
        } else if (bStep == 1) {
            FloatVector av = FloatVector.broadcast(S, a[ao]);
            for (; i < bound; i += L) binaryVec(op, av, FloatVector.fromArray(S, b, bo + i)).intoArray(y, yo + i);
        } else {
            bound = 0;
        }
        if (i < n) tail.binary(op, a, ao + i * aStep, aStep, b, bo + i * bStep, bStep, y, yo + i, n - i);
    }

    @Override
    public void binaryScalar(BinaryOp op, float[] a, int ao, float s, float[] y, int yo, int n) {
        binary(op, a, ao, 1, new float[] {s}, 0, 0, y, yo, n);
    }

    @Override
    public void ternary(TernaryOp op, float[] a, int ao, int aStep, float[] b, int bo, int bStep,
                        float[] c, int co, int cStep, float[] y, int yo, int n) {
        int i = 0;
        if (aStep == 1 && bStep == 1 && cStep == 1) {
            int bound = S.loopBound(n);
            for (; i < bound; i += L) {
                FloatVector va = FloatVector.fromArray(S, a, ao + i);
                FloatVector vb = FloatVector.fromArray(S, b, bo + i);
                FloatVector vc = FloatVector.fromArray(S, c, co + i);
                FloatVector r;
                switch (op) {
                    case WHERE: r = vc.blend(vb, va.compare(VectorOperators.NE, 0f)); break;
                    case FMA: r = va.mul(vb).add(vc); break;
                    default: r = vb.sub(va).mul(vc).add(va); break;
                }
                r.intoArray(y, yo + i);
            }
        }
        if (i < n) {
            tail.ternary(op, a, ao + i * aStep, aStep, b, bo + i * bStep, bStep, c, co + i * cStep, cStep,
                    y, yo + i, n - i);
        }
    }

    @Override
    public void clamp(float[] x, int xo, float[] y, int yo, int n, float lo, float hi) {
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += L) FloatVector.fromArray(S, x, xo + i).max(lo).min(hi).intoArray(y, yo + i);
        if (i < n) tail.clamp(x, xo + i, y, yo + i, n - i, lo, hi);
    }

    @Override
    public float reduce(ReduceOp op, float[] x, int xo, int n) {
        int i = 0;
        int bound4 = n - n % (4 * L);
        if (op == ReduceOp.SUM || op == ReduceOp.MEAN) {
            FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
            for (; i < bound4; i += 4 * L) {
                s0 = s0.add(FloatVector.fromArray(S, x, xo + i));
                s1 = s1.add(FloatVector.fromArray(S, x, xo + i + L));
                s2 = s2.add(FloatVector.fromArray(S, x, xo + i + 2 * L));
                s3 = s3.add(FloatVector.fromArray(S, x, xo + i + 3 * L));
            }
            int bound = S.loopBound(n);
            for (; i < bound; i += L) s0 = s0.add(FloatVector.fromArray(S, x, xo + i));
            float s = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
            for (; i < n; i++) s += x[xo + i];
            return s;
        }
        boolean max = op == ReduceOp.MAX;
        float init = max ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY;
        FloatVector m0 = FloatVector.broadcast(S, init), m1 = m0;
        int bound2 = n - n % (2 * L);
        for (; i < bound2; i += 2 * L) {
            FloatVector v0 = FloatVector.fromArray(S, x, xo + i);
            FloatVector v1 = FloatVector.fromArray(S, x, xo + i + L);
            m0 = max ? m0.max(v0) : m0.min(v0);
            m1 = max ? m1.max(v1) : m1.min(v1);
        }
        FloatVector m = max ? m0.max(m1) : m0.min(m1);
        float r = m.reduceLanes(max ? VectorOperators.MAX : VectorOperators.MIN);
        for (; i < n; i++) r = max ? Math.max(r, x[xo + i]) : Math.min(r, x[xo + i]);
        return r;
    }

    @Override
    public void accumulate(ReduceOp op, float[] x, int xo, float[] acc, int ao, int n) {
        int i = 0;
        int bound = S.loopBound(n);
        for (; i < bound; i += L) {
            FloatVector a = FloatVector.fromArray(S, acc, ao + i);
            FloatVector v = FloatVector.fromArray(S, x, xo + i);
            FloatVector r = op == ReduceOp.MAX ? a.max(v) : op == ReduceOp.MIN ? a.min(v) : a.add(v);
            r.intoArray(acc, ao + i);
        }
        if (i < n) tail.accumulate(op, x, xo + i, acc, ao + i, n - i);
    }
}
