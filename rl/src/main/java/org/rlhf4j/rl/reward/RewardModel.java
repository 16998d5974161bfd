package org.rlhf4j.rl.reward;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.rlhf4j.autograd.Grad;
import org.rlhf4j.autograd.ShapeOps;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.rl.logprobs.SequenceBatch;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.gpt.ScalarHead;
import org.rlhf4j.transformer.io.HfConfig;
import org.rlhf4j.transformer.io.ModelDirectory;
import org.rlhf4j.transformer.io.SafeTensors;

/**
 * A reward model: a GPT-2 trunk and a scalar head, the reward of a sequence being the head's output at its last
 * real token (Hugging Face's {@code GPT2ForSequenceClassification} with one label, which TRL's RewardTrainer
 * trains). PPO's value model starts as a {@link #copy()} of it and reads the head at every position
 * ({@link #values}).
 *
 * <p>The last real token is found by position, never by token id (pad may equal EOS): in
 * {@link SequenceBatch}'s layout (prompts left-padded to {@code promptWidth}, completions after them) row b's last
 * real token is at {@code promptWidth + completionLengths[b] - 1}, the last prompt token when the completion is
 * empty.
 *
 * <p>Parameters are named as HF's {@code GPT2ForSequenceClassification}: {@code transformer.*} for the trunk,
 * {@code score.weight} {@code [1, C]} for the head, plus {@code score.bias} {@code [1]}, which HF's head does not
 * have (HF would report it as unused; loading an HF file without it sets the bias to 0).
 */
public final class RewardModel {
    /** Prefix of the head's parameters. */
    public static final String HEAD = "score";

    private final Gpt trunk;
    private final ScalarHead head;

    /** A reward model over {@code trunk} (shared, not copied) and {@code head} (width, dtype and device must match). */
    public RewardModel(Gpt trunk, ScalarHead head) {
        Map<String, Variable> h = head.namedParameters();
        int[] w = h.get("weight").shape();
        if (w.length != 2 || w[1] != trunk.config().width()) {
            throw new IllegalArgumentException("RewardModel: head weight " + Arrays.toString(w) + " does not fit the trunk's width "
                    + trunk.config().width());
        }
        if (h.get("weight").dtype() != trunk.dtype()) {
            throw new IllegalArgumentException("RewardModel: head dtype " + h.get("weight").dtype() + " differs from the trunk's " + trunk.dtype());
        }
        if (!head.device().equals(trunk.device())) {
            throw new IllegalArgumentException("RewardModel: the head is on " + head.device() + " but the trunk on "
                    + trunk.device() + "; move one with to(Device)");
        }
        this.trunk = trunk;
        this.head = head;
    }

    /**
     * A fresh head on {@code trunk} (e.g. an SFT model), on the trunk's device: the usual starting point of reward
     * training.
     */
    public static RewardModel withNewHead(Gpt trunk, Generator generator) {
        ScalarHead head = new ScalarHead(trunk.config().width(), trunk.dtype(), generator);
        head.to(trunk.device());
        return new RewardModel(trunk, head);
    }

    public Gpt trunk() {
        return trunk;
    }

    public ScalarHead head() {
        return head;
    }

    public DType dtype() {
        return trunk.dtype();
    }

    /** The device of the parameters; fails if trunk and head are on different ones. */
    public Device device() {
        Device device = trunk.device(), headDevice = head.device();
        if (!device.equals(headDevice)) {
            throw new IllegalStateException("RewardModel: the trunk is on " + device + " but the head on " + headDevice);
        }
        return device;
    }

    /**
     * Moves trunk and head to {@code device}, in place (see {@link org.rlhf4j.transformer.nn.Module#to}); returns
     * this model. Build optimizers after the move.
     */
    public RewardModel to(Device device) {
        trunk.to(device);
        head.to(device);
        return this;
    }

    // ---- forward ----

    /** The head at every position, {@code [B, T]} (PPO's values). */
    public Variable values(SequenceBatch batch) {
        return head.forward(trunk.hidden(batch.ids(), batch.positions(), batch.padMask())); // [B, T]
    }

    /**
     * Row b's last real token, {@code promptWidth + completionLengths[b] - 1}, as an I32 index {@code [B, 1]} on the
     * batch's device (made from the lengths the batch keeps on the host).
     */
    public static Tensor lastTokenIndex(SequenceBatch batch) {
        int b = batch.size();
        int[] index = new int[b];
        for (int i = 0; i < b; i++) index[i] = batch.promptWidth() + batch.completionLengths()[i] - 1;
        return Tensor.ofInts(index, b, 1).to(batch.device());
    }

    /** One reward per row {@code [B]}: the head at the row's last real token, on the model's device. */
    public Variable score(SequenceBatch batch) {
        Variable all = values(batch);                                          // [B, T]
        Tensor index = lastTokenIndex(batch).to(all.data().device());        // a host batch follows the model
        Variable last = ShapeOps.gather(all, 1, index);                       // [B, 1]
        return last.reshape(batch.size());
    }

    /** {@link #score} without a graph, as doubles (one download). */
    public double[] scoreNoGrad(SequenceBatch batch) {
        try (var g = Grad.disabled()) {
            return score(batch).data().to(DType.F64).toDoubleArray();
        }
    }

    // ---- parameters ----

    /** Trunk parameters ({@code transformer.*}), then {@code score.weight} and {@code score.bias}. */
    public Map<String, Variable> namedParameters() {
        Map<String, Variable> out = new LinkedHashMap<>(trunk.namedParameters());
        for (var e : head.namedParameters().entrySet()) out.put(HEAD + "." + e.getKey(), e.getValue());
        return out;
    }

    /** The parameters' tensors by name (shared, not copied). */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : namedParameters().entrySet()) out.put(e.getKey(), e.getValue().data());
        return out;
    }

    /** Copies tensors into the parameters of the same names; all must be present with their exact shapes. */
    public void loadStateDict(Map<String, Tensor> state, String source) {
        Map<String, Tensor> trunkState = new LinkedHashMap<>(), headState = new LinkedHashMap<>();
        for (var e : state.entrySet()) {
            if (e.getKey().startsWith(HEAD + ".")) headState.put(e.getKey().substring(HEAD.length() + 1), e.getValue());
            else trunkState.put(e.getKey(), e.getValue());
        }
        // check both halves before writing either, so that a bad head leaves the trunk untouched
        checkComplete(trunk.namedParameters(), trunkState, "", source);
        checkComplete(head.namedParameters(), headState, HEAD + ".", source);
        trunk.loadStateDict(trunkState, source);
        head.loadStateDict(headState, source);
    }

    private static void checkComplete(Map<String, Variable> own, Map<String, Tensor> state, String prefix, String source) {
        for (var e : own.entrySet()) {
            Tensor t = state.get(e.getKey());
            if (t == null) throw new IllegalArgumentException(source + ": missing tensor '" + prefix + e.getKey() + "'");
            if (!Arrays.equals(t.shape(), e.getValue().shape())) {
                throw new IllegalArgumentException(source + ": tensor '" + prefix + e.getKey() + "' has shape "
                        + Arrays.toString(t.shape()) + ", the model expects " + Arrays.toString(e.getValue().shape()));
            }
        }
        for (String name : state.keySet()) {
            if (!own.containsKey(name)) throw new IllegalArgumentException(source + ": unknown tensor '" + prefix + name + "'");
        }
    }

    /**
     * A deep copy on the same device: new parameters holding the same values, and a dropout generator at the same
     * state, so that the copy (a PPO value model, say) trains without touching this model.
     */
    public RewardModel copy() {
        Device device = device();
        Generator g = new Generator(0);
        g.setState(trunk.generator().state());
        // moved before the values are copied in, so that they go device to device
        Gpt trunkCopy = new Gpt(trunk.config(), trunk.dtype(), g).to(device);
        trunkCopy.loadStateDict(trunk.stateDict(), "RewardModel.copy");
        ScalarHead headCopy = new ScalarHead(trunk.config().width(), trunk.dtype(), new Generator(0));
        headCopy.to(device);
        headCopy.loadStateDict(head.stateDict(), "RewardModel.copy");
        RewardModel out = new RewardModel(trunkCopy, headCopy);
        if (!isTraining()) out.eval();
        return out;
    }

    public void train() {
        trunk.train();
        head.train();
    }

    public void eval() {
        trunk.eval();
        head.eval();
    }

    public boolean isTraining() {
        return trunk.isTraining();
    }

    public void zeroGrad() {
        trunk.zeroGrad();
        head.zeroGrad();
    }

    // ---- files ----

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * Writes {@code dir/config.json} (GPT-2's keys, with {@code architectures = ["GPT2ForSequenceClassification"]} and
     * one label) and {@code dir/model.safetensors} (F32, {@code transformer.*}, {@code score.weight},
     * {@code score.bias}), each atomically.
     */
    public void save(Path dir) throws IOException {
        Files.createDirectories(dir);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (var e : stateDict().entrySet()) tensors.put(e.getKey(), e.getValue().to(DType.F32));
        SafeTensors.save(dir.resolve(ModelDirectory.WEIGHTS_FILE), tensors, Map.of("format", "pt"));

        Map<String, Object> config = new TreeMap<>(JSON.readValue(HfConfig.of(trunk.config()).toJson(),
                new TypeReference<Map<String, Object>>() {}));
        config.put("architectures", List.of("GPT2ForSequenceClassification"));
        config.put("id2label", Map.of("0", "LABEL_0"));
        config.put("label2id", Map.of("LABEL_0", 0));
        byte[] json = (JSON.writeValueAsString(config) + "\n").getBytes(StandardCharsets.UTF_8);
        Path target = dir.resolve(ModelDirectory.CONFIG_FILE);
        Path tmp = Files.createTempFile(dir, ".config", ".tmp");
        try {
            Files.write(tmp, json);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Loads a directory written by {@link #save} (or by HF's {@code GPT2ForSequenceClassification} with one label,
     * whose missing {@code score.bias} is taken as 0) with parameters of {@code dtype}. Every parameter must be
     * present with its shape; an unknown tensor is an error. The model is on the CPU; {@link #to} moves it.
     */
    public static RewardModel load(Path dir, DType dtype) throws IOException {
        if (!dtype.isFloatingPoint()) throw new IllegalArgumentException("RewardModel.load: dtype must be F32 or F64, found " + dtype);
        HfConfig config = ModelDirectory.readConfig(dir);
        Gpt.Config gptConfig = config.toGptConfig();
        // initial values are all overwritten; fixed seeds keep construction deterministic
        RewardModel model = new RewardModel(new Gpt(gptConfig, dtype, new Generator(0)),
                new ScalarHead(gptConfig.width(), dtype, new Generator(0)));
        Path weights = dir.resolve(ModelDirectory.WEIGHTS_FILE);
        Map<String, Tensor> tensors = new LinkedHashMap<>(SafeTensors.load(weights));
        tensors.putIfAbsent(HEAD + ".bias", Tensor.zeros(dtype, 1));
        try {
            model.loadStateDict(tensors, weights.toString());
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        return model;
    }
}
