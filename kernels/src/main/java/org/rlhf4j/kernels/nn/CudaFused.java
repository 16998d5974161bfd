package org.rlhf4j.kernels.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.rlhf4j.kernels.Cuda;
import org.rlhf4j.kernels.CudaContext;
import org.rlhf4j.kernels.DeviceBuffer;
import org.rlhf4j.kernels.KernelArgs;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Shapes;
import org.rlhf4j.tensor.Tensor;

/**
 * The fused NN ops on the GPU, forward and backward: the twins of {@code CpuNn}, with the same semantics and
 * saved state. {@code CudaBackend} delegates each of these Backend methods here unchanged; shapes, dtypes and
 * devices are already checked by {@code NnOps}, so this class checks only what the kernels rely on (F32,
 * element counts, contiguous outputs). Strided inputs are copied to contiguous ones first.
 *
 * <p>Kernels are the PTX resources {@code softmax.ptx}, {@code logprobs.ptx}, {@code crossentropy.ptx},
 * {@code layernorm.ptx}, {@code gelu.ptx}, {@code adamw.ptx} and {@code embedding.ptx}; each file's header gives its algorithm and
 * launch contract, {@link FusedLaunch} the host side of it. Shapes: {@code R} rows (the product of the leading
 * dimensions), {@code V} the softmax / vocabulary axis, {@code C} channels.
 *
 * <p>Beyond the Backend SPI: {@link #gelu} (forward), {@link #crossEntropy} / {@link #crossEntropyBackward}
 * (masked mean cross-entropy, the loss on the device without a host round trip) and {@link #adamw(List, List,
 * List, List, double, double, double, double, double, long)} (every parameter of a model in one launch).
 */
public final class CudaFused {
    static final String SOFTMAX = "softmax.ptx", LOGPROBS = "logprobs.ptx", CROSS_ENTROPY = "crossentropy.ptx",
            LAYER_NORM = "layernorm.ptx", GELU = "gelu.ptx", ADAMW = "adamw.ptx", EMBEDDING = "embedding.ptx";
    private static final int ELEMENTWISE_THREADS = 256, ADAMW_THREADS = 256, REDUCE_THREADS = 1024,
            COLUMN_THREADS = 256;
    /** AdamW launch tables kept on the device, by the addresses and sizes they describe (LRU). */
    private static final int TABLE_CACHE = 64;

    private final CudaContext context;
    private final Map<TableKey, DeviceBuffer> tables = new LinkedHashMap<>(16, 0.75f, true);

    public CudaFused(CudaContext context) {
        this.context = context;
    }

    /** The context (device, stream, allocator, modules) these kernels run on. */
    public CudaContext context() {
        return context;
    }

    // =====================================================================================================
    // softmax / log-softmax over the last axis: x, y [R, V]
    // =====================================================================================================

    /**
     * y = softmax(x) or log-softmax(x) over the last axis; one block per row. F32, or BF16 in and out with F32
     * accumulation.
     */
    public void softmax(Tensor y, Tensor x, boolean log) {
        String op = log ? "logSoftmax" : "softmax";
        try (Inputs in = new Inputs()) {
            Tensor xc = in.floating(op, "x", x);
            DType dt = xc.dtype();
            requireOut(op, "y", y, dt, xc.numel());
            int cols = lastDim(xc), rows = rows(xc, cols);
            if (rows == 0 || cols == 0) return;
            long xa = Cuda.address(xc), ya = Cuda.address(y);
            boolean bf16 = dt == DType.BF16;
            context.kernel(SOFTMAX, bf16 ? "softmax_fwd_bf16" : "softmax_fwd_f32").launch(rows,
                    FusedLaunch.rowThreads(bf16 ? (cols + 1) / 2 : cols), 0,
                    KernelArgs.create().ptr(ya).ptr(xa).i32(cols)
                            .i32(flag(FusedLaunch.sameAlignmentOf(dt.byteSize(), xa, ya))).i32(flag(log)));
        }
    }

    /**
     * softmax: dx = y (dy - sum(dy y)); log-softmax: dx = dy - exp(y) sum(dy). All F32, or all BF16 (sums in
     * F32); mixed dtypes go through F32 copies.
     */
    public void softmaxBackward(Tensor dx, Tensor dy, Tensor y, boolean log) {
        String op = log ? "logSoftmaxBackward" : "softmaxBackward";
        boolean bf16 = dx.dtype() == DType.BF16 && dy.dtype() == DType.BF16 && y.dtype() == DType.BF16;
        try (Inputs in = new Inputs()) {
            Tensor yc = bf16 ? in.floating(op, "y", y) : in.asF32(op, "y", y);
            Tensor dyc = bf16 ? in.floating(op, "dy", dy) : in.asF32(op, "dy", dy);
            if (dyc.numel() != yc.numel()) {
                throw new IllegalArgumentException(op + ": dy " + describe(dy) + " does not match y " + describe(y));
            }
            requireOut(op, "dx", dx, dx.dtype(), yc.numel());
            int cols = lastDim(yc), rows = rows(yc, cols);
            if (rows == 0 || cols == 0) return;
            Tensor out = bf16 ? dx : in.f32Out(dx);
            long dxa = Cuda.address(out), dya = Cuda.address(dyc), ya = Cuda.address(yc);
            int bytes = bf16 ? 2 : 4;
            context.kernel(SOFTMAX, bf16 ? "softmax_bwd_bf16" : "softmax_bwd_f32").launch(rows,
                    FusedLaunch.rowThreads(bf16 ? (cols + 1) / 2 : cols), 0,
                    KernelArgs.create().ptr(dxa).ptr(dya).ptr(ya).i32(cols)
                            .i32(flag(FusedLaunch.sameAlignmentOf(bytes, ya, dxa, dya))).i32(flag(log)));
            in.finish(dx, out);
        }
    }

    // =====================================================================================================
    // token log-probs: logits [R, V], targets [R] I32 -> logp [R], lse [R]
    // =====================================================================================================

    /**
     * logp = z[target] - lse, lse = logsumexp(z), z = logits / T: one read of the logits. Logits F32 or BF16
     * (accumulated in F32); logp and lse F32 (or BF16, rounded from F32). A target outside [0, V) (not checked
     * on the host for device targets) gives a NaN log-prob.
     */
    public void tokenLogProbs(Tensor logp, Tensor lse, Tensor logits, Tensor targets, double temperature) {
        String op = "tokenLogProbs";
        requirePositive(op, temperature);
        try (Inputs in = new Inputs()) {
            Tensor x = in.floating(op, "logits", logits);
            int cols = lastDim(x), rows = rows(x, cols);
            Tensor tg = in.indices(op, "targets", targets, rows);
            requireOut(op, "logp", logp, logp.dtype(), rows);
            requireOut(op, "lse", lse, lse.dtype(), rows);
            if (rows == 0) return;
            if (cols == 0) throw new IllegalArgumentException(op + ": an empty vocabulary has no log-probs");
            Tensor lp = in.f32Out(logp), ls = in.f32Out(lse);
            long xa = Cuda.address(x);
            boolean bf16 = x.dtype() == DType.BF16;
            context.kernel(LOGPROBS, bf16 ? "logprobs_fwd_bf16" : "logprobs_fwd_f32").launch(rows,
                    FusedLaunch.rowThreads(bf16 ? (cols + 1) / 2 : cols), 0,
                    KernelArgs.create().ptr(lp).ptr(ls).ptr(xa).ptr(tg).i32(cols)
                            .i32(flag(FusedLaunch.sameAlignmentOf(x.dtype().byteSize(), xa)))
                            .f32((float) (1.0 / temperature)));
            in.finish(logp, lp);
            in.finish(lse, ls);
        }
    }

    /**
     * dlogits = g (onehot(target) - exp(z - lse)) / T: one read of the logits, one write; g = 0 rows are
     * zeros. dlogits has the logits' dtype (F32 or BF16); g and lse are used as F32.
     */
    public void tokenLogProbsBackward(Tensor dlogits, Tensor g, Tensor logits, Tensor targets, Tensor lse,
                                      double temperature) {
        String op = "tokenLogProbsBackward";
        requirePositive(op, temperature);
        try (Inputs in = new Inputs()) {
            Tensor x = in.floating(op, "logits", logits);
            int cols = lastDim(x), rows = rows(x, cols);
            Tensor tg = in.indices(op, "targets", targets, rows);
            Tensor gc = in.asF32(op, "g", g);
            Tensor lc = in.asF32(op, "lse", lse);
            requireCount(op, "g", gc, rows);
            requireCount(op, "lse", lc, rows);
            requireOut(op, "dlogits", dlogits, x.dtype(), x.numel());
            if (rows == 0 || cols == 0) return;
            long xa = Cuda.address(x), da = Cuda.address(dlogits);
            boolean bf16 = x.dtype() == DType.BF16;
            context.kernel(LOGPROBS, bf16 ? "logprobs_bwd_bf16" : "logprobs_bwd_f32").launch(rows,
                    FusedLaunch.rowThreads(bf16 ? (cols + 1) / 2 : cols), 0,
                    KernelArgs.create().ptr(da).ptr(gc).ptr(xa).ptr(tg).ptr(lc).i32(cols)
                            .i32(flag(FusedLaunch.sameAlignmentOf(x.dtype().byteSize(), xa, da)))
                            .f32((float) (1.0 / temperature)).f32((float) temperature));
        }
    }

    // =====================================================================================================
    // cross-entropy: logits [R, V], targets [R] I32, mask [R] or null -> loss [], count []
    // =====================================================================================================

    /**
     * Mean cross-entropy over the counted positions, as autograd's {@code Loss.crossEntropy}:
     * {@code loss = -sum(w logp) / sum(w)}, {@code w = mask (or 1), 0 where target == ignoreIndex}. Returns
     * {@code {loss [], count [], lse [R]}} on the device (no host wait); count and lse feed
     * {@link #crossEntropyBackward}. Uncounted rows are not read (their lse is 0). No row counted: NaN.
     */
    public Tensor[] crossEntropy(Tensor logits, Tensor targets, Tensor mask, int ignoreIndex) {
        String op = "crossEntropy";
        try (Inputs in = new Inputs()) {
            Tensor x = in.contiguous(op, "logits", logits);
            int cols = lastDim(x), rows = rows(x, cols);
            Tensor tg = in.indices(op, "targets", targets, rows);
            Tensor mk = mask == null ? null : in.contiguous(op, "mask", mask);
            if (mk != null) requireCount(op, "mask", mk, rows);
            if (cols == 0 && rows > 0) throw new IllegalArgumentException(op + ": an empty vocabulary has no log-probs");
            Tensor loss = Tensor.empty(DType.F32, x.device());
            Tensor count = Tensor.empty(DType.F32, x.device());
            Tensor lse = Tensor.empty(DType.F32, x.device(), rows);
            try (DeviceBuffer rowTerms = context.scratch(8L * Math.max(1, rows))) {
                long wlp = rowTerms.address(), w = wlp + 4L * rows;
                long xa = Cuda.address(x);
                if (rows > 0) {
                    context.kernel(CROSS_ENTROPY, "ce_fwd_f32").launch(rows, FusedLaunch.rowThreads(cols), 0,
                            KernelArgs.create().ptr(wlp).ptr(w).ptr(lse).ptr(xa).ptr(tg)
                                    .ptr(mk == null ? 0L : Cuda.address(mk)).i32(cols)
                                    .i32(flag(FusedLaunch.sameAlignment(xa))).i32(ignoreIndex));
                }
                context.kernel(CROSS_ENTROPY, "ce_reduce_f32").launch(1, REDUCE_THREADS, 0,
                        KernelArgs.create().ptr(loss).ptr(count).ptr(wlp).ptr(w).i32(rows));
            }
            return new Tensor[] {loss, count, lse};
        }
    }

    /**
     * The logits' gradient of {@link #crossEntropy} for a loss gradient {@code gloss} (a scalar on the
     * device): {@code dx = (w / -count) gloss (onehot(target) - softmax(x))}; uncounted rows are zeros.
     */
    public Tensor crossEntropyBackward(Tensor gloss, Tensor count, Tensor logits, Tensor targets, Tensor mask,
                                       Tensor lse, int ignoreIndex) {
        String op = "crossEntropyBackward";
        try (Inputs in = new Inputs()) {
            Tensor x = in.contiguous(op, "logits", logits);
            int cols = lastDim(x), rows = rows(x, cols);
            Tensor tg = in.indices(op, "targets", targets, rows);
            Tensor mk = mask == null ? null : in.contiguous(op, "mask", mask);
            if (mk != null) requireCount(op, "mask", mk, rows);
            Tensor lc = in.contiguous(op, "lse", lse);
            requireCount(op, "lse", lc, rows);
            requireCount(op, "loss gradient", gloss, 1);
            requireCount(op, "count", count, 1);
            Tensor dx = Tensor.empty(DType.F32, x.device(), x.shape());
            if (rows == 0 || cols == 0) return dx;
            long xa = Cuda.address(x), da = Cuda.address(dx);
            context.kernel(CROSS_ENTROPY, "ce_bwd_f32").launch(rows, FusedLaunch.rowThreads(cols), 0,
                    KernelArgs.create().ptr(da).ptr(gloss).ptr(count).ptr(xa).ptr(tg)
                            .ptr(mk == null ? 0L : Cuda.address(mk)).ptr(lc).i32(cols)
                            .i32(flag(FusedLaunch.sameAlignment(xa, da))).i32(ignoreIndex));
            return dx;
        }
    }

    // =====================================================================================================
    // layer norm over the last axis: x, y [R, C]; weight, bias [C]; mean, rstd [R]
    // =====================================================================================================

    /** y = (x - mean) rstd weight + bias with the biased variance; mean and rstd are saved. */
    public void layerNorm(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor weight, Tensor bias, double eps) {
        String op = "layerNorm";
        try (Inputs in = new Inputs()) {
            Tensor xc = in.contiguous(op, "x", x);
            int cols = lastDim(xc), rows = rows(xc, cols);
            Tensor w = weight == null ? null : in.contiguous(op, "weight", weight);
            Tensor b = bias == null ? null : in.contiguous(op, "bias", bias);
            if (w != null) requireCount(op, "weight", w, cols);
            if (b != null) requireCount(op, "bias", b, cols);
            requireOut(op, "y", y, xc.numel());
            requireOut(op, "mean", mean, rows);
            requireOut(op, "rstd", rstd, rows);
            if (rows == 0 || cols == 0) return;
            long xa = Cuda.address(xc), ya = Cuda.address(y), wa = address(w), ba = address(b);
            context.kernel(LAYER_NORM, "ln_fwd_f32").launch(rows, FusedLaunch.rowThreads(cols), 0,
                    KernelArgs.create().ptr(ya).ptr(mean).ptr(rstd).ptr(xa).ptr(wa).ptr(ba).i32(cols)
                            .i32(flag(FusedLaunch.alignedRows(cols, xa, ya, wa, ba))).f32((float) eps));
        }
    }

    /**
     * dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)), dxhat = dy weight; dweight = sum_r dy xhat and
     * dbias = sum_r dy (overwritten; either may be null), summed per block then over the blocks in order.
     */
    public void layerNormBackward(Tensor dx, Tensor dweight, Tensor dbias, Tensor dy, Tensor x, Tensor weight,
                                  Tensor mean, Tensor rstd) {
        String op = "layerNormBackward";
        try (Inputs in = new Inputs()) {
            Tensor xc = in.contiguous(op, "x", x);
            int cols = lastDim(xc), rows = rows(xc, cols);
            Tensor dyc = in.contiguous(op, "dy", dy);
            Tensor w = weight == null ? null : in.contiguous(op, "weight", weight);
            Tensor mc = in.contiguous(op, "mean", mean);
            Tensor rc = in.contiguous(op, "rstd", rstd);
            requireCount(op, "dy", dyc, xc.numel());
            if (w != null) requireCount(op, "weight", w, cols);
            requireCount(op, "mean", mc, rows);
            requireCount(op, "rstd", rc, rows);
            requireOut(op, "dx", dx, xc.numel());
            if (dweight != null) requireOut(op, "dweight", dweight, cols);
            if (dbias != null) requireOut(op, "dbias", dbias, cols);
            boolean want = dweight != null || dbias != null;
            if (rows == 0 || cols == 0) {
                if (dweight != null) dweight.fill(0);
                if (dbias != null) dbias.fill(0);
                return;
            }
            int threads = FusedLaunch.rowThreads(cols, 1);
            int parts = FusedLaunch.layerNormParts(rows, threads, context.multiprocessors());
            int shared = want ? FusedLaunch.layerNormSharedBytes(cols) : 0;
            long xa = Cuda.address(xc), dxa = Cuda.address(dx), dya = Cuda.address(dyc), wa = address(w);
            boolean vec = FusedLaunch.alignedRows(cols, xa, dxa, dya, wa);
            try (DeviceBuffer partial = want ? context.scratch(8L * cols * parts) : null) {
                long pa = partial == null ? 0L : partial.address();
                context.kernel(LAYER_NORM, "ln_bwd_f32").launch(parts, threads, shared,
                        KernelArgs.create().ptr(dxa).ptr(pa).ptr(dya).ptr(xa).ptr(wa).ptr(mc).ptr(rc).i32(rows)
                                .i32(cols).i32(flag(vec)).i32(flag(want)).i32(flag(shared > 0)));
                if (want) {
                    context.kernel(LAYER_NORM, "ln_bwd_reduce_f32").launch(
                            FusedLaunch.columnsGrid(cols, COLUMN_THREADS), COLUMN_THREADS, 0,
                            KernelArgs.create().ptr(address(dweight)).ptr(address(dbias)).ptr(pa).i32(parts)
                                    .i32(cols));
                }
            }
        }
    }

    // =====================================================================================================
    // GELU (tanh form): x, y, dx, dy any shape, n elements
    // =====================================================================================================

    /** y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as UnaryOp.GELU. */
    public void gelu(Tensor y, Tensor x) {
        String op = "gelu";
        try (Inputs in = new Inputs()) {
            Tensor xc = in.contiguous(op, "x", x);
            int n = xc.numel();
            requireOut(op, "y", y, n);
            if (n == 0) return;
            long xa = Cuda.address(xc), ya = Cuda.address(y);
            context.kernel(GELU, "gelu_fwd_f32").launch(
                    FusedLaunch.elementwiseGrid(n, ELEMENTWISE_THREADS, context.multiprocessors()),
                    ELEMENTWISE_THREADS, 0,
                    KernelArgs.create().ptr(ya).ptr(xa).i32(n).i32(flag(FusedLaunch.aligned16(xa, ya))));
        }
    }

    /** dx = dy gelu'(x), tanh form. */
    public void geluBackward(Tensor dx, Tensor dy, Tensor x) {
        String op = "geluBackward";
        try (Inputs in = new Inputs()) {
            Tensor xc = in.contiguous(op, "x", x);
            Tensor dyc = in.contiguous(op, "dy", dy);
            int n = xc.numel();
            requireCount(op, "dy", dyc, n);
            requireOut(op, "dx", dx, n);
            if (n == 0) return;
            long xa = Cuda.address(xc), dya = Cuda.address(dyc), dxa = Cuda.address(dx);
            context.kernel(GELU, "gelu_bwd_f32").launch(
                    FusedLaunch.elementwiseGrid(n, ELEMENTWISE_THREADS, context.multiprocessors()),
                    ELEMENTWISE_THREADS, 0,
                    KernelArgs.create().ptr(dxa).ptr(dya).ptr(xa).i32(n)
                            .i32(flag(FusedLaunch.aligned16(xa, dya, dxa))));
        }
    }

    // =====================================================================================================
    // embedding backward: dweight [V, C], ids [N] I32, dout [N, C]
    // =====================================================================================================

    /**
     * dweight[ids[n], :] += dout[n, :] without atomics: the ids are read to the host (NnOps reads them there
     * to check them anyway), sorted with their positions into runs of one id ({@link EmbeddingPlan}), and
     * each run's row summed by one block in increasing n, the CPU's order: the CPU's bits, on every run.
     */
    public void embeddingBackward(Tensor dweight, Tensor ids, Tensor dout) {
        String op = "embeddingBackward";
        if (ids.dtype() != DType.I32) throw new IllegalArgumentException(op + ": ids must be I32, found " + describe(ids));
        int vocab = dweight.dim() == 0 ? 0 : dweight.size(0);
        int cols = vocab == 0 ? 0 : dweight.numel() / vocab;
        try (Inputs in = new Inputs()) {
            Tensor d = in.contiguous(op, "dout", dout);
            requireOut(op, "dweight", dweight, dweight.numel());
            int count = ids.numel();
            requireCount(op, "dout", d, (long) count * cols);
            EmbeddingPlan plan = EmbeddingPlan.of(ids.toIntArray(), vocab);
            if (count == 0 || cols == 0) return;
            try (DeviceBuffer words = upload(plan.words())) {
                context.kernel(EMBEDDING, "embedding_bwd_f32").launch(plan.runs(), FusedLaunch.rowThreads(4 * cols, 1), 0,
                        KernelArgs.create().ptr(dweight).ptr(d).ptr(words).i32(count).i32(plan.runs()).i32(cols));
            }
        }
    }

    /** A host int array copied to fresh device memory (the host waits for the copy). */
    private DeviceBuffer upload(int[] words) {
        DeviceBuffer buffer = context.scratch(4L * words.length);
        try (IntPointer host = new IntPointer(words.length)) {
            host.put(words);
            context.upload(buffer.address(), host, 4L * words.length); // waits: the host copy must outlive it
        }
        return buffer;
    }

    // =====================================================================================================
    // AdamW: param, grad, m, v same shape, updated in place
    // =====================================================================================================

    /**
     * One AdamW step in place (decoupled weight decay, bias correction), bit for bit the CPU's update: one
     * grid-stride launch with the tensor's addresses as arguments (no table, no host wait).
     */
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2,
                      double eps, double weightDecay, long step) {
        String op = "adamw";
        if (step < 1) throw new IllegalArgumentException(op + ": step must be >= 1, found " + step);
        try (Inputs in = new Inputs()) {
            int n = param.numel();
            requireOut(op, "param", param, n);
            requireOut(op, "m", m, n);
            requireOut(op, "v", v, n);
            Tensor g = in.contiguous(op, "grad", grad);
            requireCount(op, "grad", g, n);
            if (n == 0) return;
            long pa = Cuda.address(param), ga = Cuda.address(g), ma = Cuda.address(m), va = Cuda.address(v);
            float[] c = adamwConstants(lr, beta1, beta2, eps, weightDecay, step);
            context.kernel(ADAMW, "adamw_one_f32").launch(
                    FusedLaunch.elementwiseGrid(n, ADAMW_THREADS, context.multiprocessors()), ADAMW_THREADS, 0,
                    KernelArgs.create().ptr(pa).ptr(ga).ptr(ma).ptr(va).i32(n)
                            .i32(flag(FusedLaunch.aligned16(pa, ga, ma, va))).f32(c[0]).f32(c[1]).f32(c[2])
                            .f32(c[3]).f32(c[4]).f32(c[5]).f32(c[6]).f32(c[7]));
        }
    }

    /**
     * The kernel's constants {decay, b1, c1, b2, c2, stepSize, invBc2Sqrt, eps}, computed in double and rounded
     * to F32 exactly as CpuNn.adamw does.
     */
    static float[] adamwConstants(double lr, double beta1, double beta2, double eps, double weightDecay, long step) {
        double decay = 1.0 - lr * weightDecay;
        double stepSize = lr / (1.0 - Math.pow(beta1, step));
        double invBc2Sqrt = 1.0 / Math.sqrt(1.0 - Math.pow(beta2, step));
        return new float[] {(float) decay, (float) beta1, (float) (1.0 - beta1), (float) beta2, (float) (1.0 - beta2),
                (float) stepSize, (float) invBc2Sqrt, (float) eps};
    }

    /**
     * One AdamW step over many tensors (all of a model's parameters with the same hyperparameters) in one
     * launch: every tensor is cut into chunks of {@link AdamwTable#CHUNK} elements, one block each, from a
     * table of addresses kept on the device while the same tensors are stepped again (the first step of a new
     * set of tensors uploads it and waits for the copy).
     */
    public void adamw(List<Tensor> params, List<Tensor> grads, List<Tensor> ms, List<Tensor> vs, double lr,
                      double beta1, double beta2, double eps, double weightDecay, long step) {
        String op = "adamw";
        if (step < 1) throw new IllegalArgumentException(op + ": step must be >= 1, found " + step);
        int count = params.size();
        if (grads.size() != count || ms.size() != count || vs.size() != count) {
            throw new IllegalArgumentException(op + ": " + count + " parameters but " + grads.size() + " gradients, "
                    + ms.size() + " first and " + vs.size() + " second moments");
        }
        try (Inputs in = new Inputs()) {
            long[][] addresses = new long[count][];
            int[] sizes = new int[count];
            for (int k = 0; k < count; k++) {
                Tensor p = params.get(k);
                int n = p.numel();
                requireOut(op, "param", p, n);
                requireOut(op, "m", ms.get(k), n);
                requireOut(op, "v", vs.get(k), n);
                Tensor g = in.contiguous(op, "grad", grads.get(k));
                requireCount(op, "grad", g, n);
                addresses[k] = new long[] {Cuda.address(p), Cuda.address(g), Cuda.address(ms.get(k)),
                        Cuda.address(vs.get(k))};
                sizes[k] = n;
            }
            int chunks = 0;
            for (int n : sizes) chunks += AdamwTable.chunks(n);
            if (chunks == 0) return;
            float[] c = adamwConstants(lr, beta1, beta2, eps, weightDecay, step);
            long table = table(addresses, sizes);
            context.kernel(ADAMW, "adamw_f32").launch(chunks, ADAMW_THREADS, 0,
                    KernelArgs.create().ptr(table).f32(c[0]).f32(c[1]).f32(c[2]).f32(c[3]).f32(c[4]).f32(c[5])
                            .f32(c[6]).f32(c[7]));
        }
    }

    /** The device copy of the chunk table for these tensors, uploaded once and kept (LRU). */
    private synchronized long table(long[][] addresses, int[] sizes) {
        TableKey key = new TableKey(addresses, sizes);
        DeviceBuffer cached = tables.get(key);
        if (cached != null) return cached.address();
        byte[] bytes = AdamwTable.build(addresses, sizes);
        DeviceBuffer buffer = context.scratch(bytes.length);
        try (BytePointer host = new BytePointer(bytes.length)) {
            host.put(bytes);
            context.upload(buffer.address(), host, bytes.length); // waits: the host copy must outlive it
        }
        tables.put(key, buffer);
        if (tables.size() > TABLE_CACHE) {
            var eldest = tables.entrySet().iterator().next();
            eldest.getValue().close(); // stream order: a launch already enqueued still reads it first
            tables.remove(eldest.getKey());
        }
        return buffer.address();
    }

    /** Addresses and sizes of a table, compared by value. */
    private static final class TableKey {
        private final long[] flat;
        private final int hash;

        TableKey(long[][] addresses, int[] sizes) {
            flat = new long[addresses.length * 5];
            for (int k = 0; k < addresses.length; k++) {
                System.arraycopy(addresses[k], 0, flat, 5 * k, 4);
                flat[5 * k + 4] = sizes[k];
            }
            hash = Arrays.hashCode(flat);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof TableKey t && Arrays.equals(flat, t.flat);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    // =====================================================================================================
    // checks
    // =====================================================================================================

    /** Contiguous copies made for strided inputs, freed (back to the cache) once the kernels are enqueued. */
    private static final class Inputs implements AutoCloseable {
        private final List<Tensor> copies = new ArrayList<>();

        Tensor contiguous(String op, String name, Tensor t) {
            requireF32(op, name, t);
            return keep(t);
        }

        /** F32 or BF16, contiguous. */
        Tensor floating(String op, String name, Tensor t) {
            if (t.dtype() != DType.F32 && t.dtype() != DType.BF16) {
                throw new UnsupportedOperationException("cuda: " + op + " expects F32 or BF16 " + name + ", found "
                        + t.dtype());
            }
            return keep(t);
        }

        /** F32 contiguous; a BF16 tensor is converted (a temporary copy). */
        Tensor asF32(String op, String name, Tensor t) {
            if (t.dtype() == DType.BF16) {
                Tensor c = t.to(DType.F32);
                copies.add(c);
                return c;
            }
            return contiguous(op, name, t);
        }

        /** out itself when F32, else an F32 temporary that {@link #finish} copies into out. */
        Tensor f32Out(Tensor out) {
            if (out.dtype() == DType.F32) return out;
            Tensor tmp = Tensor.empty(DType.F32, out.device(), out.shape());
            copies.add(tmp);
            return tmp;
        }

        /** Converts an F32 temporary of {@link #f32Out} into its output. */
        void finish(Tensor out, Tensor tmp) {
            if (tmp != out) out.backend().copy(out, tmp);
        }

        /** I32 indices, one per row. */
        Tensor indices(String op, String name, Tensor t, int rows) {
            if (t.dtype() != DType.I32 || t.numel() != rows) {
                throw new IllegalArgumentException(op + ": expected " + name + " as I32 with " + rows
                        + " elements (one per row), found " + describe(t));
            }
            return keep(t);
        }

        private Tensor keep(Tensor t) {
            Tensor c = t.contiguous();
            if (c != t) copies.add(c);
            return c;
        }

        @Override
        public void close() {
            for (Tensor c : copies) c.storage().close();
        }
    }

    private static void requireF32(String op, String name, Tensor t) {
        if (t.dtype() != DType.F32) {
            throw new UnsupportedOperationException("cuda: " + op + " expects F32 " + name + ", found " + t.dtype()
                    + " (the GPU computes in F32; F64 is for CPU gradient checks)");
        }
    }

    /** An output (or in-place operand): contiguous F32 of {@code numel} elements. */
    private static void requireOut(String op, String name, Tensor t, long numel) {
        requireOut(op, name, t, DType.F32, numel);
    }

    /** An output: contiguous, of dtype (F32 or BF16) and {@code numel} elements. */
    private static void requireOut(String op, String name, Tensor t, DType dtype, long numel) {
        if (t.dtype() != dtype || (dtype != DType.F32 && dtype != DType.BF16) || t.numel() != numel
                || !t.isContiguous()) {
            throw new IllegalArgumentException(op + ": expected " + name + " as a contiguous " + dtype + " tensor of "
                    + numel + " elements, found " + describe(t));
        }
    }

    private static void requireCount(String op, String name, Tensor t, long numel) {
        if (t.dtype() != DType.F32 || t.numel() != numel) {
            throw new IllegalArgumentException(op + ": expected " + name + " as F32 with " + numel
                    + " elements, found " + describe(t));
        }
    }

    private static void requirePositive(String op, double temperature) {
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException(op + ": temperature must be a positive finite number, found "
                    + temperature);
        }
    }

    private static String describe(Tensor t) {
        return t.dtype() + Shapes.str(t.shape()) + (t.isContiguous() ? "" : " (strided)") + " on " + t.device();
    }

    private static int lastDim(Tensor t) {
        return t.dim() == 0 ? 1 : t.size(-1);
    }

    private static int rows(Tensor t, int cols) {
        return cols == 0 ? 0 : t.numel() / cols;
    }

    private static long address(Tensor t) {
        return t == null ? 0L : Cuda.address(t);
    }

    private static int flag(boolean b) {
        return b ? 1 : 0;
    }
}
