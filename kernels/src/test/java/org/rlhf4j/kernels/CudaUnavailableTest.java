package org.rlhf4j.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.util.ServiceLoader;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.BackendProvider;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.DeviceUnavailableException;
import org.rlhf4j.tensor.Tensor;

/** Without a GPU or driver: Device.cuda(0) fails clearly, and the CPU keeps working. */
class CudaUnavailableTest {
    @Test
    void theProviderIsRegisteredThroughServiceLoader() {
        boolean found = StreamSupport.stream(ServiceLoader.load(BackendProvider.class).spliterator(), false)
                .anyMatch(p -> p instanceof CudaBackendProvider && p.kind() == Device.Kind.CUDA);
        assertTrue(found, "CudaBackendProvider is not listed in META-INF/services");
    }

    @Test
    void cudaDeviceFailsWithTheReasonWhenNoGpuIsPresent() {
        assumeFalse(Cuda.isAvailable(), "a GPU is present: the unavailable path cannot be exercised here");
        DeviceUnavailableException e = assertThrows(DeviceUnavailableException.class, () -> Device.cuda(0));
        assertTrue(e.getMessage().startsWith("cuda:0 requested, but "), e.getMessage());
        assertTrue(e.getMessage().contains(Cuda.unavailableReason()), e.getMessage());
        // asking again gives the same clear error, not a class-initialization error
        DeviceUnavailableException again = assertThrows(DeviceUnavailableException.class,
                () -> Tensor.zeros(org.rlhf4j.tensor.DType.F32, Device.of(Device.Kind.CUDA, 0), 2));
        assertTrue(again.getMessage().contains("cuda:0"), again.getMessage());
        // and the CPU is unaffected
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
        assertArrayEquals(new float[] {7, 10, 15, 22}, x.matmul(x).toFloatArray());
    }

    @Test
    void aDeviceIndexPastTheLastGpuIsRefused() {
        DeviceUnavailableException e = assertThrows(DeviceUnavailableException.class, () -> Device.cuda(4096));
        assertTrue(e.getMessage().contains("cuda:4096"), e.getMessage());
    }
}
