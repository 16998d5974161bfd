package org.rlhf4j.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.rlhf4j.tensor.TensorChecks.assertClose;
import static org.rlhf4j.tensor.TensorChecks.assertExact;
import static org.rlhf4j.tensor.TensorChecks.assertFails;
import static org.rlhf4j.tensor.TensorChecks.assertValues;
import static org.rlhf4j.tensor.TensorChecks.withThreads;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.rlhf4j.tensor.TensorChecks.Layout;
import org.rlhf4j.tensor.TensorChecks.Operand;

/**
 * Every unary, binary and ternary op, and clamp, against the F64 reference definitions ({@code apply}) on random
 * inputs: every layout, broadcast patterns, empty and size-1 dimensions, sizes large enough to be split over
 * threads, at several thread counts, in F32 (tolerances of F32) and F64 (1e-12).
 */
class ElementwiseTest {
    private final Random rnd = new Random(1234);

    /** Small shapes (scalar, empty, size-1, vector tails) and large ones that the pool splits. */
    private static final int[][] SMALL_SHAPES = {{}, {0}, {0, 4}, {1, 1}, {5}, {3, 7}, {2, 3, 19}};

    /** An operand large enough (> 32K elements) that the pool splits the work over threads. */
    record Large(Layout layout, int[] shape) {}

    /**
     * Many rows on the vector path (narrowed rows do not merge into one run), many rows on the strided path, and
     * one long row split into pieces.
     */
    private static final Large[] LARGE = {new Large(Layout.NARROWED, new int[] {180, 190}),
        new Large(Layout.PERMUTED, new int[] {180, 190}), new Large(Layout.CONTIGUOUS, new int[] {1, 40_000})};

    static Stream<Arguments> opsAndThreads(Object[] ops) {
        return Stream.of(ops).flatMap(op -> TensorChecks.threadCounts().mapToObj(n -> Arguments.of(op, n)));
    }

    static Stream<Arguments> unaryOpsAndThreads() {
        return opsAndThreads(UnaryOp.values());
    }

    static Stream<Arguments> binaryOpsAndThreads() {
        return opsAndThreads(BinaryOp.values());
    }

    static Stream<Arguments> ternaryOpsAndThreads() {
        return opsAndThreads(TernaryOp.values());
    }

    // =================================================================================================
    // unary
    // =================================================================================================

    /** The named method of each op, so that the names are covered too. */
    static Tensor unary(UnaryOp op, Tensor x) {
        switch (op) {
            case NEG: return x.neg();
            case ABS: return x.abs();
            case EXP: return x.exp();
            case LOG: return x.log();
            case SQRT: return x.sqrt();
            case RSQRT: return x.rsqrt();
            case TANH: return x.tanh();
            case SIGMOID: return x.sigmoid();
            case RELU: return x.relu();
            case GELU: return x.gelu();
            case SOFTPLUS: return x.softplus();
            case LOG_SIGMOID: return x.logSigmoid();
            case SQUARE: return x.square();
            case RECIPROCAL: return x.reciprocal();
            case SIGN: return x.sign();
            default: throw new AssertionError(op);
        }
    }

    /** Random inputs inside each op's domain. */
    static Ref unaryInput(Random rnd, UnaryOp op, DType dtype, int[] shape) {
        switch (op) {
            case LOG:
            case SQRT:
            case RSQRT: return Ref.uniform(rnd, dtype, 0.01, 20, shape);
            case EXP: return Ref.uniform(rnd, dtype, -20, 20, shape);
            case RECIPROCAL: return Ref.normal(rnd, dtype, shape);
            default: return Ref.uniform(rnd, dtype, -8, 8, shape);
        }
    }

    private static boolean transcendental(UnaryOp op) {
        switch (op) {
            case EXP:
            case LOG:
            case TANH:
            case SIGMOID:
            case GELU:
            case SOFTPLUS:
            case LOG_SIGMOID: return true;
            default: return false;
        }
    }

    static double unaryRtol(UnaryOp op, DType dtype) {
        if (dtype == DType.F64) return 1e-12;
        return transcendental(op) ? 1e-5 : 1e-6;
    }

    static double unaryAtol(UnaryOp op, DType dtype) {
        return dtype == DType.F64 ? 1e-12 : 1e-6;
    }

    @ParameterizedTest
    @EnumSource(UnaryOp.class)
    void unaryOpMatchesItsReferenceOnEveryLayoutAndShape(UnaryOp op) {
        for (DType dtype : new DType[] {DType.F32, DType.F64}) {
            Function<int[], Ref> source = s -> unaryInput(rnd, op, dtype, s);
            for (Layout layout : Layout.values()) {
                for (int[] shape : SMALL_SHAPES) checkUnary(op, dtype, TensorChecks.operand(layout, dtype, source, shape));
            }
        }
    }

    @ParameterizedTest(name = "{0} at {1} threads")
    @MethodSource("unaryOpsAndThreads")
    void unaryOpMatchesItsReferenceWhenSplitOverThreads(UnaryOp op, int threads) {
        withThreads(threads, () -> {
            for (DType dtype : new DType[] {DType.F32, DType.F64}) {
                for (Large large : LARGE) {
                    checkUnary(op, dtype, TensorChecks.operand(large.layout(), dtype, s -> unaryInput(rnd, op, dtype, s), large.shape()));
                }
            }
        });
    }

    private static void checkUnary(UnaryOp op, DType dtype, Operand x) {
        Tensor y = unary(op, x.tensor());
        String what = op + " " + dtype + " " + Arrays.toString(x.ref().shape) + " strides " + Arrays.toString(x.tensor().strides());
        assertEquals(dtype, y.dtype());
        assertTrue(y.isContiguous(), what + ": output is a fresh contiguous tensor");
        assertClose(what, x.ref().map(op::apply), y, unaryRtol(op, dtype), unaryAtol(op, dtype));
        if (x.ref().numel() < 1000) {
            assertExact(what + ": input untouched", x.ref(), x.tensor());
            assertClose(what + " via map", x.ref().map(op::apply), x.tensor().map(op), unaryRtol(op, dtype), unaryAtol(op, dtype));
        }
    }

    /** Edge values, repeated so that they reach both the vector body and the scalar tail of every kernel. */
    private static final double[] SPECIAL = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 0.0, -0.0, 1,
        -1, 1e-30, -1e-30, 0.5, -0.5, 20, -20, 50, -50, 88, -88, 100, -100, 1e4, -1e4, 3e38, -3e38};

    private static Ref specials(int n) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = SPECIAL[i % SPECIAL.length];
        return new Ref(new int[] {n}, d);
    }

    /**
     * Rounds of an F32 edge-value check: enough for the JIT to compile the kernels with its vector intrinsics.
     * An interpreted Vector API kernel computes each lane with java.lang.Math, so a single round can pass while
     * the compiled kernel (what a long run uses) differs.
     */
    private static final int JIT_ROUNDS = 300;

    /** Checks an F32 result against the reference, element by element, JIT_ROUNDS times. */
    private static void checkCompiledF32(String what, Ref expected, java.util.function.Supplier<Tensor> op, double rtol,
                                         double atol) {
        for (int round = 0; round < JIT_ROUNDS; round++) {
            float[] got = op.get().toFloatArray();
            for (int i = 0; i < got.length; i++) {
                double e = (float) expected.data[i];
                if (!TensorChecks.close(e, got[i], rtol, atol)) {
                    throw new AssertionError(what + ": element " + i + " expected " + e + ", found " + got[i] + " in round " + round);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(UnaryOp.class)
    void unaryOpMatchesItsReferenceOnEdgeValues(UnaryOp op) {
        Ref x = specials(SPECIAL.length * 89);
        assertClose(op + " F64 on edge values", x.map(op::apply), unary(op, x.tensor(DType.F64)),
                unaryRtol(op, DType.F64), unaryAtol(op, DType.F64));
        Tensor t = x.tensor(DType.F32);
        checkCompiledF32(op + " F32 on edge values", x.map(op::apply), () -> unary(op, t), unaryRtol(op, DType.F32),
                unaryAtol(op, DType.F32));
    }

    @ParameterizedTest
    @EnumSource(value = UnaryOp.class, names = {"SIGMOID", "SOFTPLUS", "LOG_SIGMOID", "TANH", "GELU", "EXP"})
    void saturatingOpsStayFiniteAndAccurateForLargeInputs(UnaryOp op) {
        for (DType dtype : new DType[] {DType.F32, DType.F64}) {
            Ref x = op == UnaryOp.EXP ? Ref.uniform(rnd, dtype, -200, 80, 1000) : Ref.uniform(rnd, dtype, -1000, 1000, 1000);
            Tensor y = unary(op, x.tensor(dtype));
            for (double v : Ref.read(y).data) assertTrue(Double.isFinite(v), () -> op + " gave " + v);
            assertClose(op + " " + dtype + " for large |x|", x.map(op::apply), y, unaryRtol(op, dtype), unaryAtol(op, dtype));
        }
        if (op == UnaryOp.LOG_SIGMOID) {
            // log(sigmoid(x)) computed as -softplus(-x): no log(0) = -inf for very negative x
            assertValues("logSigmoid(-200)", Tensor.of(new float[] {-200}).logSigmoid(), -200);
            assertValues("logSigmoid(-1e4) F64", Tensor.of(new double[] {-1e4}).logSigmoid(), -1e4);
        }
    }

    @Test
    void reluAndSignKeepNaN() {
        Ref x = specials(67);
        for (DType dtype : new DType[] {DType.F32, DType.F64}) {
            Ref relu = Ref.read(x.tensor(dtype).relu()), sign = Ref.read(x.tensor(dtype).sign());
            for (int i = 0; i < x.numel(); i++) {
                assertEquals(Double.isNaN(x.data[i]), Double.isNaN(relu.data[i]), "relu at " + i);
                assertEquals(Double.isNaN(x.data[i]), Double.isNaN(sign.data[i]), "sign at " + i);
            }
        }
    }

    // =================================================================================================
    // binary
    // =================================================================================================

    static Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        switch (op) {
            case ADD: return a.add(b);
            case SUB: return a.sub(b);
            case MUL: return a.mul(b);
            case DIV: return a.div(b);
            case POW: return a.pow(b);
            case MAX: return a.maximum(b);
            case MIN: return a.minimum(b);
            case EQ: return a.eq(b);
            case NE: return a.ne(b);
            case LT: return a.lt(b);
            case LE: return a.le(b);
            case GT: return a.gt(b);
            case GE: return a.ge(b);
            default: throw new AssertionError(op);
        }
    }

    static Tensor binary(BinaryOp op, Tensor a, double s) {
        switch (op) {
            case ADD: return a.add(s);
            case SUB: return a.sub(s);
            case MUL: return a.mul(s);
            case DIV: return a.div(s);
            case POW: return a.pow(s);
            case MAX: return a.maximum(s);
            case MIN: return a.minimum(s);
            case EQ: return a.eq(s);
            case NE: return a.ne(s);
            case LT: return a.lt(s);
            case LE: return a.le(s);
            case GT: return a.gt(s);
            case GE: return a.ge(s);
            default: throw new AssertionError(op);
        }
    }

    /** Comparisons get small integers (many ties); pow gets positive bases; the rest normal values. */
    static Ref binaryInput(Random rnd, BinaryOp op, DType dtype, boolean first, int[] shape) {
        if (op.isComparison()) return Ref.ints(rnd, -2, 2, shape);
        if (op == BinaryOp.POW) return first ? Ref.uniform(rnd, dtype, 0.1, 3, shape) : Ref.uniform(rnd, dtype, -2, 2, shape);
        return Ref.normal(rnd, dtype, shape);
    }

    static double binaryRtol(BinaryOp op, DType dtype) {
        if (dtype == DType.F64) return 1e-12;
        return op == BinaryOp.POW ? 1e-5 : 1e-6;
    }

    /** One broadcast case: the shapes and layouts of both operands. */
    record Pattern(int[] a, Layout la, int[] b, Layout lb) {
        @Override
        public String toString() {
            return Arrays.toString(a) + " " + la + " vs " + Arrays.toString(b) + " " + lb;
        }
    }

    private static Pattern p(int[] a, Layout la, int[] b, Layout lb) {
        return new Pattern(a, la, b, lb);
    }

    private static int[] s(int... shape) {
        return shape;
    }

    static final Layout C = Layout.CONTIGUOUS, P = Layout.PERMUTED, S = Layout.STEPPED, N = Layout.NARROWED,
            E = Layout.EXPANDED;

    static final Pattern[] PATTERNS = {
        p(s(4, 5), C, s(4, 5), C),
        p(s(6), C, s(), C), // [N] vs []
        p(s(), C, s(6), S),
        p(s(), C, s(), C),
        p(s(3, 1), C, s(1, 4), C), // [M,1] vs [1,N]
        p(s(1, 4), N, s(3, 1), S),
        p(s(2, 1, 5), C, s(3, 5), C), // [B,1,C] vs [T,C]
        p(s(3, 5), P, s(2, 1, 5), S),
        p(s(4, 5), C, s(4, 5), P), // a transposed operand
        p(s(4, 5), P, s(4, 5), P),
        p(s(4, 5), P, s(5), S),
        p(s(4, 5), E, s(4, 5), C), // stride 0
        p(s(4, 5), C, s(4, 5), E),
        p(s(4, 5), N, s(4, 1), C),
        p(s(3, 5), C, s(5), E), // a stride-0 run
        p(s(4, 1), C, s(1), C), // both operands repeat along the run
        p(s(0, 3), C, s(3), C), // empty
        p(s(2, 0), C, s(2, 1), C),
        p(s(1, 1), C, s(1), C),
        p(s(3, 4, 37), S, s(37), C), // odd length: vector tails
        p(s(3, 4, 37), N, s(4, 1), N),
    };

    /** Large enough to be split over threads. */
    static final Pattern[] LARGE_PATTERNS = {
        p(s(180, 190), N, s(190), C),
        p(s(180, 190), P, s(180, 1), N),
        p(s(1, 40_000), N, s(1, 40_000), C),
        p(s(3, 33_000), C, s(33_000), C), // a few long rows, each split in pieces
    };

    @ParameterizedTest
    @EnumSource(BinaryOp.class)
    void binaryOpMatchesItsReferenceWithBroadcasting(BinaryOp op) {
        checkBinary(op, PATTERNS);
    }

    @ParameterizedTest(name = "{0} at {1} threads")
    @MethodSource("binaryOpsAndThreads")
    void binaryOpMatchesItsReferenceWhenSplitOverThreads(BinaryOp op, int threads) {
        withThreads(threads, () -> checkBinary(op, LARGE_PATTERNS));
    }

    private void checkBinary(BinaryOp op, Pattern[] patterns) {
        for (DType dtype : new DType[] {DType.F32, DType.F64}) {
            for (Pattern pattern : patterns) {
                Operand a = TensorChecks.operand(pattern.la(), dtype, sh -> binaryInput(rnd, op, dtype, true, sh), pattern.a());
                Operand b = TensorChecks.operand(pattern.lb(), dtype, sh -> binaryInput(rnd, op, dtype, false, sh), pattern.b());
                String what = op + " " + dtype + " " + pattern;
                Ref expected = Ref.zip(a.ref(), b.ref(), op::apply);
                Tensor out = binary(op, a.tensor(), b.tensor());
                assertEquals(dtype, out.dtype(), what);
                assertClose(what, expected, out, binaryRtol(op, dtype), TensorChecks.atol(dtype));
                if (expected.numel() < 1000) {
                    assertClose(what + " via zip", expected, a.tensor().zip(op, b.tensor()), binaryRtol(op, dtype),
                            TensorChecks.atol(dtype));
                    assertExact(what + ": a untouched", a.ref(), a.tensor());
                    assertExact(what + ": b untouched", b.ref(), b.tensor());
                }
            }
        }
    }

    private static double[] scalarsFor(BinaryOp op) {
        return op.isComparison() ? new double[] {0, 1, -2.5} : op == BinaryOp.POW
                ? new double[] {2, 0.5, -1.5, 0} : new double[] {2.5, -0.75, 0, 1e-3};
    }

    @ParameterizedTest
    @EnumSource(BinaryOp.class)
    void scalarFormMatchesItsReference(BinaryOp op) {
        for (DType dtype : new DType[] {DType.F32, DType.F64}) {
            Function<int[], Ref> source = sh -> binaryInput(rnd, op, dtype, true, sh);
            for (Layout layout : Layout.values()) {
                for (int[] shape : SMALL_SHAPES) checkScalar(op, dtype, TensorChecks.operand(layout, dtype, source, shape), scalarsFor(op));
            }
        }
    }

    @ParameterizedTest(name = "{0} at {1} threads")
    @MethodSource("binaryOpsAndThreads")
    void scalarFormMatchesItsReferenceWhenSplitOverThreads(BinaryOp op, int threads) {
        withThreads(threads, () -> {
            for (DType dtype : new DType[] {DType.F32, DType.F64}) {
                for (Large large : LARGE) {
                    Operand a = TensorChecks.operand(large.layout(), dtype, sh -> binaryInput(rnd, op, dtype, true, sh), large.shape());
                    checkScalar(op, dtype, a, new double[] {scalarsFor(op)[0]});
                }
            }
        });
    }

    private static void checkScalar(BinaryOp op, DType dtype, Operand a, double[] scalars) {
        for (double scalar : scalars) {
            String what = op + " " + dtype + " " + Arrays.toString(a.ref().shape) + " strides "
                    + Arrays.toString(a.tensor().strides()) + " with " + scalar;
            // the scalar is rounded to the dtype, as the kernels do
            double sc = dtype == DType.F32 ? (float) scalar : scalar;
            Ref expected = a.ref().map(v -> op.apply(v, sc));
            assertClose(what, expected, binary(op, a.tensor(), scalar), binaryRtol(op, dtype), TensorChecks.atol(dtype));
            if (expected.numel() < 1000) {
                assertClose(what + " via zip", expected, a.tensor().zip(op, scalar), binaryRtol(op, dtype),
                        TensorChecks.atol(dtype));
                assertExact("input untouched", a.ref(), a.tensor());
            }
        }
    }

    @Test
    void maximumMinimumAndComparisonsHandleNaNFromEitherSide() {
        int n = 2001;
        Ref a = Ref.ints(rnd, -2, 2, n), b = Ref.ints(rnd, -2, 2, n);
        for (int i = 0; i < n; i += 3) a.data[i] = Double.NaN;
        for (int i = 1; i < n; i += 5) b.data[i] = Double.NaN;
        BinaryOp[] ops = {BinaryOp.MAX, BinaryOp.MIN, BinaryOp.EQ, BinaryOp.NE, BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE};
        Tensor da = a.tensor(DType.F64), db = b.tensor(DType.F64), fa = a.tensor(DType.F32), fb = b.tensor(DType.F32);
        for (BinaryOp op : ops) {
            assertExact(op + " F64 with NaN", Ref.zip(a, b, op::apply), binary(op, da, db));
            checkCompiledF32(op + " F32 with NaN", Ref.zip(a, b, op::apply), () -> binary(op, fa, fb), 0, 0);
            checkCompiledF32(op + " F32 with a NaN scalar", a.map(v -> op.apply(v, Double.NaN)), () -> binary(op, fa, Double.NaN), 0, 0);
        }
        // Math.max(-0, +0) is +0 and Math.min(-0, +0) is -0: the sign of zero survives the kernels
        float[] zeros = new float[n], flipped = new float[n];
        for (int i = 0; i < n; i++) {
            zeros[i] = i % 2 == 0 ? -0f : 0f;
            flipped[i] = -zeros[i];
        }
        Tensor z = Tensor.of(zeros), zf = Tensor.of(flipped);
        for (int round = 0; round < JIT_ROUNDS; round++) {
            float[] max = z.maximum(zf).toFloatArray(), min = z.minimum(zf).toFloatArray();
            for (int i = 0; i < n; i++) {
                assertEquals(0, Float.floatToRawIntBits(max[i]), "maximum(-0, +0) must be +0");
                assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(min[i]), "minimum(-0, +0) must be -0");
            }
        }
    }

    @Test
    void powFollowsMathPowOnEdgeValues() {
        double inf = Double.POSITIVE_INFINITY;
        double[] bases = {-2, -2, -0.5, 0, 0, Double.NaN, 2, inf, -inf, 1, -8, 4, 1, 1, -1, -1, 0.5, 2, -0.0, -0.0, 3};
        double[] exps = {3, 2, -1, -1, 0, 0, Double.NaN, -1, 3, Double.NaN, 1.0 / 3, 0.5, inf, -inf, inf, -inf, -inf, -inf, -1, 3,
            Double.NaN};
        int n = bases.length * 97;
        Ref a = new Ref(new int[] {n}, new double[n]), b = new Ref(new int[] {n}, new double[n]);
        for (int i = 0; i < n; i++) {
            a.data[i] = bases[i % bases.length];
            b.data[i] = (float) exps[i % exps.length];
        }
        Ref expected = Ref.zip(a, b, Math::pow);
        assertClose("pow F64", expected, a.tensor(DType.F64).pow(b.tensor(DType.F64)), 1e-12, 0);
        Tensor ta = a.tensor(DType.F32), tb = b.tensor(DType.F32);
        checkCompiledF32("pow F32", expected, () -> ta.pow(tb), 1e-6, 0);
        checkCompiledF32("pow F32 with a scalar NaN exponent", a.map(v -> Math.pow(v, Double.NaN)), () -> ta.pow(Double.NaN), 0, 0);
    }

    @Test
    void comparisonsWorkOnI32AndGiveI32Masks() {
        for (Pattern pattern : new Pattern[] {p(s(4, 5), C, s(5), C), p(s(3, 1), S, s(1, 4), P), p(s(200, 200), P, s(200, 1), C)}) {
            Operand a = TensorChecks.operand(pattern.la(), DType.I32, sh -> Ref.ints(rnd, -2, 2, sh), pattern.a());
            Operand b = TensorChecks.operand(pattern.lb(), DType.I32, sh -> Ref.ints(rnd, -2, 2, sh), pattern.b());
            for (BinaryOp op : BinaryOp.values()) {
                if (!op.isComparison()) continue;
                Tensor out = binary(op, a.tensor(), b.tensor());
                assertEquals(DType.I32, out.dtype());
                assertExact(op + " I32 " + pattern, Ref.zip(a.ref(), b.ref(), op::apply), out);
                assertExact(op + " I32 scalar", a.ref().map(v -> op.apply(v, 1)), binary(op, a.tensor(), 1));
            }
        }
        Tensor ids = Tensor.ofInts(new int[] {1, 2, 3});
        for (BinaryOp op : new BinaryOp[] {BinaryOp.ADD, BinaryOp.MUL, BinaryOp.MAX}) {
            String name = op.name().toLowerCase();
            assertFails(IllegalArgumentException.class, () -> binary(op, ids, ids), name + ": expected an F32 or F64 tensor, found I32");
            assertFails(IllegalArgumentException.class, () -> binary(op, ids, 2.0), name, "I32");
        }
    }

    // =================================================================================================
    // ternary and clamp
    // =================================================================================================

    static Tensor ternary(TernaryOp op, Tensor a, Tensor b, Tensor c) {
        switch (op) {
            case WHERE: return Tensor.where(a, b, c);
            case FMA: return Tensor.fma(a, b, c);
            case LERP: return Tensor.lerp(a, b, c);
            default: throw new AssertionError(op);
        }
    }

    record Triple(int[] a, Layout la, int[] b, Layout lb, int[] c, Layout lc) {
        @Override
        public String toString() {
            return Arrays.toString(a) + " " + la + ", " + Arrays.toString(b) + " " + lb + ", " + Arrays.toString(c) + " " + lc;
        }
    }

    static final Triple[] TRIPLES = {
        new Triple(s(4, 5), C, s(4, 5), C, s(4, 5), C),
        new Triple(s(4, 1), C, s(1, 5), S, s(), C),
        new Triple(s(5), P, s(4, 5), P, s(4, 1), N),
        new Triple(s(2, 1, 5), S, s(3, 5), C, s(2, 3, 1), E),
        new Triple(s(4, 5), E, s(4, 5), N, s(5), C),
        new Triple(s(0, 5), C, s(5), C, s(1, 5), C),
        new Triple(s(), C, s(), C, s(), C),
        new Triple(s(3, 37), C, s(3, 37), C, s(3, 37), C),
    };

    static final Triple[] LARGE_TRIPLES = {
        new Triple(s(180, 190), N, s(180, 190), C, s(180, 190), C),
        new Triple(s(180, 190), P, s(190), C, s(180, 1), C),
        new Triple(s(1, 40_000), C, s(1, 40_000), N, s(1), C),
    };

    @ParameterizedTest
    @EnumSource(TernaryOp.class)
    void ternaryOpMatchesItsReferenceWithBroadcasting(TernaryOp op) {
        checkTernary(op, TRIPLES, true);
    }

    @ParameterizedTest(name = "{0} at {1} threads")
    @MethodSource("ternaryOpsAndThreads")
    void ternaryOpMatchesItsReferenceWhenSplitOverThreads(TernaryOp op, int threads) {
        withThreads(threads, () -> checkTernary(op, LARGE_TRIPLES, false));
    }

    private void checkTernary(TernaryOp op, Triple[] triples, boolean everyConditionType) {
        for (DType dtype : new DType[] {DType.F32, DType.F64}) {
            // where's condition may have any dtype the CPU computes in (BF16 is storage only); its values include
            // -0 (false) and NaN (true)
            DType[] condTypes = op == TernaryOp.WHERE && everyConditionType
                    ? new DType[] {DType.F32, DType.F64, DType.I32} : new DType[] {dtype};
            for (DType condType : condTypes) {
                for (Triple t : triples) {
                    Function<int[], Ref> condSource = op != TernaryOp.WHERE ? sh -> Ref.normal(rnd, dtype, sh)
                            : condType == DType.I32 ? sh -> Ref.ints(rnd, -1, 1, sh) : sh -> conditions(rnd, sh);
                    Operand a = TensorChecks.operand(t.la(), condType, condSource, t.a());
                    Operand b = TensorChecks.operand(t.lb(), dtype, sh -> Ref.normal(rnd, dtype, sh), t.b());
                    Operand c = TensorChecks.operand(t.lc(), dtype, sh -> Ref.normal(rnd, dtype, sh), t.c());
                    String what = op + " " + dtype + " (condition " + condType + ") " + t;
                    Tensor out = ternary(op, a.tensor(), b.tensor(), c.tensor());
                    assertEquals(dtype, out.dtype(), what);
                    double atol = dtype == DType.F64 ? 1e-12 : op == TernaryOp.WHERE ? 0 : 1e-5;
                    assertClose(what, Ref.zip(a.ref(), b.ref(), c.ref(), op::apply), out, TensorChecks.rtol(dtype), atol);
                    if (out.numel() < 1000) assertExact(what + ": a untouched", a.ref(), a.tensor());
                }
            }
        }
    }

    private static Ref conditions(Random rnd, int[] shape) {
        double[] choices = {0, 1, -0.0, 2, Double.NaN, -3};
        double[] d = new double[Ref.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = choices[rnd.nextInt(choices.length)];
        return new Ref(shape, d);
    }

    @Test
    void ternaryOpsCheckTheirOperands() {
        Tensor f = Tensor.zeros(2, 3), d = Tensor.zeros(DType.F64, 2, 3), i = Tensor.zeros(DType.I32, 2, 3);
        assertFails(IllegalArgumentException.class, () -> Tensor.fma(f, d, f), "fma: dtypes F32 and F64 differ");
        assertFails(IllegalArgumentException.class, () -> Tensor.lerp(f, f, d), "lerp: dtypes F32 and F64 differ");
        assertFails(IllegalArgumentException.class, () -> Tensor.fma(i, i, i), "fma: expected an F32 or F64 tensor, found I32");
        assertFails(IllegalArgumentException.class, () -> Tensor.where(f, f, d), "where: dtypes F32 and F64 differ");
        assertFails(IllegalArgumentException.class, () -> Tensor.where(f, Tensor.zeros(4), f), "where", "[2, 3]", "[4]");
        assertArrayEquals(new int[] {2, 3}, Tensor.where(i, d, d).shape());
        assertEquals(DType.I32, Tensor.where(f, i, i).dtype(), "where on I32 values");
    }

    static Stream<Arguments> threads() {
        return TensorChecks.threadCounts().mapToObj(Arguments::of);
    }

    @ParameterizedTest(name = "{0} threads")
    @MethodSource("threads")
    void clampLimitsEveryElementAndKeepsNaN(int threads) {
        double[][] bounds = {{-0.5, 0.7}, {Double.NEGATIVE_INFINITY, 0}, {0, Double.POSITIVE_INFINITY}, {1, 1},
            {Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY}};
        withThreads(threads, () -> {
            for (DType dtype : new DType[] {DType.F32, DType.F64}) {
                Function<int[], Ref> source = sh -> {
                    Ref r = Ref.normal(rnd, dtype, sh);
                    for (int i = 0; i < r.data.length; i += 7) r.data[i] = Double.NaN;
                    return r;
                };
                for (Layout layout : Layout.values()) {
                    for (int[] shape : new int[][] {{}, {0}, {3, 37}, {180, 190}, {1, 40_000}}) {
                        if (shape.length == 2 && shape[0] * shape[1] > 1000 && layout != Layout.CONTIGUOUS
                                && layout != Layout.PERMUTED) {
                            continue;
                        }
                        Operand x = TensorChecks.operand(layout, dtype, source, shape);
                        for (double[] b : bounds) {
                            double lo = b[0], hi = b[1];
                            assertExact("clamp(" + lo + ", " + hi + ") " + dtype + " " + layout + " " + Arrays.toString(shape),
                                    x.ref().map(v -> Math.min(Math.max(v, lo), hi)), x.tensor().clamp(lo, hi));
                        }
                        assertExact("input untouched", x.ref(), x.tensor());
                    }
                }
            }
        });
        assertFails(IllegalArgumentException.class, () -> Tensor.zeros(2).clamp(1, 0), "clamp: min 1.0 > max 0.0");
        assertFails(IllegalArgumentException.class, () -> Tensor.zeros(DType.I32, 2).clamp(0, 1), "clamp", "I32");
    }

    @Test
    void allCloseComparesShapesAndValuesWithTolerances() {
        Tensor a = Tensor.of(new float[] {1, 2, 3});
        assertTrue(a.allClose(Tensor.of(new double[] {1, 2, 3}), 0, 0), "across dtypes");
        assertTrue(a.allClose(Tensor.of(new float[] {1.001f, 2, 3}), 0, 0.0011));
        assertTrue(a.allClose(Tensor.of(new float[] {1, 2, 3.003f}), 0.0011, 0));
        assertFalse(a.allClose(Tensor.of(new float[] {1, 2, 3.01f}), 1e-3, 1e-3));
        assertFalse(a.allClose(a.reshape(3, 1), 1, 1), "shapes differ");
        assertFalse(Tensor.of(new float[] {Float.NaN}).allClose(Tensor.of(new float[] {Float.NaN}), 1, 1), "NaN never matches");
        assertTrue(Tensor.zeros(3, 0).allClose(Tensor.ones(3, 0), 0, 0));
        assertTrue(Tensor.arange(6, DType.F32).reshape(2, 3).t().allClose(Tensor.of(new float[] {0, 3, 1, 4, 2, 5}, 3, 2), 0, 0));
    }

    @Test
    void unaryOpsRejectIntegerTensors() {
        Tensor ids = Tensor.ofInts(new int[] {1, 2});
        for (UnaryOp op : UnaryOp.values()) {
            String name = op.name().toLowerCase();
            assertFails(IllegalArgumentException.class, () -> unary(op, ids), name + ": expected an F32 or F64 tensor, found I32");
        }
    }

    @Test
    void largeIntermediatesDoNotOverflowInF32() {
        // sigmoid(-100) ~ 3.7e-44 and softplus(100) = 100: no inf / NaN from e^100 in F32
        Tensor x = Tensor.of(new float[] {-100, 100, -88.5f, 88.5f, -1e4f, 1e4f, -3e38f, 3e38f, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        for (UnaryOp op : new UnaryOp[] {UnaryOp.SIGMOID, UnaryOp.SOFTPLUS, UnaryOp.LOG_SIGMOID, UnaryOp.GELU, UnaryOp.TANH}) {
            Ref got = Ref.read(unary(op, x));
            for (int i = 0; i < got.numel(); i++) {
                double v = got.data[i], ref = (float) op.apply(x.get(i));
                assertTrue(Math.abs(v - ref) <= 1e-6 + 1e-5 * Math.abs(ref), op + "(" + x.get(i) + ") = " + v + ", expected " + ref);
            }
        }
    }
}
