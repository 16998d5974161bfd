package org.rlhf4j.tests;

import org.rlhf4j.kernels.CudaScope;
import org.rlhf4j.tensor.Tensor;

/** The workloads' step memory on a CUDA device: one {@link CudaScope} per step. */
final class CudaSteps {
    private CudaSteps() {}

    static final Gpt2Workloads.StepMemory MEMORY = new Gpt2Workloads.StepMemory() {
        @Override
        public AutoCloseable open() {
            return CudaScope.open();
        }

        @Override
        public void keep(AutoCloseable scope, Tensor t) {
            ((CudaScope) scope).keep(t);
        }
    };
}
