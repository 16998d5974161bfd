package org.rlhf4j.rl.data;

/**
 * One supervised fine-tuning example in one of TRL's two layouts: prompt-completion
 * ({@code {"prompt", "completion"}}; only the completion is learned by default) or language modelling
 * ({@code {"text"}}; everything is learned). Exactly one layout is set: {@code text} is null for the first,
 * {@code prompt} and {@code completion} are null for the second.
 */
public record SftRecord(String prompt, String completion, String text) {
    public SftRecord {
        boolean pair = prompt != null && completion != null && text == null;
        boolean plain = prompt == null && completion == null && text != null;
        if (!pair && !plain) {
            throw new IllegalArgumentException("SftRecord: set either prompt and completion, or text alone; found prompt="
                    + (prompt != null) + ", completion=" + (completion != null) + ", text=" + (text != null));
        }
        if (plain && text.isEmpty()) throw new IllegalArgumentException("SftRecord: text is empty");
    }

    /** A prompt-completion example. */
    public static SftRecord of(String prompt, String completion) {
        return new SftRecord(prompt, completion, null);
    }

    /** A language-modelling example. */
    public static SftRecord text(String text) {
        return new SftRecord(null, null, text);
    }

    /** True for the {@code {"text"}} layout. */
    public boolean isText() {
        return text != null;
    }
}
