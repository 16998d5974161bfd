package org.rlhf4j.kernels;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The parameter sizes of a PTX {@code .entry}, read from the module's text, so that a launch whose arguments do
 * not match the kernel's parameters fails on the host with the kernel's and the parameter's name, instead of
 * running on misread values (cuLaunchKernel reads each parameter's declared size from whatever it is given).
 */
final class PtxSignature {
    private static final Pattern PARAM = Pattern.compile(
            "\\.param\\s+(?:\\.align\\s+\\d+\\s+)?\\.(u8|s8|b8|u16|s16|b16|f16|bf16|u32|s32|b32|f32|u64|s64|b64|f64)"
            + "(?:\\s*\\.ptr(?:\\s*\\.(?:global|const|shared|local))?(?:\\s*\\.align\\s+\\d+)?)?\\s+(\\w+)(?:\\[(\\d+)\\])?");

    private static final Pattern COMMENT = Pattern.compile("//[^\\n]*|/\\*.*?\\*/", Pattern.DOTALL);

    private PtxSignature() {}

    /** Parameter names and byte sizes of {@code entry} in {@code ptx}, or null when it cannot be read. */
    static List<Param> of(String ptx, String entry) {
        if (ptx == null) return null;
        // comments first: one holding a ')' would end the parameter list early
        String code = COMMENT.matcher(ptx).replaceAll(" ");
        Matcher m = Pattern.compile("\\.entry\\s+" + Pattern.quote(entry) + "\\s*\\(([^)]*)\\)").matcher(code);
        if (!m.find()) return null;
        List<Param> out = new ArrayList<>();
        Matcher p = PARAM.matcher(m.group(1));
        while (p.find()) {
            int width = Integer.parseInt(p.group(1).replaceAll("\\D", "")) / 8;
            int count = p.group(3) == null ? 1 : Integer.parseInt(p.group(3));
            out.add(new Param(p.group(2), width * count));
        }
        // a declaration this reader does not know: no check rather than a wrong one
        int declared = m.group(1).split("\\.param\\b", -1).length - 1;
        return declared == out.size() ? out : null;
    }

    record Param(String name, int bytes) {}

    /** Throws IllegalArgumentException naming the first parameter whose argument has another size. */
    static void check(String kernel, List<Param> params, int[] argBytes) {
        if (params == null) return;
        if (params.size() != argBytes.length) {
            throw new IllegalArgumentException(kernel + ": " + params.size() + " parameters " + params + ", "
                    + argBytes.length + " arguments given");
        }
        for (int i = 0; i < argBytes.length; i++) {
            if (params.get(i).bytes() != argBytes[i]) {
                throw new IllegalArgumentException(kernel + ": parameter " + i + " (" + params.get(i).name() + ") takes "
                        + params.get(i).bytes() + " bytes, the argument has " + argBytes[i]);
            }
        }
    }
}
