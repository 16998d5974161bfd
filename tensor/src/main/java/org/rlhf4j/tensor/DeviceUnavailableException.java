package org.rlhf4j.tensor;

/** Thrown when a device is asked for that this machine or class path cannot provide. */
public final class DeviceUnavailableException extends RuntimeException {
    public DeviceUnavailableException(String message) {
        super(message);
    }

    public DeviceUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
