package org.rlhf4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Tensor;

/**
 * The allocator soak on the GPU: a thousand training-like steps (matrix products, elementwise ops, reductions,
 * random numbers) in a CudaScope each leave device memory flat: no cuMemAlloc after warm-up, the same bytes
 * held by the cache, the same free memory reported by the driver, nothing reclaimed by the garbage collector.
 */
@Tag("gpu")
class AllocatorSoakGpuTest {
    @Test
    void aThousandTrainingLikeStepsLeaveDeviceMemoryFlat() {
        org.junit.jupiter.api.Assumptions.assumeFalse(GpuChecks.DRY_RUN, "needs the device allocator");
        Device gpu = GpuChecks.gpu();
        CudaBackend cuda = Cuda.backend(gpu);
        CudaContext ctx = cuda.context();
        Random rnd = new Random(5);
        Tensor w1 = GpuChecks.normal(rnd, 0.05, 256, 1024).to(gpu), w2 = GpuChecks.normal(rnd, 0.05, 1024, 256).to(gpu);
        Tensor x = GpuChecks.normal(rnd, 1, 64, 256).to(gpu);
        long leakedBefore = CudaStorage.leaked();
        CachingAllocator.Stats warm = null;
        long freeWarm = 0;
        double lastLoss = 0;
        for (int step = 0; step < 1000; step++) {
            try (CudaScope scope = CudaScope.open()) {
                Tensor h = x.matmul(w1).gelu();                          // [64, 1024]
                Tensor noise = Tensor.empty(org.rlhf4j.tensor.DType.F32, gpu, 64, 1024);
                cuda.uniform(noise, 9, step, 0, 1);
                Tensor y = h.mul(noise.gt(0.1)).matmul(w2);              // dropout-like mask, [64, 256]
                Tensor loss = y.sub(x).square().mean(1, false).sum();   // scalar
                if (step % 100 == 0) lastLoss = loss.item();
                assertTrue(scope.size() > 5, "the scope tracks the step's tensors");
            }
            if (step == 20) {
                ctx.synchronize();
                warm = ctx.allocator().stats();
                freeWarm = ctx.memoryInfo()[0];
            }
            if (step > 20 && step % 50 == 0) {
                CachingAllocator.Stats now = ctx.allocator().stats();
                assertEquals(warm.rawAllocations(), now.rawAllocations(), "cuMemAlloc calls after warm-up, step " + step);
                assertEquals(warm.bytesReserved(), now.bytesReserved(), "bytes held, step " + step);
                assertEquals(warm.bytesInUse(), now.bytesInUse(), "bytes in use between steps, step " + step);
            }
        }
        ctx.synchronize();
        assertEquals(freeWarm, ctx.memoryInfo()[0], "free device memory after 1000 steps");
        assertEquals(leakedBefore, CudaStorage.leaked(), "storages reclaimed by the garbage collector");
        assertTrue(Double.isFinite(lastLoss), "loss " + lastLoss);
        System.out.printf("allocator soak: %d requests, %d cache hits, %d cuMemAlloc, %.1f MiB held, peak %.1f MiB%n",
                ctx.allocator().stats().requests(), ctx.allocator().stats().cacheHits(),
                ctx.allocator().stats().rawAllocations(), ctx.allocator().stats().bytesReserved() / 1048576.0,
                ctx.allocator().stats().peakBytesInUse() / 1048576.0);
    }

    @Test
    void closingAStorageReturnsItsBlockToTheCache() {
        org.junit.jupiter.api.Assumptions.assumeFalse(GpuChecks.DRY_RUN, "needs the device allocator");
        Device gpu = GpuChecks.gpu();
        CudaContext ctx = Cuda.backend(gpu).context();
        Tensor t = Tensor.zeros(org.rlhf4j.tensor.DType.F32, gpu, 1 << 20);
        long inUse = ctx.allocator().stats().bytesInUse();
        t.storage().close();
        assertEquals(inUse - (4L << 20), ctx.allocator().stats().bytesInUse());
        long raw = ctx.allocator().stats().rawAllocations();
        Tensor u = Tensor.zeros(org.rlhf4j.tensor.DType.F32, gpu, 1 << 20);
        assertEquals(raw, ctx.allocator().stats().rawAllocations(), "the freed block was reused");
        u.storage().close();
    }
}
