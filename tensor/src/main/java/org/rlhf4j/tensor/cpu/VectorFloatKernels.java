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
 * the vector loop on a padded copy; the other tails use the scalar twin, whose float arithmetic is the same.
 */
final class VectorFloatKernels implements FloatKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final float GELU_C = (float) UnaryOp.GELU_C;
    /** Elements per block of softplus's two passes (a multiple of any vector length). */
    private static final int SOFTPLUS_BLOCK = 1024;

    private final ScalarFloatKernels tail = new ScalarFloatKernels();

    // Each transcendental op has its own loop method, with one call of its VectorMath function, so that C2
    // inlines that function into the loop: a vector that crosses a call that was not inlined is boxed, which
    // costs more than the math. (One loop around a switch over every op would exceed C2's inlining budget.) The
    // tail of a run goes through the same loop, on a vector-length copy padded with zeros, so an element's bits
    // never depend on where a run starts or ends, and runs are split by thread count.

    @Override
    public void unary(UnaryOp op, float[] x, int xo, float[] y, int yo, int n) {
        if (op == UnaryOp.SIGN) {
            tail.unary(op, x, xo, y, yo, n);
            return;
        }
        int body = S.loopBound(n);
        unaryRun(op, x, xo, y, yo, body);
        if (body < n) {
            float[] t = padded(x, xo + body, n - body);
            unaryRun(op, t, 0, t, 0, L);
            System.arraycopy(t, 0, y, yo + body, n - body);
        }
    }

    /** A vector-length copy of a[off, off + len), len < L, padded with zeros. */
    private static float[] padded(float[] a, int off, int len) {
        float[] t = new float[L];
        System.arraycopy(a, off, t, 0, len);
        return t;
    }

    private static FloatVector load(float[] a, int o) {
        return FloatVector.fromArray(S, a, o);
    }

    /** y = op(x) over n elements, n a multiple of L. */
    private static void unaryRun(UnaryOp op, float[] x, int xo, float[] y, int yo, int n) {
        switch (op) {
            case EXP: expRun(x, xo, y, yo, n); return;
            case LOG: logRun(x, xo, y, yo, n); return;
            case TANH: tanhRun(x, xo, y, yo, n); return;
            case SIGMOID: sigmoidRun(x, xo, y, yo, n); return;
            case GELU: geluRun(x, xo, y, yo, n); return;
            case SOFTPLUS: softplusRun(x, xo, y, yo, n, true); return;
            case LOG_SIGMOID: softplusRun(x, xo, y, yo, n, false); return;
            default: arithmeticRun(op, x, xo, y, yo, n);
        }
    }

    private static void expRun(float[] x, int xo, float[] y, int yo, int n) {
        for (int i = 0; i < n; i += L) VectorMath.exp(load(x, xo + i)).intoArray(y, yo + i);
    }

    private static void logRun(float[] x, int xo, float[] y, int yo, int n) {
        for (int i = 0; i < n; i += L) VectorMath.log(load(x, xo + i)).intoArray(y, yo + i);
    }

    private static void tanhRun(float[] x, int xo, float[] y, int yo, int n) {
        for (int i = 0; i < n; i += L) VectorMath.tanh(load(x, xo + i)).intoArray(y, yo + i);
    }

    private static void sigmoidRun(float[] x, int xo, float[] y, int yo, int n) {
        for (int i = 0; i < n; i += L) VectorMath.sigmoid(load(x, xo + i)).intoArray(y, yo + i);
    }

    private static void geluRun(float[] x, int xo, float[] y, int yo, int n) {
        for (int i = 0; i < n; i += L) {
            FloatVector v = load(x, xo + i);
            FloatVector inner = v.mul(v).mul(v).mul(0.044715f).add(v).mul(GELU_C);
            // halve before multiplying by x: (1 + tanh) * x overflows for |x| near the F32 maximum
            VectorMath.tanh(inner).add(1f).mul(0.5f).mul(v).intoArray(y, yo + i);
        }
    }

    /**
     * softplus(x) = max(x, 0) + log1p(e^-|x|); logSigmoid(x) = -softplus(-x) = min(x, 0) - log1p(e^-|x|). e^x and
     * log1p run in separate loops, a block at a time: together they are more than C2 inlines into one method.
     */
    private static void softplusRun(float[] x, int xo, float[] y, int yo, int n, boolean plus) {
        float[] e = new float[Math.min(n, SOFTPLUS_BLOCK)];
        for (int b = 0; b < n; b += SOFTPLUS_BLOCK) {
            int len = Math.min(SOFTPLUS_BLOCK, n - b);
            expNegAbsRun(x, xo + b, e, len);
            softplusFinishRun(x, xo + b, e, y, yo + b, len, plus);
        }
    }

    /** e = e^-|x|. */
    private static void expNegAbsRun(float[] x, int xo, float[] e, int n) {
        for (int i = 0; i < n; i += L) VectorMath.exp(load(x, xo + i).abs().neg()).intoArray(e, i);
    }

    /** y = max(x, 0) + log1p(e), or min(x, 0) - log1p(e). */
    private static void softplusFinishRun(float[] x, int xo, float[] e, float[] y, int yo, int n, boolean plus) {
        for (int i = 0; i < n; i += L) {
            FloatVector v = load(x, xo + i);
            FloatVector t = VectorMath.log1p(load(e, i));
            (plus ? v.max(0f).add(t) : v.min(0f).sub(t)).intoArray(y, yo + i);
        }
    }

    /** The ops built from exact lanewise arithmetic (SIGN and the transcendentals have their own loops). */
    private static FloatVector arithmeticVec(UnaryOp op, FloatVector v) {
        switch (op) {
            case NEG: return v.neg();
            case ABS: return v.abs();
            case SQRT: return v.sqrt();
            case RSQRT: return v.broadcast(1f).div(v.sqrt());
            case RELU: return v.max(0f);
            case SQUARE: return v.mul(v);
            case RECIPROCAL: return v.broadcast(1f).div(v);
            default: throw new IllegalArgumentException("not an arithmetic unary op: " + op);
        }
    }

    private static void arithmeticRun(UnaryOp op, float[] x, int xo, float[] y, int yo, int n) {
        for (int i = 0; i < n; i += L) arithmeticVec(op, load(x, xo + i)).intoArray(y, yo + i);
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
