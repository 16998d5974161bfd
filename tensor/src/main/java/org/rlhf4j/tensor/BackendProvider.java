package org.rlhf4j.tensor;

/**
 * Registered through {@link java.util.ServiceLoader} ({@code META-INF/services/org.rlhf4j.tensor.BackendProvider})
 * by each module that drives a kind of device.
 */
public interface BackendProvider {
    /** The kind of device this provider drives. */
    Device.Kind kind();

    /**
     * The backend for device {@code index}; throws {@link DeviceUnavailableException} with the reason when the
     * device cannot be used (no GPU, no driver, index out of range).
     */
    Backend open(int index);
}
