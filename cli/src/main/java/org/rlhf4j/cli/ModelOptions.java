package org.rlhf4j.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.io.HfConfig;
import org.rlhf4j.transformer.tokenizer.Tokenizer;
import picocli.CommandLine.Option;

/** The model a training command starts from: an HF model directory, or a config.json to start from scratch. */
final class ModelOptions {
    @Option(names = {"--model", "--model-name-or-path"}, paramLabel = "DIR",
            description = "Hugging Face GPT-2 model directory (config.json, model.safetensors; vocab.json + merges.txt for BPE).")
    Path model;

    @Option(names = "--config", paramLabel = "FILE",
            description = "A GPT-2 config.json to start from freshly initialised weights instead of --model.")
    Path config;

    @Option(names = "--tokenizer", paramLabel = "DIR",
            description = "Directory with vocab.json and merges.txt for a --config model (default: byte-level, vocab_size 258).")
    Path tokenizerDir;

    private HfConfig hfConfig;
    private Tokenizer tokenizer;

    void validate() {
        if ((model == null) == (config == null)) {
            throw new CliException("give exactly one of --model DIR and --config FILE, found "
                    + (model == null ? "neither" : "both"));
        }
        if (model != null) ModelFiles.requireDirectory(model, "--model");
        else ModelFiles.requireFile(config, "--config");
        if (tokenizerDir != null && model != null) throw new CliException("--tokenizer goes with --config; a --model directory has its own");
        if (tokenizerDir != null && !ModelFiles.hasBpeFiles(tokenizerDir)) {
            throw new CliException("--tokenizer " + tokenizerDir + ": expected vocab.json and merges.txt in it");
        }
    }

    /** The starting model: loaded, or freshly initialised from {@code seed}. */
    Gpt load(long seed) throws IOException {
        if (model != null) return ModelFiles.loadLm(model, "--model");
        hfConfig = ModelFiles.readConfig(config);
        Gpt fresh = new Gpt(hfConfig.toGptConfig(), DType.F32, new Generator(seed));
        fresh.eval();
        return fresh;
    }

    /** The reference model: the {@code refModel} directory when given, else a second copy of the starting model. */
    Gpt loadReference(Path refModel, long seed) throws IOException {
        return refModel != null ? ModelFiles.loadLm(refModel, "--ref-model") : load(seed);
    }

    /** Where the tokenizer files are (null for the byte-level tokenizer). */
    Path tokenizerSource() {
        return model != null ? model : tokenizerDir;
    }

    Tokenizer tokenizer(int vocabSize) throws IOException {
        if (tokenizer == null) tokenizer = ModelFiles.tokenizer(tokenizerSource(), vocabSize);
        return tokenizer;
    }

    Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        if (model != null) m.put("model_name_or_path", model.toString());
        if (config != null) m.put("config", config.toString());
        if (tokenizerDir != null) m.put("tokenizer", tokenizerDir.toString());
        return m;
    }
}
