package org.rlhf4j.kernels;

import static org.bytedeco.cuda.global.cudart.*;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUctx_st;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One GPU as rlhf4j drives it: the device's primary context, one stream that every kernel, copy and cuBLAS call
 * of this device runs on (so work is ordered without events), the caching allocator, the cuBLAS handle and the
 * loaded PTX modules. The host waits for the stream only when data leaves the device ({@link #synchronize()}).
 *
 * <p>What a kernel writer needs:
 * <ul>
 *   <li>{@link #kernel(String, String)}: an entry of a PTX resource under {@code org/rlhf4j/kernels/ptx/},
 *       the module loaded with {@code cuModuleLoadData} on first use and cached;
 *   <li>{@link Kernel#launch} with {@link KernelArgs}: tensors ({@link KernelArgs#ptr(org.rlhf4j.tensor.Tensor)}
 *       passes the address of the tensor's first element, its offset included), ints, floats;
 *   <li>{@link #scratch(long)}: temporary device memory from the caching allocator, for try-with-resources;
 *   <li>{@link #multiprocessors()}: to size grids.
 * </ul>
 * Thread-safe: each calling thread makes the context current on first use.
 */
public final class CudaContext {
    private static final Logger LOG = LoggerFactory.getLogger(CudaContext.class);
    /** The resource folder of the PTX modules. */
    public static final String PTX_FOLDER = "/org/rlhf4j/kernels/ptx/";

    private final int ordinal;
    private final CUctx_st context;
    private final CUstream_st stream;
    /** Null on a GPU; in a context made for tests without one, where launches go instead. */
    private final LaunchSink sink;
    /** Null on a GPU; in a test context, where GEMM calls go instead of cuBLAS (null there: GEMM fails). */
    private final GemmExecutor gemmExecutor;
    private final CachingAllocator allocator;
    private final String name;
    private final int multiprocessors;
    private final int computeCapability;
    private final Map<String, CUmod_st> modules = new ConcurrentHashMap<>();
    private final Map<String, String> sources = new ConcurrentHashMap<>();
    private final Map<String, Kernel> kernels = new ConcurrentHashMap<>();
    private final ThreadLocal<Boolean> current = ThreadLocal.withInitial(() -> false);
    private volatile cublasContext blas;
    private DeviceBuffer blasWorkspace;
    /** One device word that index kernels set when they meet an index out of range; read at synchronize. */
    private final DeviceBuffer errorWord;

    private CudaContext(int ordinal) {
        this.ordinal = ordinal;
        this.context = new CUctx_st();
        this.stream = new CUstream_st();
        this.sink = null;
        this.gemmExecutor = null;
        int[] device = new int[1];
        Driver.check(cuDeviceGet(device, ordinal), "cuDeviceGet(" + ordinal + ")");
        Driver.check(cuDevicePrimaryCtxRetain(context, device[0]), "cuDevicePrimaryCtxRetain(" + ordinal + ")");
        makeCurrent();
        Driver.check(cuStreamCreate(stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        byte[] nameBytes = new byte[256];
        Driver.check(cuDeviceGetName(nameBytes, nameBytes.length, device[0]), "cuDeviceGetName");
        int len = 0;
        while (len < nameBytes.length && nameBytes[len] != 0) len++;
        name = new String(nameBytes, 0, len, java.nio.charset.StandardCharsets.US_ASCII);
        multiprocessors = attribute(device[0], CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        computeCapability = attribute(device[0], CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR) * 10
                + attribute(device[0], CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        allocator = new CachingAllocator(new DriverMemory(this));
        errorWord = allocator.allocate(4);
        Driver.check(cuMemsetD32Async(errorWord.address(), 0, 1, stream), "cuMemsetD32Async(error word)");
        LOG.info("cuda:{} is {} (sm_{}, {} multiprocessors)", ordinal, name, computeCapability, multiprocessors);
    }

    /**
     * Where kernel launches go in a context without a driver (tests of the host side on a machine without a
     * GPU): the kernel's name, grid, block, shared bytes and arguments, already checked against its PTX.
     */
    interface LaunchSink {
        void launch(String kernel, int[] grid, int[] block, int sharedBytes, KernelArgs args);

        // A sink that only records launches keeps no data: the memory operations do nothing by default.

        /** Device-to-device copy of {@code bytes} bytes. */
        default void copy(long dst, long src, long bytes) {}

        /** {@code count} elements of {@code elementBytes} (2 or 4) set to the low bits of {@code value}. */
        default void memset(long dst, long value, int elementBytes, long count) {}

        default void upload(long dst, byte[] data) {}

        /** The bytes at src; the default, zeros, keeps the error word clear. */
        default byte[] download(long src, int bytes) {
            return new byte[bytes];
        }
    }

    /**
     * Where GEMM calls go in a context without a driver: exactly the arguments cuBLAS would get (already planned
     * by CudaGemm from the row-major tensors), to record or to compute.
     */
    interface GemmExecutor {
        void gemm(GemmCall call);
    }

    /**
     * A context with no driver behind it, for tests of the host side: memory comes from {@code memory}
     * (addresses only), launches and memory operations go to {@code sink}, GEMM calls to {@code gemm} (when
     * null, GEMM fails saying so).
     */
    CudaContext(int ordinal, RawDeviceMemory memory, LaunchSink sink, GemmExecutor gemm, int multiprocessors) {
        this.ordinal = ordinal;
        this.context = null;
        this.stream = null;
        this.sink = sink;
        this.gemmExecutor = gemm;
        this.name = "launch recorder";
        this.multiprocessors = multiprocessors;
        this.computeCapability = 90;
        this.allocator = new CachingAllocator(memory);
        this.errorWord = allocator.allocate(4);
        sink.memset(errorWord.address(), 0, 4, 1);
    }

    LaunchSink sink() {
        return sink;
    }

    /** Runs a planned GEMM: cuBLAS on the stream, or the executor of a driverless context. */
    void gemm(GemmCall call) {
        if (sink == null) {
            CudaGemm.cublas(this, call);
            return;
        }
        if (gemmExecutor == null) {
            throw new UnsupportedOperationException("cuda:" + ordinal + ": this driverless context has no GEMM executor ("
                    + call.function() + ")");
        }
        gemmExecutor.gemm(call);
    }

    /** Opens device {@code ordinal}; fails with DeviceUnavailableException when it cannot be used. */
    static CudaContext open(int ordinal) {
        Driver.requireDevice(ordinal);
        return new CudaContext(ordinal);
    }

    private static int attribute(int device, int attribute) {
        int[] v = new int[1];
        Driver.check(cuDeviceGetAttribute(v, attribute, device), "cuDeviceGetAttribute(" + attribute + ")");
        return v[0];
    }

    public int ordinal() {
        return ordinal;
    }

    /** The device's name, as the driver reports it. */
    public String name() {
        return name;
    }

    public int multiprocessors() {
        return multiprocessors;
    }

    /** Major * 10 + minor: 80 for A100, 90 for H100/H200. */
    public int computeCapability() {
        return computeCapability;
    }

    /** The one stream of this device; pass it to any library call so that it is ordered with our kernels. */
    public CUstream_st stream() {
        return stream;
    }

    /** The driver context (the device's primary context). */
    public CUctx_st driverContext() {
        return context;
    }

    /** Makes this context current on the calling thread (once per thread). */
    public void makeCurrent() {
        if (sink != null) return;
        if (!current.get()) {
            Driver.check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
            current.set(true);
        }
    }

    public CachingAllocator allocator() {
        return allocator;
    }

    /** Temporary device memory from the caching allocator; close it (try-with-resources) when the kernels are enqueued. */
    public DeviceBuffer scratch(long bytes) {
        makeCurrent();
        return allocator.allocate(bytes);
    }

    /** The entry {@code entry} of the PTX resource {@code ptxFile} (e.g. "elementwise.ptx"), loaded once. */
    public Kernel kernel(String ptxFile, String entry) {
        String key = ptxFile + "#" + entry;
        Kernel k = kernels.get(key);
        if (k != null) return k;
        if (sink != null) {
            String text = sources.computeIfAbsent(ptxFile, f -> new String(read(f), java.nio.charset.StandardCharsets.UTF_8));
            List<PtxSignature.Param> params = PtxSignature.of(text, entry);
            if (params == null) throw new IllegalArgumentException("no readable entry " + entry + " in " + ptxFile);
            k = new Kernel(this, ptxFile + ":" + entry, null, params);
            kernels.put(key, k);
            return k;
        }
        CUmod_st module = module(ptxFile);
        CUfunc_st function = new CUfunc_st();
        makeCurrent();
        Driver.check(cuModuleGetFunction(function, module, entry), "cuModuleGetFunction(" + ptxFile + ", " + entry + ")");
        k = new Kernel(this, ptxFile + ":" + entry, function, PtxSignature.of(sources.get(ptxFile), entry));
        kernels.put(key, k);
        return k;
    }

    /** The module of a PTX resource, JIT-compiled by the driver on first use and cached. */
    public CUmod_st module(String ptxFile) {
        return modules.computeIfAbsent(ptxFile, this::load);
    }

    private static byte[] read(String ptxFile) {
        try (InputStream in = CudaContext.class.getResourceAsStream(PTX_FOLDER + ptxFile)) {
            if (in == null) throw new IllegalArgumentException("no PTX resource " + PTX_FOLDER + ptxFile);
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read PTX resource " + ptxFile, e);
        }
    }

    private CUmod_st load(String ptxFile) {
        byte[] text = read(ptxFile);
        sources.put(ptxFile, new String(text, java.nio.charset.StandardCharsets.UTF_8));
        makeCurrent();
        CUmod_st module = new CUmod_st();
        try (BytePointer image = new BytePointer(text.length + 1)) {
            image.put(text, 0, text.length).put(text.length, (byte) 0);
            Driver.check(cuModuleLoadData(module, image), "cuModuleLoadData(" + ptxFile + ")");
        }
        return module;
    }

    /** The cuBLAS handle of this device, bound to its stream, with a 32 MiB workspace. */
    public cublasContext cublas() {
        cublasContext h = blas;
        if (h != null) return h;
        synchronized (this) {
            if (blas == null) {
                makeCurrent();
                cublasContext handle = new cublasContext();
                Driver.checkBlas(cublas.cublasCreate_v2(handle), "cublasCreate");
                Driver.checkBlas(cublas.cublasSetStream_v2(handle, stream), "cublasSetStream");
                blasWorkspace = allocator.allocate(32L << 20);
                Driver.checkBlas(cublas.cublasSetWorkspace_v2(handle, new DevicePointer(blasWorkspace.address()),
                        blasWorkspace.bytes()), "cublasSetWorkspace");
                blas = handle;
            }
            return blas;
        }
    }

    /** Waits for every kernel and copy enqueued so far; raises an index error a kernel recorded. */
    public void synchronize() {
        if (sink != null) {
            byte[] w = sink.download(errorWord.address(), 4);
            int word = (w[0] & 0xFF) | (w[1] & 0xFF) << 8 | (w[2] & 0xFF) << 16 | (w[3] & 0xFF) << 24;
            if (word != 0) {
                sink.memset(errorWord.address(), 0, 4, 1);
                throw new IndexOutOfBoundsException("cuda:" + ordinal + ": " + IndexErrors.describe(word)
                        + " (found on the device; the offending elements were skipped)");
            }
            return;
        }
        makeCurrent();
        Driver.check(cuStreamSynchronize(stream), "cuStreamSynchronize");
        int[] word = new int[1];
        try (Pointer host = new org.bytedeco.javacpp.IntPointer(1)) {
            Driver.check(cuMemcpyDtoH(host, errorWord.address(), 4), "cuMemcpyDtoH(error word)");
            word[0] = ((org.bytedeco.javacpp.IntPointer) host).get();
        }
        if (word[0] != 0) {
            Driver.check(cuMemsetD32Async(errorWord.address(), 0, 1, stream), "cuMemsetD32Async(error word)");
            Driver.check(cuStreamSynchronize(stream), "cuStreamSynchronize");
            throw new IndexOutOfBoundsException("cuda:" + ordinal + ": " + IndexErrors.describe(word[0])
                    + " (found on the device; the offending elements were skipped)");
        }
    }

    // ---- memory operations on the stream (or, in a test context, handed to its sink) ----

    /** Device-to-device copy on the stream. */
    void copyDeviceToDevice(long dst, long src, long bytes) {
        if (sink != null) {
            sink.copy(dst, src, bytes);
            return;
        }
        makeCurrent();
        Driver.check(cuMemcpyDtoDAsync(dst, src, bytes, stream), "cuMemcpyDtoDAsync");
    }

    /** Sets count 4-byte (or 2-byte) elements to value on the stream. */
    void memset(long dst, long value, int elementBytes, long count) {
        if (sink != null) {
            sink.memset(dst, value, elementBytes, count);
            return;
        }
        makeCurrent();
        if (elementBytes == 4) {
            Driver.check(cuMemsetD32Async(dst, (int) value, count, stream), "cuMemsetD32Async");
        } else {
            Driver.check(cuMemsetD16Async(dst, (short) value, count, stream), "cuMemsetD16Async");
        }
    }

    /** Copies bytes from host memory to the device and waits for the copy (the host memory may go after). */
    public void upload(long dst, Pointer host, long bytes) {
        if (sink != null) {
            byte[] data = new byte[(int) bytes];
            new BytePointer(host).capacity(bytes).limit(bytes).get(data);
            sink.upload(dst, data);
            return;
        }
        makeCurrent();
        Driver.check(cuMemcpyHtoDAsync(dst, host, bytes, stream), "cuMemcpyHtoDAsync");
        Driver.check(cuStreamSynchronize(stream), "cuStreamSynchronize");
    }

    /** Copies bytes from the device into host memory once the stream's work is done (raises index errors). */
    void download(Pointer host, long src, long bytes) {
        if (sink != null) {
            byte[] data = sink.download(src, (int) bytes);
            new BytePointer(host).capacity(bytes).limit(bytes).put(data);
            synchronize();
            return;
        }
        makeCurrent();
        Driver.check(cuMemcpyDtoHAsync(host, src, bytes, stream), "cuMemcpyDtoHAsync");
        synchronize();
    }

    /** The device word index kernels set on an out-of-range index (see {@link IndexErrors}). */
    public long errorWordAddress() {
        return errorWord.address();
    }

    /** Free and total device memory, in bytes, as the driver reports it. */
    public long[] memoryInfo() {
        makeCurrent();
        try (SizeTPointer free = new SizeTPointer(1); SizeTPointer total = new SizeTPointer(1)) {
            Driver.check(cuMemGetInfo(free, total), "cuMemGetInfo");
            return new long[] {free.get(), total.get()};
        }
    }

    /** A javacpp pointer object over a raw device address (for library calls that take a pointer). */
    static final class DevicePointer extends Pointer {
        DevicePointer(long address) {
            this.address = address;
        }
    }

    /** cuMemAlloc / cuMemFree on this context. */
    private static final class DriverMemory implements RawDeviceMemory {
        private final CudaContext context;

        DriverMemory(CudaContext context) {
            this.context = context;
        }

        @Override
        public long allocate(long bytes) {
            context.makeCurrent();
            long[] address = new long[1];
            int rc = cuMemAlloc(address, bytes);
            if (rc == CUDA_ERROR_OUT_OF_MEMORY) {
                throw new OutOfDeviceMemoryException("cuda:" + context.ordinal + ": out of memory allocating "
                        + bytes + " bytes");
            }
            Driver.check(rc, "cuMemAlloc(" + bytes + ")");
            return address[0];
        }

        @Override
        public void free(long address) {
            context.makeCurrent();
            // a cached block may still be read by enqueued kernels: wait before giving it to the driver
            Driver.check(cuStreamSynchronize(context.stream), "cuStreamSynchronize");
            Driver.check(cuMemFree(address), "cuMemFree");
        }
    }
}
