package org.rlhf4j.autograd;

import java.util.Locale;

/**
 * The arithmetic of matrix products and attention inside an {@link Autocast} scope.
 *
 * <ul>
 *   <li>{@code F32}: every op computes in its tensors' own dtype (F32, or F64 for gradient checks).
 *   <li>{@code BF16}: mixed precision. Matrix products and attention read BF16 copies of their F32 inputs and
 *       accumulate in F32; their outputs, everything else (layer norm, softmax, losses, reductions) and the master
 *       weights and their gradients stay F32. The BF16 copies are what the backward saves, so activations kept for
 *       the matrix products take half the memory. F64 tensors are never lowered.
 * </ul>
 */
public enum Precision {
    F32,
    BF16;

    /** "f32" (also "fp32", "float32") or "bf16" (also "bfloat16"), in any case. */
    public static Precision parse(String name) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "f32": case "fp32": case "float32": return F32;
            case "bf16": case "bfloat16": return BF16;
            default: throw new IllegalArgumentException("precision must be f32 or bf16, found '" + name + "'");
        }
    }

    /** The lower-case name the command line takes. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
