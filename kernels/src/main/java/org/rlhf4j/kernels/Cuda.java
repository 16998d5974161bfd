package org.rlhf4j.kernels;

import org.rlhf4j.tensor.Backends;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Tensor;

/** Entry points for code that works with CUDA tensors directly (kernel writers, tests, benchmarks). */
public final class Cuda {
    private Cuda() {}

    /** True when the driver loaded and reports at least one GPU. */
    public static boolean isAvailable() {
        return Driver.failure() == null && Driver.deviceCount() > 0;
    }

    /** Why CUDA cannot be used here, or null when it can. */
    public static String unavailableReason() {
        return Driver.failure();
    }

    /** The backend of a CUDA device (opening it on first use). */
    public static CudaBackend backend(Device device) {
        if (device.kind() != Device.Kind.CUDA) throw new IllegalArgumentException("not a CUDA device: " + device);
        return (CudaBackend) Backends.forDevice(device);
    }

    /**
     * The caching allocator's counters of a CUDA device (as PyTorch's {@code torch.cuda.memory_stats}): bytes in
     * use by tensors and scratch buffers, bytes cached for reuse, the peak in use since the device opened or since
     * {@link #resetPeakMemory}, and the raw allocation, free, hit and request counts. Bytes are the allocator's
     * blocks (requests rounded up to their size bin, {@link CachingAllocator#binSize}).
     *
     * @throws IllegalArgumentException for a device that is not a CUDA device
     */
    public static CachingAllocator.Stats memoryStats(Device device) {
        return allocator("memoryStats", device).stats();
    }

    /** Starts peak tracking of a CUDA device over from the bytes in use now (torch.cuda.reset_peak_memory_stats). */
    public static void resetPeakMemory(Device device) {
        allocator("resetPeakMemory", device).resetPeak();
    }

    private static CachingAllocator allocator(String op, Device device) {
        if (device.kind() != Device.Kind.CUDA) {
            throw new IllegalArgumentException(op + ": expected a CUDA device, found " + device
                    + " (the CPU backend keeps no device memory statistics)");
        }
        return backend(device).context().allocator();
    }

    /** The context of the device {@code t} lives on. */
    public static CudaContext context(Tensor t) {
        return backend(t.device()).context();
    }

    /** The device address of {@code t}'s first element: its storage's address plus offset times element size. */
    public static long address(Tensor t) {
        if (!(t.storage() instanceof CudaStorage s)) {
            throw new IllegalArgumentException("expected a tensor on a CUDA device, found one on " + t.device());
        }
        return s.address() + (long) t.offset() * t.dtype().byteSize();
    }
}
