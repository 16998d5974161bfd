package org.rlhf4j.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.rlhf4j.autograd.Precision;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.cpu.StandInBackend;

/**
 * The GPU benchmark's workloads, run here with a tiny config on the stand-in device (CPU arithmetic under a CUDA
 * name), so that the code the GPU run depends on is exercised by every build: every tensor stays on the model's
 * device, the losses of the random models are what they must be, and every phase is reported.
 */
class Gpt2WorkloadsTest {
    private static final Device DEVICE = StandInBackend.install(5);

    @Test
    void sftDpoAndPpoWorkloadsRunOnADeviceInBf16() {
        Gpt2Workloads.Shapes s = Gpt2Workloads.Shapes.tiny();
        Gpt2Workloads w = new Gpt2Workloads(s, DEVICE, Precision.BF16, () -> {}, () -> 0L, () -> {}, Gpt2Workloads.StepMemory.NONE);
        Gpt2Workloads.Timing sft = w.sftStep(1, 1);
        // a random model's loss is about ln V (its logits are small)
        assertEquals(Math.log(s.model().vocabSize()), sft.loss(), 0.1);
        Gpt2Workloads.Timing dpo = w.dpoStep(1, 1);
        // policy and reference start equal: -log sigmoid(0) = ln 2
        assertEquals(Math.log(2), dpo.loss(), 1e-6);
        assertTrue(dpo.phases().containsKey("reference forward") && dpo.phases().containsKey("policy step"), dpo.phases().toString());
        Gpt2Workloads.Timing ppo = w.ppoIteration(0, 1);
        assertTrue(ppo.phases().containsKey("generation_s") && ppo.phases().containsKey("backward_s"), ppo.phases().toString());
        assertTrue(Double.isFinite(ppo.loss()), "ppo policy loss " + ppo.loss());
        assertTrue(sft.medianSeconds() > 0 && dpo.medianSeconds() > 0 && ppo.medianSeconds() > 0);
    }

    @Test
    void theParameterCountFormulaCountsWhatTheModelHolds() {
        Gpt2Workloads.Shapes s = Gpt2Workloads.Shapes.tiny();
        assertEquals(new Gpt2Workloads(s, DEVICE, Precision.F32, () -> {}, () -> 0L, () -> {},
                Gpt2Workloads.StepMemory.NONE).newModel(0).parameterCount(), Gpt2Workloads.parameterCount(s.model()));
        // GPT-2 124M as llm.c counts it (its vocabulary unpadded): 124,439,808
        assertEquals(124_439_808L, Gpt2Workloads.parameterCount(Gpt2Workloads.Shapes.gpt2Small().model()));
    }

    @Test
    void sftFlopsFollowTheSixNPlusAttentionFormula() {
        // GPT-2 124M, 8 x 1024 tokens: by hand, (6 * 124439808 + 12 * 12 * 1024 * 768) * 8192
        double expected = (6.0 * 124_439_808 + 12.0 * 12 * 1024 * 768) * 8192;
        assertEquals(expected, Gpt2Workloads.sftFlops(Gpt2Workloads.Shapes.gpt2Small().model(), 124_439_808, 1024, 8192), 1.0);
    }
}
