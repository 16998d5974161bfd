package org.rlhf4j.kernels;

/**
 * A block of device memory from a {@link CachingAllocator}. {@link #close()} hands it back to the allocator's
 * cache (not to the driver), where the next allocation of a similar size reuses it. Closing twice is harmless.
 * Reuse is safe without synchronization because every kernel of a device runs on its one stream, in order.
 */
public final class DeviceBuffer implements AutoCloseable {
    private final CachingAllocator allocator;
    private final long address;
    private final long bytes;
    private final long blockBytes;
    private boolean closed;

    DeviceBuffer(CachingAllocator allocator, long address, long bytes, long blockBytes) {
        this.allocator = allocator;
        this.address = address;
        this.bytes = bytes;
        this.blockBytes = blockBytes;
    }

    /** The device address of the first byte. */
    public long address() {
        if (closed) throw new IllegalStateException("device buffer of " + bytes + " bytes was already closed");
        return address;
    }

    /** The bytes asked for. */
    public long bytes() {
        return bytes;
    }

    /** The bytes of the cached block behind it (the request rounded up to its size bin). */
    public long blockBytes() {
        return blockBytes;
    }

    public synchronized boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        allocator.release(address, blockBytes);
    }
}
