package org.rlhf4j.kernels;

import java.util.Map;
import java.util.TreeMap;

/** A device with a capacity, handing out fake addresses: it counts what the allocator asks of the driver. */
final class FakeDeviceMemory implements RawDeviceMemory {
    private final long capacity;
    private final TreeMap<Long, Long> live = new TreeMap<>();
    private long next = 0x7000_0000_0000L;
    long used, allocations, frees;

    FakeDeviceMemory(long capacity) {
        this.capacity = capacity;
    }

    @Override
    public synchronized long allocate(long bytes) {
        if (used + bytes > capacity) {
            throw new OutOfDeviceMemoryException("fake device: " + bytes + " bytes requested, " + (capacity - used) + " free");
        }
        long address = next;
        next += bytes + 4096;
        live.put(address, bytes);
        used += bytes;
        allocations++;
        return address;
    }

    @Override
    public synchronized void free(long address) {
        Long bytes = live.remove(address);
        if (bytes == null) throw new IllegalStateException("fake device: free of unknown address " + Long.toHexString(address));
        used -= bytes;
        frees++;
    }

    /** Fails unless [address, address + bytes) lies inside one live allocation (nothing to check when bytes is 0). */
    synchronized void requireInside(String what, long address, long bytes) {
        if (bytes == 0) return;
        Map.Entry<Long, Long> block = live.floorEntry(address);
        if (block == null || address + bytes > block.getKey() + block.getValue()) {
            throw new IllegalArgumentException("fake device: " + what + " spans " + bytes + " bytes at 0x"
                    + Long.toHexString(address) + ", outside every allocation"
                    + (block == null ? "" : " (the nearest below: " + block.getValue() + " bytes at 0x"
                    + Long.toHexString(block.getKey()) + ")"));
        }
    }

    int liveBlocks() {
        return live.size();
    }
}
