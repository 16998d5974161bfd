package org.rlhf4j.kernels;

import static org.bytedeco.cuda.global.cudart.*;

import org.bytedeco.cuda.cudart.CUfunc_st;

/**
 * One {@code .entry} of a loaded PTX module, launched on its context's stream. Get one with
 * {@link CudaContext#kernel(String, String)}; launches are asynchronous.
 *
 * <pre>{@code
 * Kernel k = ctx.kernel("elementwise.ptx", "ew_unary_f32");
 * k.launch(blocks, 256, 0, KernelArgs.create().ptr(y).ptr(x).i32(op).i32(n));
 * }</pre>
 */
public final class Kernel {
    private final CudaContext context;
    private final String name;
    private final CUfunc_st function;
    private final java.util.List<PtxSignature.Param> params;

    Kernel(CudaContext context, String name, CUfunc_st function, java.util.List<PtxSignature.Param> params) {
        this.context = context;
        this.name = name;
        this.function = function;
        this.params = params;
    }

    public String name() {
        return name;
    }

    /** A one-dimensional launch: {@code grid} blocks of {@code block} threads, {@code sharedBytes} of dynamic shared memory. */
    public void launch(int grid, int block, int sharedBytes, KernelArgs args) {
        launch(grid, 1, 1, block, 1, 1, sharedBytes, args);
    }

    /**
     * A launch with a 3-d grid and block on the context's stream. Arguments are copied at the call; their number
     * and sizes are checked against the entry's PTX parameters first.
     */
    public void launch(int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ, int sharedBytes,
                       KernelArgs args) {
        if (gridX <= 0 || gridY <= 0 || gridZ <= 0 || blockX <= 0 || blockY <= 0 || blockZ <= 0) {
            throw new IllegalArgumentException(name + ": launch needs positive grid and block sizes, found grid ["
                    + gridX + ", " + gridY + ", " + gridZ + "] block [" + blockX + ", " + blockY + ", " + blockZ + "]");
        }
        PtxSignature.check(name, params, args.sizes());
        if (context.sink() != null) {
            context.sink().launch(name, new int[] {gridX, gridY, gridZ}, new int[] {blockX, blockY, blockZ}, sharedBytes, args);
            return;
        }
        context.makeCurrent();
        KernelArgs.Packed packed = args.pack();
        Driver.check(cuLaunchKernel(function, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes,
                context.stream(), packed.pointers(), null), "cuLaunchKernel(" + name + ")");
    }

    /** Lets a launch use more than 48 KiB of dynamic shared memory (up to the device's limit). */
    public void setMaxDynamicSharedMemory(int bytes) {
        if (context.sink() != null) return; // a driverless test context has no such limit to raise
        context.makeCurrent();
        Driver.check(cuFuncSetAttribute(function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes),
                "cuFuncSetAttribute(" + name + ", MAX_DYNAMIC_SHARED_SIZE_BYTES)");
    }

    /** Registers per thread, as the driver's JIT compiled it. */
    public int registers() {
        return attribute(CU_FUNC_ATTRIBUTE_NUM_REGS, "NUM_REGS");
    }

    /** The largest block this kernel can launch with. */
    public int maxThreadsPerBlock() {
        return attribute(CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, "MAX_THREADS_PER_BLOCK");
    }

    /** Local memory per thread (stack frame and spills), in bytes. */
    public int localBytes() {
        return attribute(CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES, "LOCAL_SIZE_BYTES");
    }

    private int attribute(int attribute, String what) {
        context.makeCurrent();
        int[] value = new int[1];
        Driver.check(cuFuncGetAttribute(value, attribute, function), "cuFuncGetAttribute(" + name + ", " + what + ")");
        return value[0];
    }

    @Override
    public String toString() {
        return "Kernel[" + name + "]";
    }
}
