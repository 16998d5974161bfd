package org.rlhf4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.rlhf4j.rl.data.Datasets;
import org.rlhf4j.rl.data.PreferenceRecord;
import org.rlhf4j.rl.dpo.TokenizedPair;
import org.rlhf4j.transformer.tokenizer.Tokenizer;

/** Preference JSONL ({"prompt", "chosen", "rejected"}) tokenized as TRL does: completions end with EOS. */
final class Pairs {
    private Pairs() {}

    static List<TokenizedPair> read(Path file, Tokenizer tokenizer) throws IOException {
        List<PreferenceRecord> records = Datasets.readPreferences(file);
        if (records.isEmpty()) throw new CliException(file + ": no records");
        List<TokenizedPair> out = new ArrayList<>(records.size());
        for (int i = 0; i < records.size(); i++) {
            PreferenceRecord r = records.get(i);
            int[] prompt = tokenizer.encode(r.prompt(), false);
            if (prompt.length == 0) throw new CliException(file + ": record " + (i + 1) + ": the prompt is empty");
            out.add(new TokenizedPair(prompt, withEos(tokenizer.encode(r.chosen(), false), tokenizer.eosId()),
                    withEos(tokenizer.encode(r.rejected(), false), tokenizer.eosId())));
        }
        return out;
    }

    static int[] withEos(int[] tokens, int eos) {
        int[] out = Arrays.copyOf(tokens, tokens.length + 1);
        out[tokens.length] = eos;
        return out;
    }
}
