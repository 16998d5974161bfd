package org.rlhf4j.tensor;

import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;
import org.rlhf4j.tensor.cpu.CpuBackend;

/** Finds the backend of a device: the CPU one is built in; others come through {@link ServiceLoader}. */
public final class Backends {
    private static final Map<Device, Backend> OPEN = new ConcurrentHashMap<>();

    private Backends() {}

    /** The CPU backend. */
    public static Backend cpu() {
        return CpuBackend.INSTANCE;
    }

    /**
     * Makes {@code backend} the one that drives its device, ahead of any ServiceLoader provider (a stand-in device
     * in tests, or a backend built by hand). Fails if that device already has a different backend.
     */
    public static void install(Backend backend) {
        Device device = backend.device();
        if (device.isCpu()) throw new IllegalArgumentException("install: the CPU backend is built in");
        Backend old = OPEN.putIfAbsent(device, backend);
        if (old != null && old != backend) {
            throw new IllegalStateException("install: " + device + " already has a backend (" + old.getClass().getName() + ")");
        }
    }

    /** The backend driving {@code device}; fails with a clear message when there is none. */
    public static Backend forDevice(Device device) {
        if (device.isCpu()) return CpuBackend.INSTANCE;
        Backend open = OPEN.get(device);
        if (open != null) return open;
        synchronized (OPEN) {
            open = OPEN.get(device);
            if (open != null) return open;
            for (BackendProvider provider : ServiceLoader.load(BackendProvider.class)) {
                if (provider.kind() == device.kind()) {
                    Backend backend = provider.open(device.index());
                    OPEN.put(device, backend);
                    return backend;
                }
            }
        }
        throw new DeviceUnavailableException(device + " requested, but no " + device.kind()
                + " backend is on the class path (add the rlhf4j-kernels module for CUDA)");
    }
}
