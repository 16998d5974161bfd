package org.rlhf4j.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.rlhf4j.rl.reward.RewardModel;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.io.HfConfig;
import org.rlhf4j.transformer.io.ModelDirectory;
import org.rlhf4j.transformer.tokenizer.ByteTokenizer;
import org.rlhf4j.transformer.tokenizer.Gpt2BpeTokenizer;
import org.rlhf4j.transformer.tokenizer.Tokenizer;

/**
 * Model directories as the command reads and writes them: Hugging Face's layout ({@code config.json},
 * {@code model.safetensors}) plus the tokenizer, which is GPT-2's BPE when the directory holds {@code vocab.json}
 * and {@code merges.txt}, and otherwise the built-in byte-level tokenizer (which needs {@code vocab_size} 258).
 */
final class ModelFiles {
    private static final int BYTE_VOCAB = new ByteTokenizer().vocabSize();

    private ModelFiles() {}

    static void requireDirectory(Path dir, String what) {
        if (!Files.isDirectory(dir)) {
            throw new CliException(what + " " + dir + ": " + (Files.exists(dir) ? "is not a directory" : "no such directory"));
        }
        if (!Files.isRegularFile(dir.resolve(ModelDirectory.CONFIG_FILE))) {
            throw new CliException(what + " " + dir + ": has no " + ModelDirectory.CONFIG_FILE
                    + " (expected a Hugging Face model directory: config.json and model.safetensors)");
        }
    }

    static void requireFile(Path file, String what) {
        if (!Files.exists(file)) throw new CliException(what + " " + file + ": no such file");
        if (Files.isDirectory(file)) throw new CliException(what + " " + file + ": is a directory, not a file");
        if (!Files.isReadable(file)) throw new CliException(what + " " + file + ": is not readable");
    }

    /** The causal LM in {@code dir}, F32. */
    static Gpt loadLm(Path dir, String what) throws IOException {
        return loadLm(dir, what, DType.F32);
    }

    static Gpt loadLm(Path dir, String what, DType dtype) throws IOException {
        requireDirectory(dir, what);
        try {
            Gpt model = ModelDirectory.load(dir, dtype);
            model.eval();
            return model;
        } catch (NoSuchFileException e) {
            throw new CliException(what + " " + dir + ": missing " + e.getFile());
        }
    }

    /** The reward (or value) model in {@code dir}, F32. */
    static RewardModel loadRewardModel(Path dir, String what) throws IOException {
        requireDirectory(dir, what);
        try {
            RewardModel model = RewardModel.load(dir, DType.F32);
            model.eval();
            return model;
        } catch (NoSuchFileException e) {
            throw new CliException(what + " " + dir + ": missing " + e.getFile());
        }
    }

    /** Moves trunk and head of {@code model} to {@code device}, in place; returns it. */
    static RewardModel onDevice(RewardModel model, Device device) {
        model.trunk().to(device);
        model.head().to(device);
        return model;
    }

    /** Whether {@code dir/config.json} names GPT2ForSequenceClassification (a reward or value model). */
    static boolean isRewardModel(Path dir) throws IOException {
        Path file = dir.resolve(ModelDirectory.CONFIG_FILE);
        com.fasterxml.jackson.databind.JsonNode root;
        try {
            root = JsonLines.JSON.readTree(Files.readAllBytes(file));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return false; // the model loader reports the malformed file with its line and column
        }
        com.fasterxml.jackson.databind.JsonNode arch = root == null ? null : root.get("architectures");
        if (arch == null || !arch.isArray()) return false;
        for (var a : arch) if ("GPT2ForSequenceClassification".equals(a.asText())) return true;
        return false;
    }

    static boolean hasBpeFiles(Path dir) {
        return dir != null && Files.isRegularFile(dir.resolve(Gpt2BpeTokenizer.VOCAB_FILE))
                && Files.isRegularFile(dir.resolve(Gpt2BpeTokenizer.MERGES_FILE));
    }

    /** The tokenizer for a model of {@code vocabSize} ids whose files are in {@code dir} (null: none). */
    static Tokenizer tokenizer(Path dir, int vocabSize) throws IOException {
        if (hasBpeFiles(dir)) {
            Tokenizer t = Gpt2BpeTokenizer.load(dir);
            if (t.vocabSize() > vocabSize) {
                throw new CliException(dir + ": the tokenizer has " + t.vocabSize() + " ids but the model's vocab_size is " + vocabSize);
            }
            return t;
        }
        if (vocabSize != BYTE_VOCAB) {
            throw new CliException((dir == null ? "the model" : dir.toString()) + ": no tokenizer: expected "
                    + Gpt2BpeTokenizer.VOCAB_FILE + " and " + Gpt2BpeTokenizer.MERGES_FILE + " (GPT-2 BPE), or vocab_size "
                    + BYTE_VOCAB + " for the built-in byte-level tokenizer; found vocab_size " + vocabSize);
        }
        return new ByteTokenizer();
    }

    /** Padding: the tokenizer's pad token, else EOS (as TRL does for GPT-2). */
    static int padId(Tokenizer t) {
        return t.padId().orElse(t.eosId());
    }

    /** Copies the tokenizer files of {@code from} (if any) into {@code to}. */
    static void copyTokenizer(Path from, Path to) throws IOException {
        if (!hasBpeFiles(from)) return;
        Files.createDirectories(to);
        for (String name : new String[] {Gpt2BpeTokenizer.VOCAB_FILE, Gpt2BpeTokenizer.MERGES_FILE}) {
            Path target = to.resolve(name);
            Path tmp = to.resolve("." + name + ".tmp");
            Files.copy(from.resolve(name), tmp, StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
    }

    /** An HF config.json to build a fresh model from. */
    static HfConfig readConfig(Path file) throws IOException {
        requireFile(file, "config");
        return HfConfig.read(file);
    }
}
