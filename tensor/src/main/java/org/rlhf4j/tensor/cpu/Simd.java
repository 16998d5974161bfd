package org.rlhf4j.tensor.cpu;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides once, at start-up, whether the CPU kernels use the Vector API ({@code jdk.incubator.vector}) or
 * plain loops. The Vector API is used when the JVM was started with {@code --add-modules
 * jdk.incubator.vector} and {@code -Drlhf4j.simd=false} is not set. The choice is logged once.
 */
public final class Simd {
    private static final Logger LOG = LoggerFactory.getLogger(Simd.class);

    /** True when the Vector API kernels are active. */
    public static final boolean ENABLED = detect();

    private Simd() {}

    private static boolean detect() {
        String flag = System.getProperty("rlhf4j.simd");
        if (flag != null && flag.equalsIgnoreCase("false")) {
            LOG.info("rlhf4j CPU backend: plain-Java kernels (forced by -Drlhf4j.simd=false)");
            return false;
        }
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            LOG.info("rlhf4j CPU backend: plain-Java kernels (start the JVM with --add-modules jdk.incubator.vector"
                    + " for the SIMD kernels)");
            return false;
        }
        try {
            int bits = VectorInfo.floatBits();
            LOG.info("rlhf4j CPU backend: Vector API kernels, {}-bit float vectors", bits);
            return true;
        } catch (Throwable t) {
            LOG.info("rlhf4j CPU backend: plain-Java kernels (Vector API unusable: {})", t.toString());
            return false;
        }
    }

    /** Isolates the only reference to the Vector API so this class loads without the module. */
    private static final class VectorInfo {
        static int floatBits() {
            return jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize();
        }
    }
}
