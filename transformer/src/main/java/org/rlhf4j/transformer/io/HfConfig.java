package org.rlhf4j.transformer.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.rlhf4j.transformer.gpt.Gpt;

/**
 * A Hugging Face GPT-2 {@code config.json}: the keys of {@code transformers.GPT2Config} that decide the
 * architecture, the dropout rates and the special token ids.
 *
 * <p>Reading requires {@code vocab_size}, {@code n_positions} (or its older alias {@code n_ctx}), {@code n_embd},
 * {@code n_layer} and {@code n_head}; the others default as in {@code GPT2Config} ({@code layer_norm_epsilon}
 * 1e-5, dropouts 0.1, {@code activation_function} "gelu_new"), except the token ids, which stay null when absent.
 * Settings this implementation does not follow are refused rather than silently ignored: {@code model_type} other
 * than "gpt2", {@code n_inner} other than null or 4 * n_embd, an activation other than the tanh GELU ("gelu_new",
 * "gelu_pytorch_tanh"), {@code scale_attn_weights} false, {@code scale_attn_by_inverse_layer_idx} true and
 * {@code add_cross_attention} true. Unknown keys are ignored.
 *
 * <p>Writing gives the keys HF writes for GPT-2, sorted, indented by 2 spaces, with the three dropouts equal to
 * the model's dropout.
 */
public record HfConfig(
        int vocabSize,             // vocab_size
        int nPositions,            // n_positions (n_ctx in old files)
        int nEmbd,                 // n_embd
        int nLayer,                // n_layer
        int nHead,                 // n_head
        double layerNormEpsilon,   // layer_norm_epsilon: 1e-5
        double embdPdrop,          // embd_pdrop: 0.1
        double residPdrop,         // resid_pdrop: 0.1; the model's dropout
        double attnPdrop,          // attn_pdrop: 0.1; attention-probability dropout, not applied by Gpt
        String activationFunction, // activation_function: "gelu_new"
        Integer bosTokenId,        // bos_token_id: null when absent
        Integer eosTokenId) {      // eos_token_id: null when absent

    /** The activations that are GPT-2's tanh-approximated GELU. */
    public static final List<String> SUPPORTED_ACTIVATIONS = List.of("gelu_new", "gelu_pytorch_tanh");

    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** Python's {@code json.dumps(indent=2)} layout, as transformers writes it, with "\n" on every platform. */
    private static final DefaultPrettyPrinter PRETTY = prettyPrinter();

    private static DefaultPrettyPrinter prettyPrinter() {
        DefaultIndenter indenter = new DefaultIndenter("  ", "\n");
        DefaultPrettyPrinter printer = new DefaultPrettyPrinter(Separators.createDefaultInstance()
                .withObjectFieldValueSpacing(Separators.Spacing.AFTER));
        printer.indentObjectsWith(indenter);
        printer.indentArraysWith(indenter);
        return printer;
    }

    /**
     * The config of {@code model}'s architecture, with GPT-2's convention for the special tokens: BOS = EOS = the
     * last id ({@code <|endoftext|>} = 50256 for GPT-2's vocabulary).
     */
    public static HfConfig of(Gpt.Config model) {
        return of(model, model.vocabSize() - 1, model.vocabSize() - 1);
    }

    /** The config of {@code model}'s architecture with the given special token ids (null to omit). */
    public static HfConfig of(Gpt.Config model, Integer bosTokenId, Integer eosTokenId) {
        return new HfConfig(model.vocabSize(), model.contextLength(), model.width(), model.layers(), model.heads(),
                model.layerNormEps(), model.dropout(), model.dropout(), model.dropout(), "gelu_new", bosTokenId, eosTokenId);
    }

    /** The model architecture: {@code dropout = resid_pdrop}. */
    public Gpt.Config toGptConfig() {
        return new Gpt.Config(vocabSize, nPositions, nLayer, nHead, nEmbd, layerNormEpsilon, residPdrop);
    }

    /** Reads and validates a config.json. */
    public static HfConfig read(Path file) throws IOException {
        return parse(Files.readAllBytes(file), file);
    }

    /** Parses config.json content; {@code file} names the source in error messages. */
    public static HfConfig parse(byte[] json, Path file) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? ""
                    : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw new ModelFileException(file, "malformed JSON" + where + ": " + SafeTensors.jsonProblem(e), e);
        }
        if (root == null || !root.isObject()) throw new ModelFileException(file, "is not a JSON object");

        String modelType = optionalString(root, "model_type", file, null);
        if (modelType != null && !modelType.equals("gpt2")) {
            throw new ModelFileException(file, "model_type is \"" + modelType + "\"; only \"gpt2\" is supported");
        }
        int vocabSize = requiredPositiveInt(root, "vocab_size", file);
        int nPositions;
        if (present(root, "n_positions")) nPositions = requiredPositiveInt(root, "n_positions", file);
        else if (present(root, "n_ctx")) nPositions = requiredPositiveInt(root, "n_ctx", file);
        else throw new ModelFileException(file, "missing required key \"n_positions\" (or its older alias \"n_ctx\")");
        int nEmbd = requiredPositiveInt(root, "n_embd", file);
        int nLayer = requiredPositiveInt(root, "n_layer", file);
        int nHead = requiredPositiveInt(root, "n_head", file);
        if (nEmbd % nHead != 0) {
            throw new ModelFileException(file, "n_embd " + nEmbd + " is not divisible by n_head " + nHead);
        }
        double eps = optionalDouble(root, "layer_norm_epsilon", file, 1e-5);
        if (!(eps > 0)) throw new ModelFileException(file, "layer_norm_epsilon must be positive, found " + eps);
        double embdPdrop = probability(root, "embd_pdrop", file);
        double residPdrop = probability(root, "resid_pdrop", file);
        double attnPdrop = probability(root, "attn_pdrop", file);

        JsonNode nInner = root.get("n_inner");
        if (nInner != null && !nInner.isNull()) {
            if (!nInner.isIntegralNumber() || nInner.longValue() != 4L * nEmbd) {
                throw new ModelFileException(file, "unsupported config: n_inner is " + nInner
                        + "; only null or 4 * n_embd = " + (4L * nEmbd) + " is supported");
            }
        }
        String activation = optionalString(root, "activation_function", file, "gelu_new");
        if (!SUPPORTED_ACTIVATIONS.contains(activation)) {
            throw new ModelFileException(file, "unsupported config: activation_function \"" + activation
                    + "\"; supported: " + SUPPORTED_ACTIVATIONS + " (GPT-2's tanh GELU)");
        }
        requireFlag(root, "scale_attn_weights", true, file);
        requireFlag(root, "scale_attn_by_inverse_layer_idx", false, file);
        requireFlag(root, "add_cross_attention", false, file);
        Integer bos = optionalTokenId(root, "bos_token_id", file, vocabSize);
        Integer eos = optionalTokenId(root, "eos_token_id", file, vocabSize);
        return new HfConfig(vocabSize, nPositions, nEmbd, nLayer, nHead, eps, embdPdrop, residPdrop, attnPdrop,
                activation, bos, eos);
    }

    /** This config as config.json text: sorted keys, 2-space indent, a final newline. */
    public byte[] toJson() {
        ObjectNode root = JSON.createObjectNode(); // keys added in sorted order
        root.put("activation_function", activationFunction);
        root.putArray("architectures").add("GPT2LMHeadModel");
        root.put("attn_pdrop", attnPdrop);
        if (bosTokenId != null) root.put("bos_token_id", bosTokenId);
        root.put("embd_pdrop", embdPdrop);
        if (eosTokenId != null) root.put("eos_token_id", eosTokenId);
        root.put("initializer_range", 0.02);
        root.put("layer_norm_epsilon", layerNormEpsilon);
        root.put("model_type", "gpt2");
        root.put("n_embd", nEmbd);
        root.put("n_head", nHead);
        root.putNull("n_inner");
        root.put("n_layer", nLayer);
        root.put("n_positions", nPositions);
        root.put("resid_pdrop", residPdrop);
        root.put("torch_dtype", "float32");
        root.put("vocab_size", vocabSize);
        try {
            return (JSON.writer(PRETTY).writeValueAsString(root) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("HfConfig: cannot serialize " + this, e);
        }
    }

    /** Writes config.json atomically (temporary file, then rename). */
    public void write(Path file) throws IOException {
        AtomicFiles.write(file, toJson());
    }

    private static boolean present(JsonNode root, String key) {
        JsonNode v = root.get(key);
        return v != null && !v.isNull();
    }

    private static int requiredPositiveInt(JsonNode root, String key, Path file) throws IOException {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) throw new ModelFileException(file, "missing required key \"" + key + "\"");
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 1) {
            throw new ModelFileException(file, "\"" + key + "\" must be a positive integer, found " + v);
        }
        return v.intValue();
    }

    private static double optionalDouble(JsonNode root, String key, Path file, double fallback) throws IOException {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isNumber()) throw new ModelFileException(file, "\"" + key + "\" must be a number, found " + v);
        return v.doubleValue();
    }

    private static double probability(JsonNode root, String key, Path file) throws IOException {
        double p = optionalDouble(root, key, file, 0.1);
        if (!(p >= 0 && p < 1)) throw new ModelFileException(file, "\"" + key + "\" must be in [0, 1), found " + p);
        return p;
    }

    private static String optionalString(JsonNode root, String key, Path file, String fallback) throws IOException {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) return fallback;
        if (!v.isTextual()) throw new ModelFileException(file, "\"" + key + "\" must be a string, found " + v);
        return v.textValue();
    }

    private static Integer optionalTokenId(JsonNode root, String key, Path file, int vocabSize) throws IOException {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0 || v.intValue() >= vocabSize) {
            throw new ModelFileException(file, "\"" + key + "\" must be a token id in [0, " + vocabSize + "), found " + v);
        }
        return v.intValue();
    }

    private static void requireFlag(JsonNode root, String key, boolean supported, Path file) throws IOException {
        JsonNode v = root.get(key);
        if (v == null || v.isNull()) return;
        if (!v.isBoolean()) throw new ModelFileException(file, "\"" + key + "\" must be a boolean, found " + v);
        if (v.booleanValue() != supported) {
            throw new ModelFileException(file, "unsupported config: \"" + key + "\" is " + v.booleanValue()
                    + "; only " + supported + " is supported");
        }
    }
}
