package org.rlhf4j.kernels;

import java.util.ArrayList;
import java.util.List;
import org.rlhf4j.tensor.Backend;
import org.rlhf4j.tensor.BackendProvider;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.DeviceUnavailableException;

/**
 * A test-only provider: with {@code -Drlhf4j.kernels.recording=true} (set by the tests that use it, and by
 * {@link TestDevices}), device cuda:7 is a CudaBackend on a context without a driver, whose memory is a fake
 * device, whose launches are recorded after their arguments are checked against the PTX, and whose GEMM calls are
 * recorded after their arguments are checked against cuBLAS's rules and the allocations they read and write; and
 * cuda:6 is one whose memory, kernels and GEMM run in a Python process (EmulatedDevice). Every other device goes
 * to the real provider. Without the property it serves no device at all (its kind is then CPU, which no lookup
 * asks providers for).
 */
public final class RecordingBackendProvider implements BackendProvider {
    static final int INDEX = 7;
    /** cuda:6 is a CudaBackend on a device emulated by the PTX interpreter (EmulatedDevice). */
    static final int EMULATED = 6;
    static final String PROPERTY = "rlhf4j.kernels.recording";

    record Launch(String kernel, int[] grid, int[] block, int sharedBytes, int[] argSizes) {}

    static final List<Launch> LAUNCHES = new ArrayList<>();
    static final List<GemmCall> GEMMS = new ArrayList<>();

    private static CudaBackend recording, emulated;
    private static DeviceUnavailableException emulatedFailure;

    @Override
    public Device.Kind kind() {
        return Boolean.getBoolean(PROPERTY) ? Device.Kind.CUDA : Device.Kind.CPU;
    }

    @Override
    public Backend open(int index) {
        if (index == EMULATED) return emulated();
        if (index == INDEX) return recording();
        return new CudaBackendProvider().open(index);
    }

    /** The one cuda:7 backend of this JVM. */
    static synchronized CudaBackend recording() {
        if (recording == null) {
            FakeDeviceMemory memory = new FakeDeviceMemory(1L << 40);
            CudaContext ctx = new CudaContext(INDEX, memory,
                    (kernel, grid, block, shared, args) -> {
                        synchronized (LAUNCHES) {
                            LAUNCHES.add(new Launch(kernel, grid, block, shared, args.sizes()));
                        }
                    },
                    call -> {
                        call.validate();
                        memory.requireInside(call.function() + " A", call.a(), call.spanA());
                        memory.requireInside(call.function() + " B", call.b(), call.spanB());
                        memory.requireInside(call.function() + " C", call.c(), call.spanC());
                        synchronized (GEMMS) {
                            GEMMS.add(call);
                        }
                    }, 132);
            recording = new CudaBackend(ctx);
        }
        return recording;
    }

    /** The one cuda:6 backend of this JVM; a failure to start it (no python3 or NumPy) is remembered. */
    static synchronized CudaBackend emulated() {
        if (emulatedFailure != null) throw emulatedFailure;
        if (emulated == null) {
            try {
                EmulatedDevice device = new EmulatedDevice();
                emulated = new CudaBackend(new CudaContext(EMULATED, device, device, device, 132));
            } catch (DeviceUnavailableException e) {
                emulatedFailure = e;
                throw e;
            }
        }
        return emulated;
    }
}
