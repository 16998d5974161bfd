package org.rlhf4j.kernels;

import org.opentest4j.TestAbortedException;
import org.rlhf4j.tensor.Backends;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.DeviceUnavailableException;

/**
 * CUDA devices without a GPU, for any module's tests (they come with the {@code rlhf4j-kernels} test-jar):
 * <ul>
 *   <li>{@link #emulated()}: cuda:6, the unchanged CudaBackend on a device emulated in a Python process: memory,
 *       every PTX kernel on a vectorized PTX interpreter, GEMM in NumPy by cuBLAS's definition of the call
 *       CudaGemm planned. Real results, slowly (milliseconds per launch, millions of elements per second
 *       through a large kernel): a training step of a 2-layer GPT of width 32 takes seconds. Needs python3
 *       with NumPy; the test is skipped (TestAbortedException) when they are missing;
 *   <li>{@link #recording()}: cuda:7, a CudaBackend whose launches and GEMM calls are checked (against the PTX
 *       signatures, cuBLAS's argument rules and the allocations) and recorded, not run: any size, instantly;
 *       data read back is zeros.
 * </ul>
 * Both install their backend with {@link Backends#install}, so they work whatever order the class path lists
 * the service providers in, and set {@code -Drlhf4j.kernels.recording=true} for code that looks them up by
 * {@code Device.cuda(6)} or {@code Device.cuda(7)}. One backend of each per JVM.
 */
public final class TestDevices {
    private TestDevices() {}

    /** cuda:6 on the emulator; skips the calling test (TestAbortedException) without python3 and NumPy. */
    public static Device emulated() {
        System.setProperty(RecordingBackendProvider.PROPERTY, "true");
        CudaBackend backend;
        try {
            backend = RecordingBackendProvider.emulated();
        } catch (DeviceUnavailableException e) {
            throw new TestAbortedException("no emulated CUDA device: " + e.getMessage(), e);
        }
        Backends.install(backend);
        return backend.device();
    }

    /** cuda:7, the recording device. */
    public static Device recording() {
        System.setProperty(RecordingBackendProvider.PROPERTY, "true");
        CudaBackend backend = RecordingBackendProvider.recording();
        Backends.install(backend);
        return backend.device();
    }

    /** Whether the emulated device can start here (python3 with NumPy and the scripts found). */
    public static boolean emulatedAvailable() {
        try {
            RecordingBackendProvider.emulated();
            return true;
        } catch (DeviceUnavailableException e) {
            return false;
        }
    }
}
