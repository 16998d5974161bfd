package org.rlhf4j.kernels;


import org.bytedeco.cuda.global.cublas;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.ShortPointer;
import org.rlhf4j.kernels.attention.CudaAttention;
import org.rlhf4j.kernels.nn.CudaFused;
import org.rlhf4j.tensor.BFloat16;
import org.rlhf4j.tensor.Backend;
import org.rlhf4j.tensor.BinaryOp;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.ReduceOp;
import org.rlhf4j.tensor.Storage;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.tensor.TernaryOp;
import org.rlhf4j.tensor.UnaryOp;
import org.rlhf4j.tensor.cpu.CpuStorage;

/**
 * The Backend SPI on one NVIDIA GPU: memory through the {@link CachingAllocator}, GEMM through cuBLAS, and the
 * rest through the hand-written PTX kernels under {@code org/rlhf4j/kernels/ptx/}. Every call enqueues work on the
 * device's one stream and returns; only {@link #copyToHost} waits. Compute ops take F32 (GEMM also F64 and BF16
 * inputs); copy, fill and conversion take F32, F64, I32 and BF16; other dtypes fail with a message naming the op.
 *
 * <p>Fused NN ops are delegated to {@link CudaFused}, attention to {@link CudaAttention}.
 */
public final class CudaBackend implements Backend {
    /** System property: {@code true} lets F32 GEMM use TF32 tensor cores (about 1e-3 relative error). */
    public static final String TF32_PROPERTY = "rlhf4j.cuda.tf32";

    static final String ELEMENTWISE = "elementwise.ptx", REDUCE = "reduce.ptx", INDEX = "index.ptx",
            RANDOM = "philox.ptx";
    static final int BLOCK = 256;
    /** Op code of clamp in ew_unary_f32 (after the UnaryOp ordinals). */
    static final int CLAMP = 100;
    /** dtype codes of copy_convert. */
    static final int T_F32 = 0, T_F64 = 1, T_I32 = 2, T_BF16 = 3;

    private final Device device;
    private final CudaContext context;
    private final CudaFused fused;
    private final CudaAttention attention;
    private volatile boolean tf32 = Boolean.getBoolean(TF32_PROPERTY);

    CudaBackend(CudaContext context) {
        this.context = context;
        this.device = Device.of(Device.Kind.CUDA, context.ordinal());
        this.fused = new CudaFused(context);
        this.attention = new CudaAttention(context);
    }

    /** The device's context: stream, allocator, modules, cuBLAS. */
    public CudaContext context() {
        return context;
    }

    /** Whether F32 GEMM may use TF32 tensor cores. */
    public boolean tf32() {
        return tf32;
    }

    public void setTf32(boolean enabled) {
        tf32 = enabled;
    }

    @Override
    public Device device() {
        return device;
    }

    // ---- helpers ----

    private static int typeCode(String op, DType t) {
        switch (t) {
            case F32: return T_F32;
            case F64: return T_F64;
            case I32: return T_I32;
            case BF16: return T_BF16;
            default: throw new UnsupportedOperationException("cuda: " + op + " does not support " + t);
        }
    }

    private static void requireF32(String op, Tensor... ts) {
        for (Tensor t : ts) {
            if (t.dtype() != DType.F32) {
                throw new UnsupportedOperationException("cuda: " + op + " expects F32 tensors, found " + t.dtype()
                        + " (the GPU computes in F32; F64 is for CPU gradient checks)");
            }
        }
    }

    private int grid(long n) {
        long blocks = (n + BLOCK - 1) / BLOCK;
        return (int) Math.max(1, Math.min(blocks, (long) context.multiprocessors() * 16));
    }

    private Kernel k(String file, String entry) {
        return context.kernel(file, entry);
    }

    // ---- memory ----

    @Override
    public Storage allocate(DType dtype, int size) {
        DeviceBuffer buffer = context.scratch((long) size * dtype.byteSize());
        CudaStorage storage = new CudaStorage(dtype, device, size, buffer);
        CudaScope.track(storage);
        return storage;
    }

    @Override
    public void copy(Tensor dst, Tensor src) {
        int n = dst.numel();
        if (n == 0) return;
        if (dst.dtype() == src.dtype() && dst.isContiguous() && src.isContiguous()) {
            context.copyDeviceToDevice(Cuda.address(dst), Cuda.address(src), (long) n * dst.dtype().byteSize());
            return;
        }
        copyKernel(dst, src);
    }

    /** The strided copy/convert kernel, never the driver's memcpy (the benchmarks time both). */
    void copyKernel(Tensor dst, Tensor src) {
        int n = dst.numel();
        if (n == 0) return;
        Geometry g = Geometry.of(dst, src);
        k(ELEMENTWISE, "copy_convert").launch(grid(n), BLOCK, 0, KernelArgs.create().ptr(dst).ptr(src)
                .i32(typeCode("copy", dst.dtype())).i32(typeCode("copy", src.dtype())).i32(n).ints(g.param()));
    }

    static long bits(DType t, double value) {
        switch (t) {
            case F32: return Float.floatToRawIntBits((float) value) & 0xFFFFFFFFL;
            case F64: return Double.doubleToRawLongBits(value);
            case I32: return ((int) value) & 0xFFFFFFFFL;
            default: return BFloat16.fromFloat((float) value) & 0xFFFFL;
        }
    }

    @Override
    public void fill(Tensor dst, double value) {
        int n = dst.numel();
        if (n == 0) return;
        typeCode("fill", dst.dtype());
        long bits = bits(dst.dtype(), value);
        int esize = dst.dtype().byteSize();
        if (dst.isContiguous() && (esize == 4 || esize == 2)) {
            context.memset(Cuda.address(dst), bits, esize, n);
            return;
        }
        Geometry g = Geometry.of(dst);
        k(ELEMENTWISE, "fill").launch(grid(n), BLOCK, 0,
                KernelArgs.create().ptr(dst).i32(esize).i64(bits).i32(n).ints(g.param()));
    }

    /** Host memory holding a contiguous CPU tensor's elements (a copy, freed by the caller). */
    private static Pointer hostCopy(Tensor host) {
        CpuStorage s = (CpuStorage) host.storage();
        int off = host.offset(), n = host.numel();
        switch (host.dtype()) {
            case F32: return new FloatPointer(n).put(s.floats(), off, n);
            case F64: return new DoublePointer(n).put(s.doubles(), off, n);
            case I32: return new IntPointer(n).put(s.ints(), off, n);
            default: return new ShortPointer(n).put(s.bf16(), off, n);
        }
    }

    private static void hostStore(Tensor host, Pointer from) {
        CpuStorage s = (CpuStorage) host.storage();
        int off = host.offset(), n = host.numel();
        switch (host.dtype()) {
            case F32: ((FloatPointer) from).get(s.floats(), off, n); break;
            case F64: ((DoublePointer) from).get(s.doubles(), off, n); break;
            case I32: ((IntPointer) from).get(s.ints(), off, n); break;
            default: ((ShortPointer) from).get(s.bf16(), off, n); break;
        }
    }

    private static Pointer hostBuffer(DType t, int n) {
        switch (t) {
            case F32: return new FloatPointer(n);
            case F64: return new DoublePointer(n);
            case I32: return new IntPointer(n);
            default: return new ShortPointer(n);
        }
    }

    @Override
    public void copyFromHost(Tensor dst, Tensor hostSrc) {
        int n = dst.numel();
        if (n == 0) return;
        typeCode("copyFromHost", dst.dtype());
        Tensor host = hostSrc.contiguous();
        Tensor target = dst.isContiguous() ? dst : Tensor.empty(dst.dtype(), device, dst.shape());
        try (Pointer staging = hostCopy(host)) {
            // waits for the transfer: the staging copy is freed right after
            context.upload(Cuda.address(target), staging, (long) n * dst.dtype().byteSize());
        }
        if (target != dst) {
            copy(dst, target);
            target.storage().close();
        }
    }

    @Override
    public void copyToHost(Tensor hostDst, Tensor src) {
        int n = src.numel();
        if (n == 0) return;
        typeCode("copyToHost", src.dtype());
        Tensor from = src.contiguous();
        Tensor host = hostDst.isContiguous() ? hostDst : Tensor.empty(hostDst.dtype(), hostDst.shape());
        try (Pointer staging = hostBuffer(src.dtype(), n)) {
            context.download(staging, Cuda.address(from), (long) n * src.dtype().byteSize());
            hostStore(host, staging);
        } finally {
            if (from != src) from.storage().close();
        }
        if (host != hostDst) org.rlhf4j.tensor.Backends.cpu().copy(hostDst, host);
    }

    /** Waits for all work enqueued on this device. */
    public void synchronize() {
        context.synchronize();
    }

    // ---- elementwise ----

    @Override
    public void unary(UnaryOp op, Tensor dst, Tensor src) {
        requireF32("unary " + op, dst, src);
        unaryLaunch(op.ordinal(), dst, src, 0f, 0f);
    }

    private void unaryLaunch(int op, Tensor dst, Tensor src, float p0, float p1) {
        int n = dst.numel();
        if (n == 0) return;
        Geometry g = Geometry.of(dst, src);
        k(ELEMENTWISE, "ew_unary_f32").launch(grid(n), BLOCK, 0, KernelArgs.create().ptr(dst).ptr(src).i32(op)
                .i32(n).f32(p0).f32(p1).ints(g.param()));
    }

    @Override
    public void binary(BinaryOp op, Tensor dst, Tensor a, Tensor b) {
        requireF32("binary " + op, dst, a, b);
        int n = dst.numel();
        if (n == 0) return;
        Geometry g = Geometry.of(dst, a, b);
        k(ELEMENTWISE, "ew_binary_f32").launch(grid(n), BLOCK, 0, KernelArgs.create().ptr(dst).ptr(a).ptr(b)
                .i32(op.ordinal()).i32(n).i32(0).f32(0f).ints(g.param()));
    }

    @Override
    public void binaryScalar(BinaryOp op, Tensor dst, Tensor a, double scalar) {
        requireF32("binaryScalar " + op, dst, a);
        int n = dst.numel();
        if (n == 0) return;
        // b is a with stride 0 everywhere: never read, the scalar stands in
        Geometry g = Geometry.of(dst, a, a);
        k(ELEMENTWISE, "ew_binary_f32").launch(grid(n), BLOCK, 0, KernelArgs.create().ptr(dst).ptr(a).ptr(a)
                .i32(op.ordinal()).i32(n).i32(1).f32((float) scalar).ints(g.param()));
    }

    @Override
    public void ternary(TernaryOp op, Tensor dst, Tensor a, Tensor b, Tensor c) {
        requireF32("ternary " + op, dst, a, b, c);
        int n = dst.numel();
        if (n == 0) return;
        Geometry g = Geometry.of(dst, a, b, c);
        k(ELEMENTWISE, "ew_ternary_f32").launch(grid(n), BLOCK, 0, KernelArgs.create().ptr(dst).ptr(a).ptr(b)
                .ptr(c).i32(op.ordinal()).i32(n).ints(g.param()));
    }

    @Override
    public void clamp(Tensor dst, Tensor src, double min, double max) {
        requireF32("clamp", dst, src);
        unaryLaunch(CLAMP, dst, src, (float) min, (float) max);
    }

    // ---- reductions ----

    /** [outer, len, inner] of a shape reduced along axis. */
    private static int[] outerAxisInner(int[] shape, int axis) {
        int outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= shape[d];
        for (int d = axis + 1; d < shape.length; d++) inner *= shape[d];
        return new int[] {outer, shape[axis], inner};
    }

    @Override
    public void reduce(ReduceOp op, Tensor dst, Tensor src, int axis) {
        requireF32("reduce " + op, dst, src);
        reduceLaunch(op.ordinal(), op == ReduceOp.MEAN, dst, src, axis, false);
    }

    @Override
    public void argmax(Tensor dst, Tensor src, int axis) {
        requireF32("argmax", src);
        if (dst.dtype() != DType.I32) throw new IllegalArgumentException("argmax: dst must be I32, found " + dst.dtype());
        reduceLaunch(0, false, dst, src, axis, true);
    }

    private void reduceLaunch(int op, boolean mean, Tensor dst, Tensor src, int axis, boolean argmax) {
        if (dst.numel() == 0) return;
        Tensor x = src.contiguous();
        Tensor y = dst.isContiguous() ? dst : Tensor.empty(dst.dtype(), device, dst.shape());
        int[] oai = outerAxisInner(x.shape(), axis);
        int outer = oai[0], len = oai[1], inner = oai[2];
        float scale = mean ? 1f / len : 1f;
        String suffix = argmax ? "argmax" : "reduce";
        // Few outputs over a long axis would leave most of the GPU idle: split the axis into c parts (c divides
        // len), reduce each part, then reduce the c partial results. Not for argmax, whose partials need indices.
        int sms = context.multiprocessors();
        int parts = 1;
        if (!argmax && inner == 1 && outer < 4 * sms && len >= 1 << 16) {
            parts = divisorAtMost(len, Math.max(2, 8 * sms / outer));
        } else if (!argmax && inner > 1 && (long) outer * inner < 1024L * sms && len >= 64) {
            parts = divisorAtMost(len, (int) Math.max(2, 2048L * sms / ((long) outer * inner)));
        }
        if (parts > 1) {
            int firstOp = op == ReduceOp.MEAN.ordinal() ? ReduceOp.SUM.ordinal() : op;
            Tensor partial = Tensor.empty(DType.F32, device, outer * parts * inner);
            reduceKernel(suffix, inner, partial, x, firstOp, outer * parts, len / parts, 1f);
            reduceKernel(suffix, inner, y, partial, op, outer, parts, scale);
            partial.storage().close();
        } else {
            reduceKernel(suffix, inner, y, x, op, outer, len, scale);
        }
        if (x != src) x.storage().close();
        if (y != dst) {
            copy(dst, y);
            y.storage().close();
        }
    }

    /** y = op over the middle axis of x [outer, len, inner] (contiguous), times scale. */
    private void reduceKernel(String suffix, int inner, Tensor y, Tensor x, int op, int outer, int len, float scale) {
        if (inner == 1) {
            k(REDUCE, suffix + "_rows_f32").launch(Math.min(outer, 65535 * 16), BLOCK, 0, KernelArgs.create().ptr(y)
                    .ptr(x).i32(op).i32(outer).i32(len).f32(scale));
        } else {
            long columns = (long) outer * inner;
            k(REDUCE, suffix + "_cols_f32").launch(grid(columns), BLOCK, 0, KernelArgs.create().ptr(y).ptr(x)
                    .i32(op).i32(outer).i32(len).i32(inner).f32(scale));
        }
    }

    /** The largest divisor of n in [2, limit], or 1 when there is none. */
    static int divisorAtMost(int n, int limit) {
        for (int d = Math.min(limit, n / 2); d >= 2; d--) {
            if (n % d == 0) return d;
        }
        return 1;
    }

    // ---- linear algebra ----

    @Override
    public void gemm(Tensor c, Tensor a, Tensor b, double alpha, double beta) {
        CudaGemm.gemm(this, c, a, b, alpha, beta);
    }

    // ---- indexing ----

    /** A view of t with the shape of {@code like} and t's strides, except a zero stride along {@code axis}. */
    private static Tensor alongAxisView(Tensor t, Tensor like, int axis) {
        int[] strides = new int[t.dim()];
        for (int i = 0; i < strides.length; i++) strides[i] = i == axis ? 0 : t.stride(i);
        return t.asStrided(like.shape(), strides, t.offset());
    }

    @Override
    public void gather(Tensor dst, Tensor src, int axis, Tensor index) {
        int n = dst.numel();
        if (n == 0) return;
        if (src.dtype() != dst.dtype()) {
            throw new IllegalArgumentException("gather: dst " + dst.dtype() + " and src " + src.dtype() + " differ");
        }
        typeCode("gather", src.dtype());
        Geometry g = Geometry.of(dst, index, alongAxisView(src, index, axis));
        k(INDEX, "gather").launch(grid(n), BLOCK, 0, KernelArgs.create().ptr(dst).ptr(index).ptr(src)
                .i32(src.dtype().byteSize()).i32(n).i32(src.stride(axis)).i32(src.size(axis))
                .ptr(context.errorWordAddress()).ints(g.param()));
    }

    @Override
    public void scatterAdd(Tensor dst, int axis, Tensor index, Tensor src) {
        int n = src.numel();
        if (n == 0) return;
        if (!(dst.dtype() == DType.F32 && src.dtype() == DType.F32) && !(dst.dtype() == DType.F64 && src.dtype() == DType.F64)) {
            throw new UnsupportedOperationException("cuda: scatterAdd expects F32 or F64 tensors of one dtype, found "
                    + dst.dtype() + " and " + src.dtype());
        }
        Geometry g = Geometry.of(alongAxisView(dst, index, axis), index, src);
        k(INDEX, "scatter_add").launch(grid(n), BLOCK, 0, KernelArgs.create().ptr(dst).ptr(index).ptr(src)
                .i32(dst.dtype() == DType.F64 ? 1 : 0).i32(n).i32(dst.stride(axis)).i32(dst.size(axis))
                .ptr(context.errorWordAddress()).ints(g.param()));
    }

    @Override
    public void indexSelect(Tensor dst, Tensor src, int axis, Tensor index) {
        int n = dst.numel();
        if (n == 0) return;
        if (src.dtype() != dst.dtype()) {
            throw new IllegalArgumentException("indexSelect: dst " + dst.dtype() + " and src " + src.dtype() + " differ");
        }
        typeCode("indexSelect", src.dtype());
        Geometry g = Geometry.keeping(axis, dst, alongAxisView(src, dst, axis));
        k(INDEX, "index_select").launch(grid(n), BLOCK, 0, KernelArgs.create().ptr(dst).ptr(src).ptr(index)
                .i32(index.stride(0)).i32(src.dtype().byteSize()).i32(n).i32(g.keptDim()).i32(src.stride(axis))
                .i32(src.size(axis)).ptr(context.errorWordAddress()).ints(g.param()));
    }

    // ---- random ----

    @Override
    public void uniform(Tensor dst, long seed, long offset, double lo, double hi) {
        requireF32("uniform", dst);
        float l = (float) lo, h = (float) hi;
        float range = h - l;
        if (!(l <= h) || !Float.isFinite(range)) {
            throw new IllegalArgumentException("uniform: expected finite bounds with lo <= hi, found lo=" + lo + ", hi=" + hi);
        }
        random(dst, "philox_uniform_f32", KernelArgs.create().i64(seed).i64(offset).f32(l).f32(range).f32(h)
                .f32(Math.nextDown(h)));
    }

    @Override
    public void normal(Tensor dst, long seed, long offset, double mean, double std) {
        requireF32("normal", dst);
        float m = (float) mean, s = (float) std;
        if (!Double.isFinite(m) || !(s >= 0) || !Double.isFinite(s)) {
            throw new IllegalArgumentException("normal: expected a finite mean and a finite std >= 0, found mean="
                    + mean + ", std=" + std);
        }
        random(dst, "philox_normal_f32", KernelArgs.create().i64(seed).i64(offset).f64(m).f64(s));
    }

    private void random(Tensor dst, String entry, KernelArgs tail) {
        int n = dst.numel();
        if (n == 0) return;
        Tensor out = dst.isContiguous() ? dst : Tensor.empty(dst.dtype(), device, dst.shape());
        long blocks = (n + 3L) / 4;
        KernelArgs args = KernelArgs.create().ptr(out).i32(n);
        k(RANDOM, entry).launch(grid(blocks), BLOCK, 0, args.append(tail));
        if (out != dst) {
            copy(dst, out);
            out.storage().close();
        }
    }

    // ---- fused NN ops: CudaFused and CudaAttention ----

    @Override
    public void softmax(Tensor y, Tensor x, boolean log) {
        fused.softmax(y, x, log);
    }

    @Override
    public void softmaxBackward(Tensor dx, Tensor dy, Tensor y, boolean log) {
        fused.softmaxBackward(dx, dy, y, log);
    }

    @Override
    public void tokenLogProbs(Tensor logp, Tensor lse, Tensor logits, Tensor targets, double temperature) {
        fused.tokenLogProbs(logp, lse, logits, targets, temperature);
    }

    @Override
    public void tokenLogProbsBackward(Tensor dlogits, Tensor g, Tensor logits, Tensor targets, Tensor lse,
                                      double temperature) {
        fused.tokenLogProbsBackward(dlogits, g, logits, targets, lse, temperature);
    }

    @Override
    public void layerNorm(Tensor y, Tensor mean, Tensor rstd, Tensor x, Tensor weight, Tensor bias, double eps) {
        fused.layerNorm(y, mean, rstd, x, weight, bias, eps);
    }

    @Override
    public void layerNormBackward(Tensor dx, Tensor dweight, Tensor dbias, Tensor dy, Tensor x, Tensor weight,
                                  Tensor mean, Tensor rstd) {
        fused.layerNormBackward(dx, dweight, dbias, dy, x, weight, mean, rstd);
    }

    @Override
    public void geluBackward(Tensor dx, Tensor dy, Tensor x) {
        fused.geluBackward(dx, dy, x);
    }

    @Override
    public void attention(Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v, Tensor mask, double scale) {
        attention.attention(out, lse, q, k, v, mask, scale);
    }

    @Override
    public void attentionBackward(Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k, Tensor v,
                                  Tensor out, Tensor lse, Tensor mask, double scale) {
        attention.attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, mask, scale);
    }

    @Override
    public void embeddingBackward(Tensor dweight, Tensor ids, Tensor dout) {
        fused.embeddingBackward(dweight, ids, dout);
    }

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2,
                      double eps, double weightDecay, long step) {
        fused.adamw(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step);
    }

    /** All the parameters in one launch of the multi-tensor kernel. */
    @Override
    public void adamw(java.util.List<Tensor> params, java.util.List<Tensor> grads, java.util.List<Tensor> ms,
                      java.util.List<Tensor> vs, double lr, double beta1, double beta2, double eps, double weightDecay,
                      long step) {
        fused.adamw(params, grads, ms, vs, lr, beta1, beta2, eps, weightDecay, step);
    }

    @Override
    public String toString() {
        return "CudaBackend[" + device + ", " + context.name() + "]";
    }

    static Pointer at(long address) {
        return new CudaContext.DevicePointer(address);
    }

    static int blasOp(boolean transpose) {
        return transpose ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N;
    }
}
