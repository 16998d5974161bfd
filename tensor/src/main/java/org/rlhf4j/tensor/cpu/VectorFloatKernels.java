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
 * works on a JVM without {@code jdk.incubator.vector}. Transcendentals come from {@link VectorMath}, never from
 * {@code VectorOperators} (whose approximations differ between interpreted and compiled code), and POW is
 * Math.pow lane by lane, so every result is the same bits whenever the JIT compiles a loop. Unary tails run
 * the vector code on a zero-padded copy; the other tails use the scalar twin, whose float arithmetic is the
 * same.
 */
final class VectorFloatKernels implements FloatKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final float GELU_C = (float) UnaryOp.GELU_C;

    private final ScalarFloatKernels tail = new ScalarFloatKernels();

    @Override
    public void unary(UnaryOp op, float[] x, int xo, float[] y, int yo, int n) {
        switch (op) {
            case SIGN: tail.unary(op, x, xo, y, yo, n); return;
            case EXP: VectorMath.exp(x, xo, y, yo, n, 1f, 0f); return;
            case LOG: VectorMath.log(x, xo, y, yo, n); return;
            case TANH: VectorMath.tanh(x, xo, y, yo, n); return;
            case SIGMOID: VectorMath.sigmoid(x, xo, y, yo, n); return;
            case SOFTPLUS: VectorMath.softplus(x, xo, y, yo, n); return;
            case LOG_SIGMOID: VectorMath.logSigmoid(x, xo, y, yo, n); return;
            case GELU: gelu(x, xo, y, yo, n); return;
            default: {
                // the tail through the same vector code too: RSQRT's scalar twin rounds differently
                int body = S.loopBound(n);
                arithmetic(op, x, xo, y, yo, body);
                if (body < n) {
                    float[] t = VectorMath.padded(x, xo + body, n - body);
                    arithmetic(op, t, 0, t, 0, L);
                    System.arraycopy(t, 0, y, yo + body, n - body);
                }
            }
        }
    }

    private static FloatVector load(float[] a, int o) {
        return FloatVector.fromArray(S, a, o);
    }

    /** The ops built from exact lanewise arithmetic, over n elements, n a multiple of L. */
    private static void arithmetic(UnaryOp op, float[] x, int xo, float[] y, int yo, int n) {
        switch (op) {
            case NEG: for (int i = 0; i < n; i += L) load(x, xo + i).neg().intoArray(y, yo + i); return;
            case ABS: for (int i = 0; i < n; i += L) load(x, xo + i).abs().intoArray(y, yo + i); return;
            case SQRT: for (int i = 0; i < n; i += L) load(x, xo + i).sqrt().intoArray(y, yo + i); return;
            case RSQRT:
                for (int i = 0; i < n; i += L) {
                    FloatVector.broadcast(S, 1f).div(load(x, xo + i).sqrt()).intoArray(y, yo + i);
                }
                return;
            case RELU: for (int i = 0; i < n; i += L) load(x, xo + i).max(0f).intoArray(y, yo + i); return;
            case RECIPROCAL:
                for (int i = 0; i < n; i += L) FloatVector.broadcast(S, 1f).div(load(x, xo + i)).intoArray(y, yo + i);
                return;
            case SQUARE:
                for (int i = 0; i < n; i += L) {
                    FloatVector v = load(x, xo + i);
                    v.mul(v).intoArray(y, yo + i);
                }
                return;
            default: throw new IllegalArgumentException("not an arithmetic unary op: " + op);
        }
    }

    /**
     * GPT-2's GELU, 0.5 x (1 + tanh(u)) with u = c (x + 0.044715 x^3), as x / (1 + e^(-2u)), the same function
     * (0.5 (1 + tanh u) = 1 / (1 + e^(-2u))) with one e^x and a division instead of the e^x, polynomial, division
     * and blends of tanh, and without the cancellation of 1 + tanh u for negative x. A block at a time through
     * one scratch buffer. Where e^(-2u) overflows (x below about -9.3) the result is -0; +inf gives +inf, -inf
     * and NaN give NaN, as before.
     */
    private static void gelu(float[] x, int xo, float[] y, int yo, int n) {
        int body = S.loopBound(n);
        float[] t = new float[Math.min(Math.max(body, L), VectorMath.BLOCK)];
        geluBlocks(x, xo, y, yo, body, t);
        if (body < n) {
            float[] p = VectorMath.padded(x, xo + body, n - body);
            geluBlocks(p, 0, p, 0, L, t);
            System.arraycopy(p, 0, y, yo + body, n - body);
        }
    }

    private static void geluBlocks(float[] x, int xo, float[] y, int yo, int n, float[] t) {
        for (int b = 0; b < n; b += VectorMath.BLOCK) {
            int len = Math.min(VectorMath.BLOCK, n - b);
            geluInner(x, xo + b, t, len);
            VectorMath.expLoop(t, 0, t, 0, len, -2f * GELU_C, 0f);
            geluOuter(x, xo + b, t, y, yo + b, len);
        }
    }

    /** t = x + 0.044715 x^3, u / c. */
    private static void geluInner(float[] x, int xo, float[] t, int n) {
        for (int i = 0; i < n; i += L) {
            FloatVector v = load(x, xo + i);
            v.mul(v).mul(0.044715f).mul(v).add(v).intoArray(t, i);
        }
    }

    /** y = x / (1 + e), e = e^(-2u). */
    private static void geluOuter(float[] x, int xo, float[] e, float[] y, int yo, int n) {
        for (int i = 0; i < n; i += L) load(x, xo + i).div(load(e, i).add(1f)).intoArray(y, yo + i);
    }

    private static FloatVector binaryVec(BinaryOp op, FloatVector a, FloatVector b) {
        switch (op) {
            case ADD: return a.add(b);
            case SUB: return a.sub(b);
            case MUL: return a.mul(b);
            case DIV: return a.div(b);
            case MAX: return a.max(b);
            case MIN: return a.min(b);
            case POW: throw new IllegalArgumentException("POW runs lane by lane, in binary()");
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
        if (op == BinaryOp.POW) {
            // Math.pow lane by lane: VectorOperators.POW differs between the JIT's intrinsic and its Java
            // fallback, and compiled it follows C99 (pow(1, NaN) = 1) rather than Math.pow.
            tail.binary(op, a, ao, aStep, b, bo, bStep, y, yo, n);
            return;
        }
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
            float s = VectorMath.sumLanes(s0.add(s1).add(s2.add(s3)));
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
