package org.rlhf4j.transformer.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Gpt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Hugging Face GPT-2 model directory: {@code config.json} ({@link HfConfig}) and {@code model.safetensors}
 * with {@code GPT2LMHeadModel}'s tensor names.
 *
 * <p>Loading accepts names with the {@code transformer.} prefix (what {@code save_pretrained} writes) or without
 * it (the OpenAI-converted GPT-2 files on the hub, which are {@code GPT2Model}'s), in any dtype
 * {@link SafeTensors} reads. It skips the causal-mask buffers old exports carry ({@code h.N.attn.bias} and
 * {@code h.N.attn.masked_bias}, which are not parameters; skipped only when their rank is not a parameter's
 * (the mask is 4-d, masked_bias 0-d), so that a misnamed parameter is never dropped silently), and checks that
 * an {@code lm_head.weight}, if present, equals the token embedding it is tied to. Every parameter's tensor must be present once with the shape config.json
 * implies; any other tensor is an error too (it would be silently unused). All of this is checked on the header,
 * before any data is read; then tensors are read one at a time straight into the model's parameters.
 */
public final class ModelDirectory {
    public static final String CONFIG_FILE = "config.json";
    public static final String WEIGHTS_FILE = "model.safetensors";

    private static final Logger LOG = LoggerFactory.getLogger(ModelDirectory.class);
    private static final String PREFIX = "transformer.";
    private static final String LM_HEAD = "lm_head.weight";
    private static final Pattern MASK_BUFFER = Pattern.compile("(transformer\\.)?h\\.\\d+\\.attn\\.(bias|masked_bias)");

    private ModelDirectory() {}

    /** Reads {@code dir/config.json}. */
    public static HfConfig readConfig(Path dir) throws IOException {
        return HfConfig.read(dir.resolve(CONFIG_FILE));
    }

    /** Loads the model in {@code dir} with parameters of {@code dtype} (F32 or F64). */
    public static Gpt load(Path dir, DType dtype) throws IOException {
        if (!dtype.isFloatingPoint()) {
            throw new IllegalArgumentException("ModelDirectory.load: dtype must be F32 or F64, found " + dtype);
        }
        Path configFile = dir.resolve(CONFIG_FILE);
        HfConfig config = HfConfig.read(configFile);
        Path weights = dir.resolve(WEIGHTS_FILE);
        // the initial values are all overwritten; a fixed seed keeps construction deterministic
        Gpt model = new Gpt(config.toGptConfig(), dtype, new Generator(0));
        Map<String, Variable> parameters = model.namedParameters();

        try (SafeTensors.Reader reader = SafeTensors.open(weights)) {
            Map<String, SafeTensors.TensorInfo> byParameter = match(weights, configFile, reader.header(), parameters);
            for (var e : byParameter.entrySet()) {
                Tensor t = reader.read(e.getValue().name());
                Tensor p = parameters.get(e.getKey()).data();
                p.copyFrom(t.to(dtype).to(p.device()));
            }
            SafeTensors.TensorInfo lmHead = reader.header().tensors().get(LM_HEAD);
            if (lmHead != null) checkTied(weights, reader.read(LM_HEAD), parameters.get(PREFIX + "wte.weight").data());
        }
        LOG.debug("loaded {} ({} parameters) from {}", config.toGptConfig(), model.parameterCount(), dir);
        return model;
    }

    /**
     * Writes {@code model} to {@code dir} (created if needed) as config.json ({@link HfConfig#of(Gpt.Config)}) and
     * model.safetensors (F32, HF names, no {@code lm_head.weight}), each file atomically.
     */
    public static void save(Gpt model, Path dir) throws IOException {
        save(model, HfConfig.of(model.config()), dir);
    }

    /** As {@link #save(Gpt, Path)} with an explicit config, which must describe {@code model}'s architecture. */
    public static void save(Gpt model, HfConfig config, Path dir) throws IOException {
        if (!config.toGptConfig().equals(model.config())) {
            throw new IllegalArgumentException("ModelDirectory.save: config " + config.toGptConfig()
                    + " does not describe the model " + model.config());
        }
        Files.createDirectories(dir);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (var e : model.stateDict().entrySet()) tensors.put(e.getKey(), e.getValue().to(DType.F32));
        // transformers refuses safetensors files whose metadata lacks format = pt
        SafeTensors.save(dir.resolve(WEIGHTS_FILE), tensors, Map.of("format", "pt"));
        config.write(dir.resolve(CONFIG_FILE));
    }

    /** Maps each parameter to its tensor in the file, refusing missing, duplicate, misshapen and unknown tensors. */
    private static Map<String, SafeTensors.TensorInfo> match(Path weights, Path configFile, SafeTensors.Header header,
            Map<String, Variable> parameters) throws IOException {
        Map<String, SafeTensors.TensorInfo> byParameter = new LinkedHashMap<>();
        for (SafeTensors.TensorInfo info : header.tensors().values()) {
            String name = info.name();
            if (name.equals(LM_HEAD)) continue;
            // 4-d causal mask [1, 1, P, P] and 0-d masked_bias; a 1-d or 2-d tensor would be a misnamed parameter
            if (MASK_BUFFER.matcher(name).matches() && info.shape().length != 1 && info.shape().length != 2) {
                LOG.debug("{}: skipping the attention-mask buffer '{}'", weights, name);
                continue;
            }
            String parameter = parameters.containsKey(name) ? name : PREFIX + name;
            if (!parameters.containsKey(parameter)) {
                throw new ModelFileException(weights, "tensor '" + name + "' " + Arrays.toString(info.shape())
                        + " is not a parameter of GPT2LMHeadModel as " + configFile.getFileName() + " describes it");
            }
            SafeTensors.TensorInfo earlier = byParameter.put(parameter, info);
            if (earlier != null) {
                throw new ModelFileException(weights, "tensors '" + earlier.name() + "' and '" + name
                        + "' both hold parameter '" + parameter + "'");
            }
        }
        for (var e : parameters.entrySet()) {
            SafeTensors.TensorInfo info = byParameter.get(e.getKey());
            if (info == null) {
                throw new ModelFileException(weights, "missing tensor '" + e.getKey() + "' (or '"
                        + e.getKey().substring(PREFIX.length()) + "')");
            }
            if (!Arrays.equals(info.shape(), e.getValue().shape())) {
                throw new ModelFileException(weights, "tensor '" + info.name() + "' has shape " + Arrays.toString(info.shape())
                        + ", but " + configFile.getFileName() + " implies " + Arrays.toString(e.getValue().shape()));
            }
            if (!info.dtype().isReadable() || info.dtype().tensorDType() == DType.I32) {
                throw new ModelFileException(weights, "tensor '" + info.name() + "' has dtype " + info.dtype()
                        + "; parameters must be F64, F32, F16 or BF16");
            }
        }
        SafeTensors.TensorInfo lmHead = header.tensors().get(LM_HEAD);
        if (lmHead != null) {
            int[] wte = parameters.get(PREFIX + "wte.weight").shape();
            if (!Arrays.equals(lmHead.shape(), wte)) {
                throw new ModelFileException(weights, "tensor '" + LM_HEAD + "' has shape " + Arrays.toString(lmHead.shape())
                        + ", but the LM head is tied to the token embedding " + Arrays.toString(wte));
            }
        }
        return byParameter;
    }

    /** Compares in the model's dtype: differences it cannot represent do not matter to the loaded model. */
    private static void checkTied(Path weights, Tensor lmHead, Tensor wte) throws IOException {
        double[] head = lmHead.to(wte.dtype()).toDoubleArray(), embedding = wte.toDoubleArray();
        for (int i = 0; i < head.length; i++) {
            if (Double.doubleToLongBits(head[i]) != Double.doubleToLongBits(embedding[i])) {
                int row = i / wte.size(1), col = i % wte.size(1);
                throw new ModelFileException(weights, "tensor '" + LM_HEAD + "' differs from the token embedding at ["
                        + row + ", " + col + "] (" + head[i] + " vs " + embedding[i]
                        + "); GPT-2's LM head is tied to wte and an untied head is not supported");
            }
        }
    }
}
