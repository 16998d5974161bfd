package org.rlhf4j.kernels;

import static org.bytedeco.cuda.global.cudart.*;

import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.rlhf4j.tensor.DeviceUnavailableException;

/**
 * Loads the CUDA driver API and cuBLAS through the bytedeco binding, once, and turns return codes into
 * exceptions. Only entry points that CUDA 13.0 (driver 580) has are called: the JNI wrappers link lazily, and a
 * call to an entry point the driver lacks would end the process.
 */
final class Driver {
    private static final String FAILURE;
    private static final int DEVICE_COUNT;

    static {
        String failure = null;
        int count = 0;
        try {
            Loader.load(cudart.class);
            int rc = cuInit(0);
            if (rc != CUDA_SUCCESS) {
                failure = "cuInit failed with " + errorName(rc) + " (no usable GPU or driver)";
            } else {
                int[] n = new int[1];
                rc = cuDeviceGetCount(n);
                if (rc != CUDA_SUCCESS) failure = "cuDeviceGetCount failed with " + errorName(rc);
                else if (n[0] == 0) failure = "the CUDA driver reports no GPU";
                else count = n[0];
            }
        } catch (Throwable t) { // UnsatisfiedLinkError, NoClassDefFoundError: no driver or CUDA libraries
            failure = "the CUDA driver or runtime libraries could not be loaded (" + t.getClass().getSimpleName()
                    + ": " + t.getMessage() + "); a GPU, its driver and the CUDA 13 libraries are needed";
        }
        FAILURE = failure;
        DEVICE_COUNT = count;
    }

    private Driver() {}

    /** Null when the driver is usable, else why not. */
    static String failure() {
        return FAILURE;
    }

    static int deviceCount() {
        return DEVICE_COUNT;
    }

    /** Throws {@link DeviceUnavailableException} unless device {@code ordinal} can be opened. */
    static void requireDevice(int ordinal) {
        if (FAILURE != null) throw new DeviceUnavailableException("cuda:" + ordinal + " requested, but " + FAILURE);
        if (ordinal >= DEVICE_COUNT) {
            throw new DeviceUnavailableException("cuda:" + ordinal + " requested, but the driver reports "
                    + DEVICE_COUNT + " GPU" + (DEVICE_COUNT == 1 ? "" : "s"));
        }
    }

    static String errorName(int rc) {
        try {
            BytePointer name = new BytePointer((org.bytedeco.javacpp.Pointer) null);
            if (cuGetErrorName(rc, name) == CUDA_SUCCESS && name.address() != 0) return name.getString() + " (" + rc + ")";
        } catch (Throwable ignored) {
            // fall through to the number
        }
        return "CUresult " + rc;
    }

    /** Fails with the call's name and the driver's error name unless rc is CUDA_SUCCESS. */
    static void check(int rc, String call) {
        if (rc != CUDA_SUCCESS) throw new CudaException(call + " failed with " + errorName(rc), rc);
    }

    /** Fails with the call's name and cuBLAS's status unless status is CUBLAS_STATUS_SUCCESS. */
    static void checkBlas(int status, String call) {
        if (status != cublas.CUBLAS_STATUS_SUCCESS) {
            String text;
            try {
                text = cublas.cublasGetStatusString(status).getString();
            } catch (Throwable t) {
                text = "cublasStatus " + status;
            }
            throw new CudaException(call + " failed with " + text + " (" + status + ")", status);
        }
    }
}
