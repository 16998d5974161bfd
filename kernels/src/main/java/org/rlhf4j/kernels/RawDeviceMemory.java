package org.rlhf4j.kernels;

/**
 * Raw device allocations, the layer under {@link CachingAllocator}: {@code cuMemAlloc} and {@code cuMemFree} on
 * a GPU, a fake in the allocator's CPU tests.
 */
public interface RawDeviceMemory {
    /**
     * Allocates {@code bytes} bytes and returns the device address.
     *
     * @throws OutOfDeviceMemoryException when the device has no room left
     */
    long allocate(long bytes);

    /** Frees an address that {@link #allocate} returned. */
    void free(long address);

    /** Thrown by {@link #allocate} when the device is out of memory (the caller may free its cache and retry). */
    final class OutOfDeviceMemoryException extends RuntimeException {
        public OutOfDeviceMemoryException(String message) {
            super(message);
        }
    }
}
