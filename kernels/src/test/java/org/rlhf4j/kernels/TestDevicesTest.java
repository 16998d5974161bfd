package org.rlhf4j.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.Backends;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Tensor;

/** The test devices as another module sees them: TestDevices, and the emulator's scripts off the classpath. */
class TestDevicesTest {
    @Test
    void theEmulatorsScriptsComeWithTheTestClasspath() {
        // what a module without the kernels sources gets from the test-jar
        Path folder = EmulatedDevice.fromClasspath(List.of());
        assertTrue(Files.isRegularFile(folder.resolve("ptxserve.py")), folder.toString());
        assertTrue(Files.isRegularFile(folder.resolve("ptxrun.py")));
        assertTrue(Files.isRegularFile(folder.resolve("../ptxgen/fused_ptxsim.py")));
        assertTrue(Files.isRegularFile(folder.resolve("../ptxgen/ptxemu.py")));
    }

    @Test
    void aPropertyNamingNoScriptFolderFailsInsteadOfSkipping() {
        System.setProperty(EmulatedDevice.PTXCHECK_PROPERTY, "no-such-folder");
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, EmulatedDevice::scriptFolder);
            assertTrue(e.getMessage().contains("no-such-folder"), e.getMessage());
        } finally {
            System.clearProperty(EmulatedDevice.PTXCHECK_PROPERTY);
        }
    }

    @Test
    void theDevicesAreCudaSixAndSevenAndFoundByIndexAfterwards() {
        Device recording = TestDevices.recording();
        assertEquals("cuda:7", recording.toString());
        assertSame(Backends.forDevice(recording), Cuda.backend(Device.cuda(7)));
        Device emulated = TestDevices.emulated(); // skips here without python3 and NumPy
        assertEquals("cuda:6", emulated.toString());
        assertSame(Backends.forDevice(emulated), Backends.forDevice(Device.cuda(6)));
        assertArrayEquals(new float[] {3, 5}, Tensor.wrap(new float[] {1, 2}, 2).to(emulated).mul(2.0).add(1.0).toFloatArray());
    }
}
