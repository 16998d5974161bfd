package org.rlhf4j.kernels;

import org.rlhf4j.tensor.Backend;
import org.rlhf4j.tensor.BackendProvider;
import org.rlhf4j.tensor.Device;

/**
 * Registers the CUDA backend with {@link java.util.ServiceLoader}. Opening a device without a GPU, driver or the
 * CUDA 13 libraries throws {@link org.rlhf4j.tensor.DeviceUnavailableException} with the reason; the CPU backend
 * is not affected.
 */
public final class CudaBackendProvider implements BackendProvider {
    @Override
    public Device.Kind kind() {
        return Device.Kind.CUDA;
    }

    @Override
    public Backend open(int index) {
        return new CudaBackend(CudaContext.open(index));
    }
}
