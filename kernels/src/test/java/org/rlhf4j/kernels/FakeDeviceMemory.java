package org.rlhf4j.kernels;

import java.util.HashMap;
import java.util.Map;

/** A device with a capacity, handing out fake addresses: it counts what the allocator asks of the driver. */
final class FakeDeviceMemory implements RawDeviceMemory {
    private final long capacity;
    private final Map<Long, Long> live = new HashMap<>();
    private long next = 0x7000_0000_0000L;
    long used, allocations, frees;

    FakeDeviceMemory(long capacity) {
        this.capacity = capacity;
    }

    @Override
    public long allocate(long bytes) {
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
    public void free(long address) {
        Long bytes = live.remove(address);
        if (bytes == null) throw new IllegalStateException("fake device: free of unknown address " + Long.toHexString(address));
        used -= bytes;
        frees++;
    }

    int liveBlocks() {
        return live.size();
    }
}
