package org.rlhf4j.transformer.sft;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** The built-in instruction corpus: a few dozen question/answer pairs in a resource, for tests and quick runs. */
public final class SftCorpus {
    private static final String RESOURCE = "corpus.tsv";

    private SftCorpus() {}

    /** The pairs, as {prompt, completion}; the prompt ends with a space so the answer starts a new word. */
    public static List<String[]> builtIn() {
        try (InputStream in = SftCorpus.class.getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IllegalStateException("SftCorpus: resource " + RESOURCE + " is missing");
            List<String[]> out = new ArrayList<>();
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            String line;
            int n = 0;
            while ((line = r.readLine()) != null) {
                n++;
                if (line.isBlank() || line.startsWith("#")) continue;
                String[] parts = line.split("\t");
                if (parts.length != 2) throw new IllegalStateException("SftCorpus: " + RESOURCE + " line " + n + " is not prompt<TAB>completion");
                out.add(new String[] {parts[0] + " ", parts[1]});
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
