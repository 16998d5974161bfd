package org.rlhf4j.tensor;

/**
 * A flat buffer of elements of one dtype on one device, shared by all the views of a tensor. Device backends
 * release their memory in {@link #release()}; CPU storage is a Java array and release is a no-op.
 */
public abstract class Storage implements AutoCloseable {
    private final DType dtype;
    private final Device device;
    private final int size;
    private int references = 1;

    protected Storage(DType dtype, Device device, int size) {
        this.dtype = dtype;
        this.device = device;
        this.size = size;
    }

    public final DType dtype() {
        return dtype;
    }

    public final Device device() {
        return device;
    }

    /** Number of elements. */
    public final int size() {
        return size;
    }

    /** Adds a reference (a view that outlives the scope that made the storage). */
    public final synchronized Storage retain() {
        if (references <= 0) throw new IllegalStateException("storage on " + device + " was already released");
        references++;
        return this;
    }

    /** Drops a reference; frees the memory when the last one goes. */
    @Override
    public final void close() {
        boolean free;
        synchronized (this) {
            if (references <= 0) return;
            free = --references == 0;
        }
        if (free) release();
    }

    public final synchronized boolean isReleased() {
        return references <= 0;
    }

    /** Frees device memory. Called once, when the last reference is dropped. */
    protected abstract void release();
}
