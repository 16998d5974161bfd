package org.rlhf4j.tensor.cpu;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.rlhf4j.tensor.Backend;
import org.rlhf4j.tensor.Backends;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Storage;
import org.rlhf4j.tensor.Tensor;

/**
 * The CPU backend under another device's name: a tensor on the stand-in device lives in a Java array, every op
 * runs the CPU backend's code on it, but the {@link Tensor} layer sees a different device. A model, trainer or
 * tool that runs unchanged on the stand-in keeps every tensor on its model's device, moves data to the host only
 * through {@link Tensor#to(Device)}, and so runs on a real accelerator as far as device placement goes; a tensor
 * left on the CPU fails fast with the usual "devices differ" message. For tests without a GPU.
 *
 * <pre>{@code Device device = StandInBackend.install(5); // CUDA:5, backed by the CPU}</pre>
 */
public final class StandInBackend {
    private StandInBackend() {}

    /** Storage on the stand-in device holding a CPU storage of the same elements. */
    private static final class HostedStorage extends Storage {
        final CpuStorage host;

        HostedStorage(DType dtype, Device device, int size) {
            super(dtype, device, size);
            host = new CpuStorage(dtype, size);
        }

        @Override
        protected void release() {}
    }

    private static final Set<Device> INSTALLED = new HashSet<>();

    /**
     * Installs (once) and returns CUDA device {@code index} as a stand-in. Fails if that device already has another
     * backend.
     */
    public static synchronized Device install(int index) {
        Device device = Device.of(Device.Kind.CUDA, index);
        if (INSTALLED.add(device)) Backends.install(create(device));
        return device;
    }

    private static Backend create(Device device) {
        InvocationHandler handler = (proxy, method, args) -> {
            switch (method.getName()) {
                case "device": return device;
                case "allocate": return new HostedStorage((DType) args[0], device, (Integer) args[1]);
                case "toString": return "StandInBackend(" + device + ")";
                case "hashCode": return System.identityHashCode(proxy);
                case "equals": return proxy == args[0];
                default: return invokeOnCpu(method, args);
            }
        };
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, handler);
    }

    private static Object invokeOnCpu(Method method, Object[] args) throws Throwable {
        Object[] host = args == null ? null : new Object[args.length];
        for (int i = 0; host != null && i < args.length; i++) host[i] = onHost(args[i]);
        try {
            return method.invoke(CpuBackend.INSTANCE, host);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /** A stand-in tensor as a CPU tensor over the same array (CPU tensors, as the host side of copies, pass as they are). */
    private static Object onHost(Object arg) {
        if (arg instanceof Tensor) {
            Tensor t = (Tensor) arg;
            return t.storage() instanceof HostedStorage ? t.withStorage(((HostedStorage) t.storage()).host) : t;
        }
        if (arg instanceof List) {
            List<Object> out = new ArrayList<>();
            for (Object o : (List<?>) arg) out.add(onHost(o));
            return out;
        }
        return arg;
    }
}
