package org.rlhf4j.kernels;

import java.util.ArrayList;
import java.util.List;
import org.rlhf4j.tensor.Backend;
import org.rlhf4j.tensor.BackendProvider;
import org.rlhf4j.tensor.Device;

/**
 * A test-only provider: with {@code -Drlhf4j.kernels.recording=true} (set by LaunchRecordingTest itself), device
 * cuda:7 is a CudaBackend on a context without a driver, whose memory is a fake device and whose launches are
 * recorded after their arguments are checked against the PTX, and cuda:6 is one whose memory and kernels run on
 * the PTX interpreter (EmulatedDevice); every other device goes to the real provider.
 * Without the property it serves no device at all (its kind is then CPU, which no lookup asks providers for).
 */
public final class RecordingBackendProvider implements BackendProvider {
    static final int INDEX = 7;
    /** cuda:6 is a CudaBackend on a device emulated by the PTX interpreter (EmulatedDevice). */
    static final int EMULATED = 6;
    static final String PROPERTY = "rlhf4j.kernels.recording";

    record Launch(String kernel, int[] grid, int[] block, int sharedBytes, int[] argSizes) {}

    static final List<Launch> LAUNCHES = new ArrayList<>();

    @Override
    public Device.Kind kind() {
        return Boolean.getBoolean(PROPERTY) ? Device.Kind.CUDA : Device.Kind.CPU;
    }

    @Override
    public Backend open(int index) {
        if (index == EMULATED) {
            EmulatedDevice device = new EmulatedDevice();
            return new CudaBackend(new CudaContext(index, device, device, 132));
        }
        if (index != INDEX) return new CudaBackendProvider().open(index);
        CudaContext ctx = new CudaContext(index, new FakeDeviceMemory(1L << 40),
                (kernel, grid, block, shared, args) -> {
                    synchronized (LAUNCHES) {
                        LAUNCHES.add(new Launch(kernel, grid, block, shared, args.sizes()));
                    }
                }, 132);
        return new CudaBackend(ctx);
    }
}
