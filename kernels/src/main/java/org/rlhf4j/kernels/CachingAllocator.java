package org.rlhf4j.kernels;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.TreeMap;

/**
 * A caching device allocator (as PyTorch's): freed blocks go to size-binned free lists and are handed out again,
 * so a training loop that allocates the same shapes every step stops calling {@code cuMemAlloc} after its first
 * step. Requests are rounded up to a bin: multiples of 512 bytes up to 1 MiB, multiples of 2 MiB above. A request
 * takes a cached block of its own bin, or, for large requests, the smallest cached block of at most twice its
 * bin; otherwise it allocates a new one. When the device is out of memory, the cache is freed and the allocation
 * tried once more. Thread-safe.
 */
public final class CachingAllocator {
    /** Small requests are rounded up to a multiple of this. */
    public static final long SMALL_ROUND = 512;
    /** Requests above this are large, rounded up to a multiple of {@link #LARGE_ROUND}. */
    public static final long SMALL_LIMIT = 1L << 20;
    public static final long LARGE_ROUND = 2L << 20;

    /** Counters of an allocator at one moment. */
    public record Stats(long bytesInUse, long bytesCached, long peakBytesInUse, long rawAllocations, long rawFrees,
                        long cacheHits, long requests) {
        /** Bytes held from the device: in use plus cached. */
        public long bytesReserved() {
            return bytesInUse + bytesCached;
        }
    }

    private final RawDeviceMemory raw;
    private final TreeMap<Long, ArrayDeque<Long>> free = new TreeMap<>();
    private long bytesInUse, bytesCached, peakBytesInUse, rawAllocations, rawFrees, cacheHits, requests;
    /** Allocations that succeeded only after a garbage collection returned unreachable blocks. */
    private long reclaims;

    public CachingAllocator(RawDeviceMemory raw) {
        this.raw = raw;
    }

    /** The size of the block that serves a request of {@code bytes} (at least one small round). */
    public static long binSize(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("allocate: negative size " + bytes);
        long b = Math.max(bytes, 1);
        return b <= SMALL_LIMIT ? roundUp(b, SMALL_ROUND) : roundUp(b, LARGE_ROUND);
    }

    private static long roundUp(long v, long m) {
        return (v + m - 1) / m * m;
    }

    /** A buffer of at least {@code bytes} bytes; close it to hand it back. */
    public DeviceBuffer allocate(long bytes) {
        long bin = binSize(bytes);
        synchronized (this) {
            requests++;
            Map.Entry<Long, ArrayDeque<Long>> hit = bin <= SMALL_LIMIT ? entry(bin) : free.ceilingEntry(bin);
            if (hit != null && hit.getKey() <= 2 * bin) {
                long block = hit.getKey();
                long address = hit.getValue().pop();
                if (hit.getValue().isEmpty()) free.remove(block);
                bytesCached -= block;
                cacheHits++;
                inUse(block);
                return new DeviceBuffer(this, address, bytes, block);
            }
        }
        long address;
        try {
            address = raw.allocate(bin);
        } catch (RawDeviceMemory.OutOfDeviceMemoryException e) {
            address = allocateAfterReclaiming(bin);
        }
        synchronized (this) {
            rawAllocations++;
            inUse(bin);
        }
        return new DeviceBuffer(this, address, bytes, bin);
    }

    /** Garbage collections tried, with waits of 1, 2, 4, ... ms for the Cleaners, before out of memory is final. */
    static final int RECLAIM_ATTEMPTS = 9;

    /**
     * The device is full: the cache goes back first; then storages that are unreachable but not yet collected (a
     * training loop without a {@link CudaScope} leaves its steps' tensors to the garbage collector, whose heap
     * barely notices them) are collected, and their Cleaners return their blocks, as java.nio does for direct
     * buffers. Retried for about half a second in all; then the last failure propagates.
     */
    private long allocateAfterReclaiming(long bin) {
        emptyCache();
        RawDeviceMemory.OutOfDeviceMemoryException last;
        try {
            return raw.allocate(bin);
        } catch (RawDeviceMemory.OutOfDeviceMemoryException e) {
            last = e;
        }
        long waitMillis = 1;
        for (int attempt = 0; attempt < RECLAIM_ATTEMPTS; attempt++) {
            System.gc();
            try {
                Thread.sleep(waitMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            waitMillis *= 2;
            emptyCache();
            try {
                long address = raw.allocate(bin);
                synchronized (this) {
                    reclaims++;
                }
                return address;
            } catch (RawDeviceMemory.OutOfDeviceMemoryException e) {
                last = e;
            }
        }
        throw last;
    }

    private Map.Entry<Long, ArrayDeque<Long>> entry(long bin) {
        ArrayDeque<Long> list = free.get(bin);
        return list == null ? null : Map.entry(bin, list);
    }

    private void inUse(long block) {
        bytesInUse += block;
        peakBytesInUse = Math.max(peakBytesInUse, bytesInUse);
    }

    /** Called by {@link DeviceBuffer#close()}: the block goes to its free list. */
    synchronized void release(long address, long block) {
        bytesInUse -= block;
        bytesCached += block;
        free.computeIfAbsent(block, k -> new ArrayDeque<>()).push(address);
    }

    /** Frees every cached block to the device; blocks in use stay. */
    public void emptyCache() {
        TreeMap<Long, ArrayDeque<Long>> drop;
        synchronized (this) {
            drop = new TreeMap<>(free);
            free.clear();
            bytesCached = 0;
        }
        for (ArrayDeque<Long> list : drop.values()) {
            for (long address : list) {
                raw.free(address);
                synchronized (this) {
                    rawFrees++;
                }
            }
        }
    }

    /** Starts peak tracking over from the bytes in use now. */
    public synchronized void resetPeak() {
        peakBytesInUse = bytesInUse;
    }

    /** How many allocations needed a garbage collection to find room (each one a stall of up to half a second). */
    public synchronized long reclaims() {
        return reclaims;
    }

    public synchronized Stats stats() {
        return new Stats(bytesInUse, bytesCached, peakBytesInUse, rawAllocations, rawFrees, cacheHits, requests);
    }
}
