package org.rlhf4j.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.rlhf4j.autograd.Autocast;
import org.rlhf4j.autograd.Precision;
import org.rlhf4j.rl.data.Datasets;
import org.rlhf4j.rl.data.PromptRecord;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.transformer.gpt.Generation;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.gpt.SamplingConfig;
import org.rlhf4j.transformer.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Completions of prompts with a KV-cache sampler. */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = {"Completions for prompts (arguments or a {\"prompt\"} JSONL file).",
                "Sampling options as Hugging Face's generate(); --temperature 0 decodes greedily.",
                "Example:",
                "  rlhf4j generate --model out/ppo --max-new-tokens 40 \\",
                "      --temperature 0.7 \"Review: the movie was\"", ""})
final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"--model", "--model-name-or-path"}, required = true, paramLabel = "DIR", description = "Model directory.")
    Path model;

    @Mixin
    DeviceOptions devices;

    @Parameters(paramLabel = "PROMPT", arity = "0..*", description = "Prompts (or use --input).")
    List<String> prompts = new ArrayList<>();

    @Option(names = "--input", paramLabel = "FILE", description = "Prompts, JSONL {\"prompt\"}.")
    Path input;

    @Option(paramLabel = "N", names = "--max-new-tokens", defaultValue = "64",
            description = "Tokens per completion at most, also capped by the context (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(paramLabel = "X", names = "--temperature", defaultValue = "1.0", description = "0 is greedy decoding (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(paramLabel = "N", names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens; 0 keeps all (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(paramLabel = "X", names = "--top-p", defaultValue = "1.0", description = "Nucleus sampling; 1 keeps all (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(paramLabel = "N", names = "--num-return-sequences", defaultValue = "1", description = "Completions per prompt (default: ${DEFAULT-VALUE}).")
    int numReturnSequences;

    @Option(paramLabel = "N", names = "--seed", defaultValue = "42", description = "Row i samples with seed + i (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(paramLabel = "NAME", names = "--format", defaultValue = "text",
            description = "text (prompt and completion, one per line) or jsonl ({\"prompt\", \"completion\", \"finish_reason\"}) (default: ${DEFAULT-VALUE}).")
    String format;

    @Override
    public Integer call() throws Exception {
        devices.check(spec);
        Check.atLeast(spec, "--max-new-tokens", maxNewTokens, 1);
        Check.nonNegative(spec, "--temperature", temperature);
        Check.atLeast(spec, "--top-k", topK, 0);
        if (!(topP > 0 && topP <= 1)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--top-p must be in (0, 1], found " + topP);
        }
        Check.atLeast(spec, "--num-return-sequences", numReturnSequences, 1);
        Check.oneOf(spec, "--format", format, "text", "jsonl");
        if (prompts.isEmpty() == (input == null)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "give prompts as arguments or --input FILE, found " + (input == null ? "neither" : "both"));
        }
        Device device = devices.resolve(spec);
        Precision precision = devices.precision(spec);
        List<String> texts = new ArrayList<>(prompts);
        if (input != null) {
            ModelFiles.requireFile(input, "--input");
            for (PromptRecord r : Datasets.readPrompts(input)) texts.add(r.prompt());
            if (texts.isEmpty()) throw new CliException(input + ": no records");
        }
        Gpt gpt = ModelFiles.loadLm(model, "--model").to(device);
        Tokenizer tokenizer = ModelFiles.tokenizer(model, gpt.config().vocabSize());
        int pad = ModelFiles.padId(tokenizer);
        int context = gpt.config().contextLength();
        PrintStream out = Streams.out();
        int row = 0;
        for (String text : texts) {
            int[] ids = tokenizer.encode(text, false);
            if (ids.length == 0) throw new CliException("prompt " + (row + 1) + " is empty");
            if (ids.length >= context) {
                throw new CliException("prompt " + (row + 1) + " has " + ids.length + " tokens; the context length is " + context);
            }
            int[][] batch = new int[numReturnSequences][];
            long[] seeds = new long[numReturnSequences];
            for (int i = 0; i < numReturnSequences; i++) {
                batch[i] = ids;
                seeds[i] = seed + row * (long) numReturnSequences + i;
            }
            SamplingConfig sampling = new SamplingConfig(Math.min(maxNewTokens, context - ids.length), temperature, topK, topP,
                    tokenizer.eosId(), pad, seed);
            Generation.Result result;
            try (var autocast = Autocast.with(precision)) {
                result = Generation.generate(gpt, batch, sampling, seeds);
            }
            for (int i = 0; i < numReturnSequences; i++) {
                int[] tokens = result.completions()[i];
                boolean eos = result.endedWithEos()[i];
                String completion = tokenizer.decode(tokens, 0, eos ? tokens.length - 1 : tokens.length);
                if (format.equals("jsonl")) {
                    ObjectNode o = JsonLines.JSON.createObjectNode();
                    o.put("prompt", text);
                    o.put("completion", completion);
                    o.put("finish_reason", eos ? "stop" : "length");
                    out.println(JsonLines.JSON.writeValueAsString(o));
                } else {
                    out.println(text + completion);
                }
            }
            row++;
        }
        out.flush();
        return Main.EXIT_OK;
    }
}
