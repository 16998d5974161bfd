package org.rlhf4j.tensor;

import java.util.Objects;

/** Where a tensor's storage lives: the CPU, or a CUDA device by ordinal. */
public final class Device {
    /** The kinds of device rlhf4j knows. */
    public enum Kind { CPU, CUDA }

    /** The host. Always available. */
    public static final Device CPU = new Device(Kind.CPU, 0);

    private final Kind kind;
    private final int index;

    private Device(Kind kind, int index) {
        this.kind = kind;
        this.index = index;
    }

    /**
     * The CUDA device with this ordinal. Fails with a clear message when no CUDA backend is on the class path
     * or no GPU and driver are present.
     */
    public static Device cuda(int index) {
        if (index < 0) throw new IllegalArgumentException("cuda device index must be >= 0, found " + index);
        Device device = new Device(Kind.CUDA, index);
        Backends.forDevice(device); // throws DeviceUnavailableException when it cannot be used
        return device;
    }

    /** A device descriptor without checking that it can be used (for backends describing themselves). */
    public static Device of(Kind kind, int index) {
        return kind == Kind.CPU ? CPU : new Device(kind, index);
    }

    public Kind kind() {
        return kind;
    }

    public int index() {
        return index;
    }

    public boolean isCpu() {
        return kind == Kind.CPU;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Device d && d.kind == kind && d.index == index;
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, index);
    }

    @Override
    public String toString() {
        return kind == Kind.CPU ? "cpu" : "cuda:" + index;
    }
}
