package org.rlhf4j.kernels;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Storage;

/**
 * Device storage: a {@link DeviceBuffer} from the context's caching allocator. Its memory goes back to the cache
 * when the last reference is closed ({@link Storage#close()}), or when the {@link CudaScope} it was made in
 * closes. A storage that is dropped without either is returned by a {@link Cleaner} as a last resort and
 * counted in {@link #leaked()}: correct code never depends on that.
 */
public final class CudaStorage extends Storage {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final AtomicLong LEAKED = new AtomicLong();

    private final DeviceBuffer buffer;
    private final Cleaner.Cleanable cleanable;

    CudaStorage(DType dtype, Device device, int size, DeviceBuffer buffer) {
        super(dtype, device, size);
        this.buffer = buffer;
        this.cleanable = CLEANER.register(this, new Leak(buffer));
    }

    /** The device address of element 0. */
    public long address() {
        return buffer.address();
    }

    /** Bytes of the elements. */
    public long bytes() {
        return buffer.bytes();
    }

    @Override
    protected void release() {
        buffer.close();
        cleanable.clean(); // the buffer is already closed, so the action only deregisters
    }

    /** Storages that were reclaimed by the garbage collector instead of being closed. */
    public static long leaked() {
        return LEAKED.get();
    }

    private record Leak(DeviceBuffer buffer) implements Runnable {
        @Override
        public void run() {
            if (!buffer.isClosed()) {
                LEAKED.incrementAndGet();
                buffer.close();
            }
        }
    }
}
