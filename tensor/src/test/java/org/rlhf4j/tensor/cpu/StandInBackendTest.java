package org.rlhf4j.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.NnOps;
import org.rlhf4j.tensor.Tensor;

/** The stand-in device: CPU arithmetic under a CUDA name, so that device placement can be tested without a GPU. */
class StandInBackendTest {
    private static final Device DEVICE = StandInBackend.install(5);

    @Test
    void tensorsOnTheStandInComputeWhatTheCpuComputes() {
        Tensor x = Tensor.empty(DType.F32, 4, 6).fillNormal(new Generator(7), 0, 1);
        Tensor w = Tensor.empty(DType.F32, 6, 3).fillNormal(new Generator(8), 0, 1);
        Tensor xs = x.to(DEVICE), ws = w.to(DEVICE);
        assertEquals(DEVICE, xs.device());
        assertEquals("cuda:5", DEVICE.toString().toLowerCase());
        Tensor y = xs.matmul(ws).add(1.0).tanh();
        assertEquals(DEVICE, y.device());
        assertArrayEquals(x.matmul(w).add(1.0).tanh().toFloatArray(), y.toFloatArray());
        // views, reductions, fused ops and the multi-tensor optimizer call all run through the stand-in
        assertArrayEquals(x.transpose(0, 1).sum(1, false).toFloatArray(), xs.transpose(0, 1).sum(1, false).toFloatArray());
        assertArrayEquals(NnOps.softmax(x, true).toFloatArray(), NnOps.softmax(xs, true).toFloatArray());
        Tensor p = ws.contiguous(), g = ws.mul(0.1), m = Tensor.zeros(DType.F32, DEVICE, 6, 3), v = Tensor.zeros(DType.F32, DEVICE, 6, 3);
        Tensor pc = w.contiguous(), gc = w.mul(0.1), mc = Tensor.zeros(DType.F32, 6, 3), vc = Tensor.zeros(DType.F32, 6, 3);
        NnOps.adamw(List.of(p), List.of(g), List.of(m), List.of(v), 1e-2, 0.9, 0.999, 1e-8, 0.1, 1);
        NnOps.adamw(List.of(pc), List.of(gc), List.of(mc), List.of(vc), 1e-2, 0.9, 0.999, 1e-8, 0.1, 1);
        assertArrayEquals(pc.toFloatArray(), p.toFloatArray());
        assertEquals(DType.BF16, xs.to(DType.BF16).dtype());
        assertEquals(DEVICE, xs.to(DType.BF16).device());
    }

    @Test
    void aTensorLeftOnTheCpuFailsFastNamingBothDevices() {
        Tensor onDevice = Tensor.ones(DType.F32, 2, 2).to(DEVICE), onCpu = Tensor.ones(DType.F32, 2, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> onDevice.add(onCpu));
        assertTrue(e.getMessage().contains("cuda:5") || e.getMessage().contains("CUDA:5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> onDevice.matmul(onCpu));
        assertTrue(e.getMessage().contains("devices"), e.getMessage());
        Tensor ids = Tensor.ofInts(new int[] {1, 0}, 2);
        assertThrows(IllegalArgumentException.class, () -> onDevice.indexSelect(0, ids));
    }

    @Test
    void installingTheSameStandInTwiceGivesTheSameDevice() {
        assertEquals(DEVICE, StandInBackend.install(5));
        assertEquals(DEVICE, Device.cuda(5));
    }
}
