package org.rlhf4j.autograd;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import org.junit.jupiter.api.Test;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;

/**
 * Token log-probs at GPT-2 scale (V = 50257, B*T = 2048) keep nothing of size B*T*V alive after forward besides
 * the logits themselves: what backward saves is the logits, the targets and a [B*T] logsumexp.
 */
class TokenLogProbsMemoryTest {
    private static final int ROWS = 2048, VOCAB = 50257;

    private static long usedAfterGc(MemoryMXBean memory) {
        for (int i = 0; i < 3; i++) System.gc();
        return memory.getHeapMemoryUsage().getUsed();
    }

    @Test
    void forwardKeepsOnlyTheLogitsAndPerRowState() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        Tensor logitsData = Tensor.empty(DType.F32, 2, ROWS / 2, VOCAB).fillUniform(new Generator(1), -4, 4);
        Tensor targets = Tensor.empty(DType.F32, 2, ROWS / 2).fillUniform(new Generator(2), 0, VOCAB).to(DType.I32);
        Variable logits = Variable.parameter(logitsData);
        long before = usedAfterGc(memory);

        Variable logp = Nn.tokenLogProbs(logits, targets, 1.0);

        long after = usedAfterGc(memory);
        long logitsBytes = 4L * ROWS * VOCAB; // 412 MB
        // Everything alive that forward added: logp, lse and bookkeeping, a few [B*T] arrays. Far below one more
        // copy of the logits; 16 MB of slack for the collector's accounting.
        assertTrue(after - before < 16L << 20,
                "forward kept " + (after - before) + " bytes alive; one [B,T,V] tensor is " + logitsBytes);
        for (Tensor saved : logp.gradFn().savedTensors()) {
            assertTrue(saved.storage() == logitsData.storage() || saved.numel() <= ROWS,
                    "saved a tensor of shape " + java.util.Arrays.toString(saved.shape()));
        }
        // and backward still works from that state
        logp.sum().backward();
        assertTrue(logits.grad().numel() == ROWS * VOCAB);
    }
}
