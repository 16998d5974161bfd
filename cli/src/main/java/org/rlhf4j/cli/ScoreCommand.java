package org.rlhf4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.rlhf4j.autograd.Autocast;
import org.rlhf4j.autograd.Precision;
import org.rlhf4j.rl.data.DatasetFileException;
import org.rlhf4j.rl.logprobs.SequenceBatch;
import org.rlhf4j.rl.logprobs.SequenceLogProbs;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Per-token log-probs of sequences under a model, for checking it against other tools. */
@Command(name = "score", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = {"Per-token log-probs of texts or token ids under a model.",
                "Each JSONL line is {\"text\": ...} (tokenized with the model directory's tokenizer) or"
                        + " {\"tokens\": [ids]}; one line is printed per input, {\"tokens\": [...], \"logprobs\": [...]},"
                        + " logprobs[i] = log p(tokens[i] | tokens[0..i-1]) at temperature 1, null for the first token.",
                "Example:",
                "  rlhf4j score --model out/sft --input texts.jsonl", ""})
final class ScoreCommand implements Callable<Integer> {
    @Option(names = {"--model", "--model-name-or-path"}, required = true, paramLabel = "DIR", description = "Model directory.")
    Path model;

    @Option(names = "--input", required = true, paramLabel = "FILE", description = "JSONL: {\"text\": ...} or {\"tokens\": [ids]} per line.")
    Path input;

    @Option(paramLabel = "NAME", names = "--dtype", defaultValue = "float32",
            description = "float32 or float64 (CPU only): the dtype of the weights and activations (default: ${DEFAULT-VALUE}).")
    String dtype;

    @picocli.CommandLine.Mixin
    DeviceOptions devices;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        devices.check(spec);
        Check.oneOf(spec, "--dtype", dtype, "float32", "float64");
        DType precision = dtype.equals("float64") ? DType.F64 : DType.F32;
        if (precision == DType.F64 && !devices.device.equals("cpu")) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--dtype float64 runs on the CPU only (the GPU computes in F32), found --device " + devices.device);
        }
        Precision arithmetic = devices.precision(spec);
        if (precision == DType.F64 && arithmetic == Precision.BF16) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "--precision bf16 goes with --dtype float32 (float64 is never lowered)");
        }
        Device device = devices.resolve(spec);
        ModelFiles.requireFile(input, "--input");
        List<JsonLines.Line> lines = JsonLines.read(input);
        Gpt gpt = ModelFiles.loadLm(model, "--model", precision).to(device);
        int vocab = gpt.config().vocabSize(), context = gpt.config().contextLength();
        Tokenizer tokenizer = null;
        int[][] sequences = new int[lines.size()][];
        for (int i = 0; i < lines.size(); i++) { // every line is checked before anything is printed
            JsonLines.Line line = lines.get(i);
            JsonNode text = line.object().get("text"), tokens = line.object().get("tokens");
            int[] ids;
            if ((text == null) == (tokens == null)) {
                throw new DatasetFileException(input, line.number(), "expected {\"text\": string} or {\"tokens\": [ids]}, found "
                        + (text == null ? "neither field" : "both fields"));
            } else if (text != null) {
                if (!text.isTextual()) throw new DatasetFileException(input, line.number(), "field \"text\" must be a string, found " + text.getNodeType());
                if (tokenizer == null) tokenizer = ModelFiles.tokenizer(model, vocab);
                ids = tokenizer.encode(text.textValue());
            } else {
                if (!tokens.isArray()) throw new DatasetFileException(input, line.number(), "field \"tokens\" must be an array of ids");
                ids = new int[tokens.size()];
                for (int j = 0; j < ids.length; j++) {
                    JsonNode t = tokens.get(j);
                    if (!t.isIntegralNumber() || !t.canConvertToInt() || t.intValue() < 0 || t.intValue() >= vocab) {
                        throw new DatasetFileException(input, line.number(), "tokens[" + j + "] must be a token id in [0, " + vocab
                                + "), found " + t);
                    }
                    ids[j] = t.intValue();
                }
            }
            if (ids.length == 0) throw new DatasetFileException(input, line.number(), "no tokens to score");
            if (ids.length > context) {
                throw new DatasetFileException(input, line.number(), ids.length + " tokens exceed the model's context length " + context);
            }
            sequences[i] = ids;
        }
        PrintStream out = Streams.out();
        for (int[] ids : sequences) {
            ObjectNode o = JsonLines.JSON.createObjectNode();
            ArrayNode t = o.putArray("tokens"), lp = o.putArray("logprobs");
            for (int id : ids) t.add(id);
            lp.addNull();
            if (ids.length > 1) {
                // the first token as the "prompt", the rest as the "completion": log-probs of tokens 1..n-1
                SequenceBatch batch = SequenceBatch.of(new int[][] {{ids[0]}},
                        new int[][] {java.util.Arrays.copyOfRange(ids, 1, ids.length)}, 0, precision);
                double[] values;
                try (var autocast = Autocast.with(arithmetic)) {
                    values = SequenceLogProbs.perTokenNoGrad(gpt, batch, 1.0).to(DType.F64).toDoubleArray();
                }
                for (int j = 0; j < ids.length - 1; j++) lp.add(values[j]);
            }
            out.println(JsonLines.JSON.writeValueAsString(o));
        }
        out.flush();
        return Main.EXIT_OK;
    }
}
