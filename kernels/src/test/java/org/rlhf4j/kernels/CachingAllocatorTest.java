package org.rlhf4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The caching allocator's binning, reuse and memory behaviour, on a fake device (no GPU needed). */
class CachingAllocatorTest {
    @Test
    void binsRoundSmallRequestsTo512BytesAndLargeOnesTo2MiB() {
        assertEquals(512, CachingAllocator.binSize(0));
        assertEquals(512, CachingAllocator.binSize(1));
        assertEquals(512, CachingAllocator.binSize(512));
        assertEquals(1024, CachingAllocator.binSize(513));
        assertEquals(1L << 20, CachingAllocator.binSize(1L << 20));
        assertEquals(2L << 20, CachingAllocator.binSize((1L << 20) + 1));
        assertEquals(4L << 20, CachingAllocator.binSize((2L << 20) + 1));
        assertThrows(IllegalArgumentException.class, () -> CachingAllocator.binSize(-1));
    }

    @Test
    void aFreedBlockIsReusedWithoutAskingTheDevice() {
        FakeDeviceMemory device = new FakeDeviceMemory(1L << 30);
        CachingAllocator allocator = new CachingAllocator(device);
        DeviceBuffer a = allocator.allocate(1000);
        long address = a.address();
        a.close();
        DeviceBuffer b = allocator.allocate(900); // same 1024-byte bin
        assertEquals(address, b.address());
        assertEquals(1, device.allocations);
        assertEquals(1, allocator.stats().cacheHits());
        DeviceBuffer c = allocator.allocate(900); // b is in use: a new block
        assertNotEquals(b.address(), c.address());
        assertEquals(2, device.allocations);
        b.close();
        c.close();
        b.close(); // closing twice is harmless and returns nothing twice
        assertEquals(0, allocator.stats().bytesInUse());
        assertEquals(2048, allocator.stats().bytesCached());
        assertThrows(IllegalStateException.class, b::address);
    }

    @Test
    void smallRequestsNeedTheirOwnBinAndLargeOnesTakeABlockOfAtMostTwiceTheirBin() {
        FakeDeviceMemory device = new FakeDeviceMemory(1L << 30);
        CachingAllocator allocator = new CachingAllocator(device);
        allocator.allocate(4096).close();
        allocator.allocate(1024).close(); // a smaller small request does not take the 4096-byte block
        assertEquals(2, device.allocations);
        allocator.allocate(6L << 20).close();
        DeviceBuffer large = allocator.allocate(4L << 20); // 6 MiB <= 2 x 4 MiB: reused
        assertEquals(3, device.allocations);
        assertEquals(6L << 20, large.blockBytes());
        large.close();
        allocator.allocate(2L << 20).close(); // 6 MiB > 2 x 2 MiB: a new block
        assertEquals(4, device.allocations);
    }

    @Test
    void outOfMemoryFreesTheCacheAndRetriesOnce() {
        FakeDeviceMemory device = new FakeDeviceMemory(9L << 20);
        CachingAllocator allocator = new CachingAllocator(device);
        allocator.allocate(8L << 20).close(); // cached, holding 8 of the 9 MiB
        DeviceBuffer b = allocator.allocate(3L << 19); // 2 MiB bin: the 8 MiB block is too big, the device too full
        assertEquals(2L << 20, b.blockBytes());
        assertEquals(1, device.frees);
        assertEquals(0, allocator.stats().bytesCached());
        DeviceBuffer c = allocator.allocate(5L << 20); // 6 MiB bin: 8 of 9 MiB used
        RawDeviceMemory.OutOfDeviceMemoryException e = assertThrows(RawDeviceMemory.OutOfDeviceMemoryException.class,
                () -> allocator.allocate(4L << 20)); // really full: the second failure propagates
        assertTrue(e.getMessage().contains("bytes requested"), e.getMessage());
        b.close();
        c.close();
        allocator.emptyCache();
        assertEquals(0, device.used);
        assertEquals(0, device.liveBlocks());
    }

    /**
     * A training-like loop: each step allocates activations and small tensors of fixed shapes (weights stay),
     * temporaries that die at once, and frees in reverse order with gradients coming and going at random; after the first steps the device sees no new
     * allocation, and the bytes held stay flat over a thousand steps.
     */
    @Test
    void aThousandTrainingLikeIterationsLeaveMemoryFlat() {
        FakeDeviceMemory device = new FakeDeviceMemory(8L << 30);
        CachingAllocator allocator = new CachingAllocator(device);
        List<DeviceBuffer> weights = new ArrayList<>();
        for (int i = 0; i < 12; i++) weights.add(allocator.allocate(7L * 1024 * 1024 + 13 * i));
        Random rnd = new Random(3);
        long reservedAfterWarmup = -1, allocationsAfterWarmup = -1;
        for (int step = 0; step < 1000; step++) {
            List<DeviceBuffer> live = new ArrayList<>();
            for (int layer = 0; layer < 12; layer++) {
                live.add(allocator.allocate(3L * 1024 * 1024));      // activations [B, T, C]
                live.add(allocator.allocate(12L * 1024 * 1024));     // MLP hidden [B, T, 4C]
                // small per-layer tensors (biases, statistics): the same sizes every step
                for (int t = 0; t < 3; t++) live.add(allocator.allocate(64 + 700L * layer + 4 * t));
                // temporaries that die inside the layer
                allocator.allocate(3L * 1024 * 1024).close();
            }
            // backward frees in reverse, gradients come and go
            for (int i = live.size() - 1; i >= 0; i--) {
                if (rnd.nextInt(3) == 0) allocator.allocate(3L * 1024 * 1024).close();
                live.get(i).close();
            }
            if (step == 9) {
                reservedAfterWarmup = allocator.stats().bytesReserved();
                allocationsAfterWarmup = device.allocations;
            }
            if (step > 9) {
                assertEquals(reservedAfterWarmup, allocator.stats().bytesReserved(), "bytes held at step " + step);
            }
        }
        long extra = device.allocations - allocationsAfterWarmup;
        assertEquals(0, extra, "device allocations after warm-up");
        assertEquals(weightsBytes(weights), allocator.stats().bytesInUse());
        for (DeviceBuffer w : weights) w.close();
        assertEquals(0, allocator.stats().bytesInUse());
    }

    private static long weightsBytes(List<DeviceBuffer> weights) {
        long sum = 0;
        for (DeviceBuffer w : weights) sum += w.blockBytes();
        return sum;
    }

    @Test
    void peakTracksTheHighestBytesInUse() {
        CachingAllocator allocator = new CachingAllocator(new FakeDeviceMemory(1L << 30));
        DeviceBuffer a = allocator.allocate(4L << 20);
        DeviceBuffer b = allocator.allocate(4L << 20);
        a.close();
        b.close();
        assertEquals(8L << 20, allocator.stats().peakBytesInUse());
        allocator.resetPeak();
        assertEquals(0, allocator.stats().peakBytesInUse());
    }

    /** A holder of a buffer that, like CudaStorage, returns it through a Cleaner when dropped unclosed. */
    private static final java.lang.ref.Cleaner CLEANER = java.lang.ref.Cleaner.create();

    private static Object dropped(DeviceBuffer buffer) {
        Object owner = new Object();
        CLEANER.register(owner, buffer::close);
        return owner;
    }

    @Test
    void outOfMemoryCollectsUnreachableBuffersBeforeGivingUp() {
        FakeDeviceMemory device = new FakeDeviceMemory(64L << 20);
        CachingAllocator allocator = new CachingAllocator(device);
        // a training step's tensors, dropped without close: unreachable, but their blocks are still in use
        for (int i = 0; i < 7; i++) dropped(allocator.allocate(8L << 20));
        assertEquals(56L << 20, allocator.stats().bytesInUse());
        DeviceBuffer big = allocator.allocate(32L << 20); // needs the collector to hand four of them back
        assertEquals(32L << 20, big.bytes());
        assertTrue(allocator.reclaims() >= 1, "the allocation waited for a collection");
        big.close();
        // what is really in use still fails, after the same attempts
        DeviceBuffer held = allocator.allocate(60L << 20);
        assertThrows(RawDeviceMemory.OutOfDeviceMemoryException.class, () -> allocator.allocate(8L << 20));
        held.close();
    }
}
