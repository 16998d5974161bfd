package org.rlhf4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Tensor;

/** Device memory statistics through the public API, on the recording device (fake memory, real allocator). */
class MemoryStatsTest {
    @Test
    void statsFollowTensorsAndThePeakResets() {
        Device dev = TestDevices.recording();
        assertEquals(Device.of(Device.Kind.CUDA, 7), dev);
        Cuda.resetPeakMemory(dev);
        CachingAllocator.Stats before = Cuda.memoryStats(dev);
        assertEquals(before.bytesInUse(), before.peakBytesInUse());
        Tensor big = Tensor.empty(DType.F32, dev, 1000, 1000); // 4 MB: one 2 MiB-rounded block
        long block = CachingAllocator.binSize(4_000_000);
        CachingAllocator.Stats during = Cuda.memoryStats(dev);
        assertEquals(before.bytesInUse() + block, during.bytesInUse());
        assertEquals(during.bytesInUse(), during.peakBytesInUse());
        assertEquals(before.requests() + 1, during.requests());
        big.storage().close();
        CachingAllocator.Stats after = Cuda.memoryStats(dev);
        assertEquals(before.bytesInUse(), after.bytesInUse());
        assertEquals(during.peakBytesInUse(), after.peakBytesInUse(), "the peak stays until it is reset");
        assertTrue(after.bytesCached() >= block, "the freed block is cached");
        assertEquals(after.bytesInUse() + after.bytesCached(), after.bytesReserved());
        Cuda.resetPeakMemory(dev);
        assertEquals(after.bytesInUse(), Cuda.memoryStats(dev).peakBytesInUse());
        // the cached block serves the next tensor of its size: a hit, no new raw allocation
        Tensor again = Tensor.empty(DType.F32, dev, 1000, 1000);
        CachingAllocator.Stats reused = Cuda.memoryStats(dev);
        assertEquals(after.rawAllocations(), reused.rawAllocations());
        assertEquals(after.cacheHits() + 1, reused.cacheHits());
        again.storage().close();
    }

    @Test
    void aNonCudaDeviceIsRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Cuda.memoryStats(Device.CPU));
        assertTrue(e.getMessage().contains("memoryStats: expected a CUDA device, found cpu"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Cuda.resetPeakMemory(Device.CPU));
        assertTrue(e.getMessage().startsWith("resetPeakMemory"), e.getMessage());
    }
}
