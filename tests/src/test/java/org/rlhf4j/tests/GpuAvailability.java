package org.rlhf4j.tests;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.rlhf4j.kernels.Cuda;
import org.rlhf4j.tensor.Device;

/**
 * The GPU of the GPU tests, or a skip that says why there is none ("no GPU here: ...", which the GPU script
 * reports). With {@code -Drlhf4j.gpuTests.dryRun=true} the stand-in device (CPU arithmetic under a CUDA name) takes
 * the GPU's place, to check the tests themselves without one.
 */
final class GpuAvailability {
    private GpuAvailability() {}

    static Device gpu() {
        if (Boolean.getBoolean("rlhf4j.gpuTests.dryRun")) return org.rlhf4j.tensor.cpu.StandInBackend.install(5);
        assumeTrue(Cuda.isAvailable(), () -> "no GPU here: " + Cuda.unavailableReason());
        return Device.cuda(0);
    }
}
