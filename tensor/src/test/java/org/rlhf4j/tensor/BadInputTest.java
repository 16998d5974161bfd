package org.rlhf4j.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.rlhf4j.tensor.TensorChecks.assertFails;
import static org.rlhf4j.tensor.TensorChecks.assertFailsUntouched;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Shape, dtype, device and index errors fail fast, with a message naming the op, what it expected and what it
 * found, and without writing anything. (Op-specific errors are pinned next to each op's tests as well.)
 */
class BadInputTest {
    private final Tensor f32 = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
    private final Tensor f64 = Tensor.of(new double[] {1, 2, 3, 4, 5, 6}, 2, 3);
    private final Tensor i32 = Tensor.ofInts(new int[] {1, 2, 3, 4, 5, 6}, 2, 3);

    @ParameterizedTest
    @EnumSource(BinaryOp.class)
    void binaryOpsRefuseMixedDtypesInsteadOfPromoting(BinaryOp op) {
        String name = op.name().toLowerCase();
        Tensor[] all = {f32, f64, i32};
        assertFailsUntouched(IllegalArgumentException.class, () -> ElementwiseTest.binary(op, f32, f64), all,
                name + ": dtypes F32 and F64 differ");
        assertFailsUntouched(IllegalArgumentException.class, () -> ElementwiseTest.binary(op, f64, i32), all,
                name + ": dtypes F64 and I32 differ");
        assertFailsUntouched(IllegalArgumentException.class, () -> f32.zipInPlace(op, f64), all,
                name + "InPlace: dtypes F32 and F64 differ");
    }

    @Test
    void shapesThatDoNotBroadcastAreNamedWithTheDimension() {
        assertFails(IllegalArgumentException.class, () -> f32.add(Tensor.zeros(4)),
                "add: shapes [2, 3] and [4] cannot be broadcast: dimension 1 is 3 vs 4");
        assertFails(IllegalArgumentException.class, () -> f32.lt(Tensor.zeros(3, 3, 3)),
                "lt: shapes [2, 3] and [3, 3, 3] cannot be broadcast: dimension 1 is 2 vs 3");
        assertFails(IllegalArgumentException.class, () -> Tensor.fma(f32, f32, Tensor.zeros(3, 2)), "fma", "[2, 3]", "[3, 2]");
    }

    @Test
    void axisErrorsNameTheOpTheAxisAndTheRank() {
        assertFails(IllegalArgumentException.class, () -> f32.sum(2, false), "sum: axis 2 is out of range for a tensor of rank 2");
        assertFails(IllegalArgumentException.class, () -> f32.mean(-3, false), "mean: axis -3 is out of range for a tensor of rank 2");
        assertFails(IllegalArgumentException.class, () -> f32.squeeze(2), "squeeze: axis 2 is out of range for a tensor of rank 2");
        assertFails(IllegalArgumentException.class, () -> f32.select(-3, 0), "select: axis -3 is out of range");
        assertFails(IllegalArgumentException.class, () -> f32.slice(2, 0, 1), "slice: axis 2 is out of range");
        assertFails(IllegalArgumentException.class, () -> f32.narrow(-5, 0, 1), "narrow: axis -5 is out of range");
        assertFails(IllegalArgumentException.class, () -> f32.indexSelect(2, Tensor.ofInts(new int[] {0})), "indexSelect: axis 2");
        assertFails(IllegalArgumentException.class, () -> f32.gather(-3, Tensor.zeros(DType.I32, 2, 3)), "gather: axis -3");
    }

    @Test
    void elementAccessChecksTheIndex() {
        assertFails(IndexOutOfBoundsException.class, () -> f32.get(0, 3), "get: index 3 is out of range for dimension 1 of size 3");
        assertFails(IndexOutOfBoundsException.class, () -> f32.get(-1, 0), "get: index -1 is out of range for dimension 0 of size 2");
        assertFails(IllegalArgumentException.class, () -> f32.get(0), "get: 1 indices for a tensor of rank 2");
        assertFailsUntouched(IndexOutOfBoundsException.class, () -> f32.set(9, 2, 0), new Tensor[] {f32},
                "set: index 2 is out of range for dimension 0 of size 2");
        assertFails(IllegalArgumentException.class, () -> f32.set(9, 0, 0, 0), "set: 3 indices for a tensor of rank 2");
        assertFails(IllegalStateException.class, f32::item, "item: tensor of shape [2, 3] has 6 elements, not 1");
        assertFails(IllegalStateException.class, () -> Tensor.zeros(0).item(), "item", "[0]", "0 elements");
        // a view's index is checked against the view, not the storage behind it
        Tensor row = f32.select(0, 0);
        assertFails(IndexOutOfBoundsException.class, () -> row.get(3), "get: index 3", "size 3");
        assertEquals(6.0, f32.t().get(2, 1));
    }

    @Test
    void creationRejectsNegativeSizes() {
        assertFails(IllegalArgumentException.class, () -> Tensor.zeros(2, -1), "negative dimension", "[2, -1]");
        assertFails(IllegalArgumentException.class, () -> Tensor.empty(DType.F64, -3), "negative dimension");
        assertFails(IllegalArgumentException.class, () -> Tensor.zeros(1 << 16, 1 << 16), "more than 2^31 - 1 elements");
    }

    @Test
    void cudaFailsWithAClearMessageWhenNoCudaBackendIsOnTheClassPath() {
        assertFails(DeviceUnavailableException.class, () -> Device.cuda(0),
                "cuda:0 requested, but no CUDA backend is on the class path (add the rlhf4j-kernels module for CUDA)");
        assertFails(DeviceUnavailableException.class, () -> Device.cuda(3), "cuda:3");
        assertFails(IllegalArgumentException.class, () -> Device.cuda(-1), "cuda device index must be >= 0, found -1");
        assertFails(DeviceUnavailableException.class, () -> Tensor.zeros(DType.F32, Device.of(Device.Kind.CUDA, 0), 2), "cuda:0");
        assertFails(DeviceUnavailableException.class, () -> f32.to(Device.of(Device.Kind.CUDA, 1)), "cuda:1");
    }

    @Test
    void devicesDescribeThemselves() {
        assertEquals("cpu", Device.CPU.toString());
        assertSame(Device.CPU, Device.of(Device.Kind.CPU, 3));
        assertEquals("cuda:1", Device.of(Device.Kind.CUDA, 1).toString());
        assertEquals(Device.of(Device.Kind.CUDA, 1), Device.of(Device.Kind.CUDA, 1));
        assertEquals(Device.of(Device.Kind.CUDA, 1).hashCode(), Device.of(Device.Kind.CUDA, 1).hashCode());
        assertNotEquals(Device.of(Device.Kind.CUDA, 1), Device.of(Device.Kind.CUDA, 2));
        assertNotEquals(Device.CPU, Device.of(Device.Kind.CUDA, 0));
        assertSame(f32, f32.to(Device.CPU));
        assertSame(Backends.cpu(), f32.backend());
        assertEquals(Device.CPU, Backends.cpu().device());
    }

    @Test
    void aFailedOpLeavesEveryOperandAsItWas() {
        Tensor[] all = {f32, f64, i32};
        assertFailsUntouched(IllegalArgumentException.class, () -> f32.addInPlace(Tensor.zeros(3, 2, 3)), all,
                "addInPlace: in-place result has shape [2, 3], but broadcasting with [3, 2, 3] gives [3, 2, 3]");
        assertFailsUntouched(IllegalArgumentException.class, () -> f32.copyFrom(f64.t()), all,
                "copyFrom: shapes [2, 3] and [3, 2] cannot be broadcast");
        assertFailsUntouched(IndexOutOfBoundsException.class,
                () -> f64.scatterAddInPlace(1, Tensor.ofInts(new int[] {0, 1, 2, 0, 1, 3}, 2, 3), f64.copy()), all,
                "scatterAdd: index 3 (at flat position 5) is out of range for axis 1 of size 3");
        assertFailsUntouched(IllegalArgumentException.class, () -> Tensor.gemm(f32, f32, f32, 1, 1), all,
                "gemm: [2, 3] x [2, 3]: inner dimensions 3 and 2 differ");
        assertFailsUntouched(IllegalArgumentException.class, () -> i32.fillUniform(new Generator(1), 0, 1), all,
                "fillUniform: expected an F32 or F64 tensor, found I32");
        assertFailsUntouched(IllegalArgumentException.class, () -> f32.view(3, 3), all,
                "view: cannot reshape [2, 3] (6 elements) into [3, 3] (9 elements)");
    }
}
