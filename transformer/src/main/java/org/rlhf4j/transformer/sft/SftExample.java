package org.rlhf4j.transformer.sft;

/** One tokenized example: the prompt (masked out of the loss by default) and the completion to learn. */
public record SftExample(int[] prompt, int[] completion) {
    public SftExample {
        if (prompt == null || completion == null) throw new IllegalArgumentException("SftExample: null tokens");
        if (prompt.length + completion.length < 2) {
            throw new IllegalArgumentException("SftExample: needs at least two tokens in all, found "
                    + (prompt.length + completion.length));
        }
    }

    /** A plain-text example ({"text": ...}): no prompt, everything is learned. */
    public static SftExample text(int[] tokens) {
        return new SftExample(new int[0], tokens);
    }
}
