package org.rlhf4j.transformer.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.nn.Module;

/**
 * Everything needed to resume training: the model's tensors, the optimizer's state tensors, the step, the states
 * of the random generators and free-form JSON metadata (hyper-parameters, the data loader's position, ...).
 *
 * <h2>File layout</h2>
 * One safetensors file, so that a single atomic rename publishes the whole checkpoint:
 * <ul>
 *   <li>tensor {@code model.<name>} for each model tensor ({@code model.transformer.wte.weight}), and
 *       {@code optimizer.<name>} for each optimizer tensor ({@code optimizer.exp_avg.transformer.wte.weight}),
 *       stored in their own dtype (F32, F64 or I32), so the round trip is bit-exact;</li>
 *   <li>{@code __metadata__} (all values strings, as the format requires):
 *     <ul>
 *       <li>{@code "format": "rlhf4j-training-checkpoint"}, {@code "format_version": "1"};</li>
 *       <li>{@code "step"}: decimal;</li>
 *       <li>{@code "generators"}: a JSON object {@code {"name": {"seed": "-5", "offset": "42"}}}, the seed as a
 *           signed and the offset as an unsigned 64-bit decimal string (strings, so that no JSON reader rounds
 *           them to a double);</li>
 *       <li>{@code "metadata"}: the free-form metadata as a JSON object, keys sorted;</li>
 *       <li>{@code "rlhf4j.crc32c"}: the CRC-32C of the data buffer, 8 hex digits.</li>
 *     </ul></li>
 * </ul>
 * The file is written to a temporary name in the same directory, flushed and renamed, so a crash leaves either
 * the previous file or the complete new one. Loading validates the safetensors structure (which catches
 * truncation) and the checksum (which catches corrupted data), and fails with a {@link ModelFileException}.
 *
 * <p>Metadata values must be serializable by Jackson; they load back as JSON types ({@code Integer} or
 * {@code Long}, {@code Double}, {@code Boolean}, {@code String}, {@code List}, {@code Map}, null).
 *
 * <p>Tensors are held, not copied: save before the next training step changes them.
 */
public record TrainingCheckpoint(
        Map<String, Tensor> model,
        Map<String, Tensor> optimizer,
        long step,
        Map<String, Generator.State> generators,
        Map<String, Object> metadata) {

    public static final String FORMAT = "rlhf4j-training-checkpoint";
    public static final String FORMAT_VERSION = "1";

    private static final String MODEL_PREFIX = "model.";
    private static final String OPTIMIZER_PREFIX = "optimizer.";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

    public TrainingCheckpoint {
        if (step < 0) throw new IllegalArgumentException("TrainingCheckpoint: step must be >= 0, found " + step);
        model = Collections.unmodifiableMap(new LinkedHashMap<>(model));
        optimizer = Collections.unmodifiableMap(new LinkedHashMap<>(optimizer));
        generators = Collections.unmodifiableMap(new LinkedHashMap<>(generators));
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /** A checkpoint of {@code model}'s parameters and the current states of {@code generators}. */
    public static TrainingCheckpoint of(Module model, Map<String, Tensor> optimizerState, long step,
            Map<String, Generator> generators, Map<String, Object> metadata) {
        Map<String, Generator.State> states = new LinkedHashMap<>();
        for (var e : generators.entrySet()) states.put(e.getKey(), e.getValue().state());
        return new TrainingCheckpoint(model.stateDict(), optimizerState, step, states, metadata);
    }

    /** Copies the model tensors into {@code target}'s parameters (all must be present with matching shapes). */
    public void restoreModel(Module target) {
        target.loadStateDict(model, "training checkpoint");
    }

    /** Sets each generator to its saved state; every one of {@code targets} must have been saved. */
    public void restoreGenerators(Map<String, Generator> targets) {
        for (String name : targets.keySet()) {
            if (!generators.containsKey(name)) {
                throw new IllegalArgumentException("training checkpoint: no state for generator '" + name
                        + "'; it holds " + generators.keySet());
            }
        }
        for (var e : targets.entrySet()) e.getValue().setState(generators.get(e.getKey()));
    }

    /** Writes the checkpoint atomically to {@code file}. */
    public void save(Path file) throws IOException {
        save(file, bytes -> {});
    }

    void save(Path file, SafeTensors.WriteObserver observer) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (var e : model.entrySet()) tensors.put(MODEL_PREFIX + e.getKey(), e.getValue());
        for (var e : optimizer.entrySet()) tensors.put(OPTIMIZER_PREFIX + e.getKey(), e.getValue());

        ObjectNode generatorStates = JSON.createObjectNode();
        for (var e : new TreeMap<>(generators).entrySet()) {
            ObjectNode state = generatorStates.putObject(e.getKey());
            state.put("seed", Long.toString(e.getValue().seed()));
            state.put("offset", Long.toUnsignedString(e.getValue().offset()));
        }
        Map<String, String> header = new LinkedHashMap<>();
        header.put("format", FORMAT);
        header.put("format_version", FORMAT_VERSION);
        header.put("step", Long.toString(step));
        try {
            header.put("generators", JSON.writeValueAsString(generatorStates));
            header.put("metadata", JSON.writeValueAsString(metadata));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": checkpoint metadata cannot be written as JSON: "
                    + e.getOriginalMessage(), e);
        }
        SafeTensors.save(file, tensors, header, true, observer);
    }

    /** Reads a checkpoint written by {@link #save}, verifying its structure and checksum. */
    public static TrainingCheckpoint load(Path file) throws IOException {
        SafeTensors.Contents contents = SafeTensors.read(file);
        Map<String, String> header = contents.metadata();
        if (!FORMAT.equals(header.get("format"))) {
            throw new ModelFileException(file, "not an rlhf4j training checkpoint (metadata \"format\" is "
                    + quoted(header.get("format")) + ", expected \"" + FORMAT + "\")");
        }
        if (!FORMAT_VERSION.equals(header.get("format_version"))) {
            throw new ModelFileException(file, "training checkpoint format_version " + quoted(header.get("format_version"))
                    + " is not supported (expected \"" + FORMAT_VERSION + "\")");
        }
        if (!header.containsKey(SafeTensors.CHECKSUM_KEY)) {
            throw new ModelFileException(file, "training checkpoint has no checksum (metadata \"" + SafeTensors.CHECKSUM_KEY + "\")");
        }
        long step;
        try {
            step = Long.parseLong(required(file, header, "step"));
        } catch (NumberFormatException e) {
            throw new ModelFileException(file, "metadata \"step\" is not an integer: " + quoted(header.get("step")));
        }
        if (step < 0) throw new ModelFileException(file, "metadata \"step\" is negative: " + step);

        Map<String, Tensor> model = new LinkedHashMap<>(), optimizer = new LinkedHashMap<>();
        for (var e : contents.tensors().entrySet()) {
            String name = e.getKey();
            if (name.startsWith(MODEL_PREFIX)) model.put(name.substring(MODEL_PREFIX.length()), e.getValue());
            else if (name.startsWith(OPTIMIZER_PREFIX)) optimizer.put(name.substring(OPTIMIZER_PREFIX.length()), e.getValue());
            else throw new ModelFileException(file, "tensor '" + name + "' is neither model. nor optimizer. state");
        }
        Map<String, Generator.State> generators = parseGenerators(file, required(file, header, "generators"));
        Map<String, Object> metadata;
        try {
            metadata = JSON.readValue(required(file, header, "metadata"), new TypeReference<LinkedHashMap<String, Object>>() {});
        } catch (JsonProcessingException e) {
            throw new ModelFileException(file, "metadata \"metadata\" is not a JSON object: " + e.getOriginalMessage(), e);
        }
        if (metadata == null) throw new ModelFileException(file, "metadata \"metadata\" is null");
        return new TrainingCheckpoint(model, optimizer, step, generators, metadata);
    }

    private static Map<String, Generator.State> parseGenerators(Path file, String json) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new ModelFileException(file, "metadata \"generators\" is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) throw new ModelFileException(file, "metadata \"generators\" is not a JSON object");
        Map<String, Generator.State> states = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode seed = e.getValue().get("seed"), offset = e.getValue().get("offset");
            try {
                if (seed == null || !seed.isTextual() || offset == null || !offset.isTextual()) throw new NumberFormatException();
                states.put(e.getKey(), new Generator.State(Long.parseLong(seed.textValue()),
                        Long.parseUnsignedLong(offset.textValue())));
            } catch (NumberFormatException ex) {
                throw new ModelFileException(file, "generator '" + e.getKey() + "' state " + e.getValue()
                        + " is not {\"seed\": signed 64-bit string, \"offset\": unsigned 64-bit string}");
            }
        }
        return states;
    }

    private static String required(Path file, Map<String, String> header, String key) throws IOException {
        String value = header.get(key);
        if (value == null) throw new ModelFileException(file, "training checkpoint metadata lacks \"" + key + "\"");
        return value;
    }

    private static String quoted(String s) {
        return s == null ? "absent" : "\"" + s + "\"";
    }
}
