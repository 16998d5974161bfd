package org.rlhf4j.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.rlhf4j.autograd.Autocast;
import org.rlhf4j.autograd.Precision;
import org.rlhf4j.rl.data.Datasets;
import org.rlhf4j.rl.data.PreferenceRecord;
import org.rlhf4j.rl.data.PromptRecord;
import org.rlhf4j.rl.data.SftRecord;
import org.rlhf4j.rl.logprobs.SequenceBatch;
import org.rlhf4j.rl.logprobs.SequenceLogProbs;
import org.rlhf4j.rl.tasks.Arithmetic;
import org.rlhf4j.rl.tasks.PreferencePair;
import org.rlhf4j.rl.tasks.SyntheticSentiment;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Generation;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.gpt.SamplingConfig;
import org.rlhf4j.transformer.io.HfConfig;
import org.rlhf4j.transformer.tokenizer.ByteTokenizer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The whole pipeline on built-in tasks with a ground truth, each stage run as the subcommand a user would type
 * (and printed as such): SFT on mixed-sentiment reviews, preference pairs sampled from the SFT model and ranked by
 * the ground truth, a reward model, PPO on it, DPO on the pairs; then SFT and GRPO on single-digit addition. The
 * recipes are those of the rl module's learning tests; --quick runs shorter versions of them. Every stage, the
 * sampling of the pairs and the evaluation run on --device in --precision.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false, abbreviateSynopsis = true,
        description = {"The whole pipeline on built-in tasks: SFT, reward model, PPO, DPO, GRPO.",
                "SFT -> reward model -> PPO, and DPO from the same SFT model and preference pairs, on synthetic"
                        + " sentiment; then SFT and GRPO on arithmetic. Each stage runs as its subcommand, printed first."
                        + " Ends with a table: mean ground-truth reward and mean sequence KL to the SFT model of sampled"
                        + " completions for SFT, PPO and DPO, sample completions, and GRPO's accuracy before and after.",
                "Every stage, the sampling of the preference pairs and the evaluation run on --device in --precision;"
                        + " the stages' command lines carry both when they are not the defaults.",
                "Examples:",
                "  rlhf4j demo --quick",
                "  rlhf4j demo --quick --device cuda --precision bf16", ""})
final class DemoCommand implements Callable<Integer> {
    static final String SUMMARY_FILE = "summary.json";

    @Option(names = "--quick", description = "Shorter runs (under two minutes on 2 cores) instead of the full recipes (about six).")
    boolean quick;

    @Option(names = "--output-dir", defaultValue = "rlhf4j-demo", paramLabel = "DIR",
            description = "Where every stage writes its run, and summary.json (default: ${DEFAULT-VALUE}).")
    Path outputDir;

    @Option(names = {"-q", "--quiet"}, description = "No progress bars and no stage commands; only the table.")
    boolean quiet;

    @Mixin
    DeviceOptions devices;

    @Spec
    CommandSpec spec;

    /** Sizes of one demo: the learning tests' recipes, or shorter ones. */
    record Recipe(int sftExamples, int sftSteps, int pairPrompts, int rewardSteps, int ppoIterations, int ppoBatch,
                  int dpoSteps, int evalPrompts, int arithmeticSftSteps, int grpoSteps) {
        static final Recipe FULL = new Recipe(3000, 600, 3000, 400, 30, 32, 150, 300, 400, 250);
        static final Recipe QUICK = new Recipe(2000, 450, 800, 150, 15, 32, 60, 128, 300, 80);
    }

    static final ByteTokenizer TOK = new ByteTokenizer();
    static final int MAX_NEW = 40;
    static final long EVAL_SEED = 4242;

    private PrintStream out;
    private Device device;
    private Precision precision;

    @Override
    public Integer call() throws Exception {
        out = Streams.out();
        devices.check(spec);
        device = devices.resolve(spec); // a GPU that cannot be used fails here, before anything is written
        precision = devices.precision(spec);
        Recipe r = quick ? Recipe.QUICK : Recipe.FULL;
        long start = System.nanoTime();
        Path dir = outputDir;
        Path data = dir.resolve("data");
        Files.createDirectories(data);
        Files.deleteIfExists(dir.resolve(SUMMARY_FILE));
        SyntheticSentiment sentiment = new SyntheticSentiment();

        // ---- sentiment: SFT
        Path sentimentConfig = data.resolve("sentiment-config.json");
        int eos = TOK.eosId();
        new HfConfig(TOK.vocabSize(), 72, 64, 2, 4, 1e-5, 0.0, 0.0, 0.0, "gelu_new", eos, eos).write(sentimentConfig);
        List<SftRecord> sftData = new ArrayList<>();
        for (String[] p : sentiment.sftCorpus(r.sftExamples(), 11)) sftData.add(SftRecord.of(p[0], p[1]));
        Path sftFile = data.resolve("sentiment-sft.jsonl");
        Datasets.writeSft(sftFile, sftData);
        Path sftDir = dir.resolve("sft");
        stage(new SftCommand(), "sft", "--config", sentimentConfig, "--dataset", sftFile, "--learning-rate", "5e-3",
                "--per-device-train-batch-size", "32", "--max-steps", r.sftSteps(), "--lr-scheduler-type", "cosine",
                "--output-dir", sftDir);
        Gpt sft = load(sftDir, "sft");

        // ---- preference pairs: two SFT samples per prompt, the higher ground truth chosen (the DPO paper's setup)
        List<PreferencePair> pairs;
        try (var autocast = Autocast.with(precision)) {
            pairs = SyntheticSentiment.preferencePairs(sentiment.prompts(r.pairPrompts(), 5), sft, TOK,
                    SamplingConfig.sample(MAX_NEW, eos, ModelFiles.padId(TOK), 77));
        }
        int split = pairs.size() * 4 / 5;
        Path pairsFile = data.resolve("sentiment-pairs.jsonl"), trainPairs = data.resolve("sentiment-pairs-train.jsonl"),
                evalPairs = data.resolve("sentiment-pairs-eval.jsonl");
        Datasets.writePreferences(pairsFile, records(pairs));
        Datasets.writePreferences(trainPairs, records(pairs.subList(0, split)));
        Datasets.writePreferences(evalPairs, records(pairs.subList(split, pairs.size())));
        if (!quiet) out.println("demo: " + pairs.size() + " preference pairs sampled from the SFT model -> " + pairsFile);

        // ---- reward model, PPO, DPO
        Path rewardDir = dir.resolve("reward");
        RewardCommand reward = stage(new RewardCommand(), "reward", "--model", sftDir, "--dataset", trainPairs,
                "--eval-dataset", evalPairs, "--learning-rate", "5e-4", "--per-device-train-batch-size", "32",
                "--max-steps", r.rewardSteps(), "--weight-decay", "0.01", "--output-dir", rewardDir);
        double rewardAccuracy = lastNumber(reward.metrics, "eval_accuracy");

        List<PromptRecord> ppoPrompts = new ArrayList<>();
        for (String p : sentiment.prompts(r.ppoIterations() * r.ppoBatch(), 123)) ppoPrompts.add(new PromptRecord(p));
        Path promptsFile = data.resolve("sentiment-prompts.jsonl");
        Datasets.writePrompts(promptsFile, ppoPrompts);
        Path ppoDir = dir.resolve("ppo");
        stage(new PpoCommand(), "ppo", "--model", sftDir, "--reward-model", rewardDir, "--dataset", promptsFile,
                "--learning-rate", "3e-4", "--per-device-train-batch-size", r.ppoBatch(), "--num-mini-batches", "2",
                "--response-length", MAX_NEW, "--temperature", "1.0", "--kl-coef", "0.3", "--max-steps", r.ppoIterations(),
                "--output-dir", ppoDir);

        Path dpoDir = dir.resolve("dpo");
        stage(new DpoCommand(), "dpo", "--model", sftDir, "--dataset", pairsFile, "--learning-rate", "5e-4",
                "--per-device-train-batch-size", "32", "--max-steps", r.dpoSteps(), "--output-dir", dpoDir);

        // ---- arithmetic: SFT on a corpus with 40% right answers, then GRPO with the exact-match reward
        Arithmetic arithmetic = new Arithmetic(9, false);
        Path arithmeticConfig = data.resolve("arithmetic-config.json");
        new HfConfig(TOK.vocabSize(), 16, 64, 2, 4, 1e-5, 0.0, 0.0, 0.0, "gelu_new", eos, eos).write(arithmeticConfig);
        List<SftRecord> arithmeticSft = new ArrayList<>();
        for (String[] p : arithmetic.sftCorpus(600, 1, 0.4)) arithmeticSft.add(SftRecord.of(p[0], p[1]));
        Path arithmeticSftFile = data.resolve("arithmetic-sft.jsonl");
        Datasets.writeSft(arithmeticSftFile, arithmeticSft);
        Path arithmeticSftDir = dir.resolve("arithmetic-sft");
        stage(new SftCommand(), "sft", "--config", arithmeticConfig, "--dataset", arithmeticSftFile, "--learning-rate", "3e-3",
                "--per-device-train-batch-size", "32", "--max-steps", r.arithmeticSftSteps(), "--lr-scheduler-type", "cosine",
                "--seed", "7", "--output-dir", arithmeticSftDir);
        List<PromptRecord> sums = new ArrayList<>();
        for (String p : arithmetic.prompts(16 * r.grpoSteps(), 3)) sums.add(new PromptRecord(p));
        Path sumsFile = data.resolve("arithmetic-prompts.jsonl");
        Datasets.writePrompts(sumsFile, sums);
        Path grpoDir = dir.resolve("grpo");
        stage(new GrpoCommand(), "grpo", "--model", arithmeticSftDir, "--dataset", sumsFile, "--reward-funcs", "arithmetic",
                "--learning-rate", "5e-4", "--per-device-train-batch-size", "128", "--num-generations", "8",
                "--max-completion-length", "4", "--max-steps", r.grpoSteps(), "--output-dir", grpoDir);

        // ---- the table
        List<String> evalPrompts = sentiment.prompts(r.evalPrompts(), 999);
        Row sftRow, ppoRow, dpoRow;
        double before, after;
        try (var autocast = Autocast.with(precision)) {
            sftRow = evaluate("SFT", sft, sft, evalPrompts, sentiment);
            ppoRow = evaluate("PPO", load(ppoDir, "ppo"), sft, evalPrompts, sentiment);
            dpoRow = evaluate("DPO", load(dpoDir, "dpo"), sft, evalPrompts, sentiment);
            before = sampledAccuracy(load(arithmeticSftDir, "arithmetic-sft"), arithmetic, 1000);
            after = sampledAccuracy(load(grpoDir, "grpo"), arithmetic, 2000);
        }
        double seconds = (System.nanoTime() - start) * 1e-9;

        List<Row> rows = List.of(sftRow, ppoRow, dpoRow);
        writeSummary(dir.resolve(SUMMARY_FILE), rows, rewardAccuracy, before, after, seconds);
        printTable(rows, r.evalPrompts(), rewardAccuracy, before, after, seconds);
        return Main.EXIT_OK;
    }

    private static List<PreferenceRecord> records(List<PreferencePair> pairs) {
        List<PreferenceRecord> out = new ArrayList<>(pairs.size());
        for (PreferencePair p : pairs) out.add(p.toRecord());
        return out;
    }

    /** A stage's model, moved to the demo's device as the training commands move theirs. */
    private Gpt load(Path dir, String what) throws IOException {
        return ModelFiles.loadLm(dir, what).to(device);
    }

    /**
     * Runs one stage as its subcommand, on the demo's device and precision, printing the command line it stands for
     * (with --device and --precision when they are not the defaults).
     */
    private <T extends TrainCommand> T stage(T command, String name, Object... args) throws Exception {
        List<String> argv = new ArrayList<>();
        for (Object a : args) argv.add(a.toString());
        if (!device.isCpu()) argv.addAll(List.of("--device", device.toString()));
        if (precision != Precision.F32) argv.addAll(List.of("--precision", precision.label()));
        argv.add("--overwrite-output-dir");
        if (quiet) argv.add("--quiet");
        if (!quiet) out.println("$ rlhf4j " + name + " " + String.join(" ", argv));
        new CommandLine(command).parseArgs(argv.toArray(new String[0]));
        command.call();
        return command;
    }

    private static double lastNumber(List<Map<String, Object>> metrics, String key) {
        for (int i = metrics.size() - 1; i >= 0; i--) {
            if (metrics.get(i).get(key) instanceof Number n) return n.doubleValue();
        }
        return Double.NaN;
    }

    /** One row of the table: a model's sampled completions, scored by the ground truth, and their KL to SFT. */
    record Row(String name, double meanReward, double meanKl, List<String[]> samples) {}

    /**
     * One completion per prompt (temperature 1, seed EVAL_SEED + row, the same for every model); the KL is the
     * k1 estimate of KL(model || SFT) of each sequence, sum over its tokens of log p_model - log p_sft, averaged.
     */
    static Row evaluate(String name, Gpt model, Gpt sft, List<String> prompts, SyntheticSentiment task) {
        model.eval();
        sft.eval();
        int pad = ModelFiles.padId(TOK), eos = TOK.eosId();
        double rewardSum = 0, klSum = 0;
        List<String[]> samples = new ArrayList<>();
        SamplingConfig sampling = SamplingConfig.sample(MAX_NEW, eos, pad, EVAL_SEED);
        for (int from = 0; from < prompts.size(); from += 64) {
            int to = Math.min(prompts.size(), from + 64);
            int[][] ids = new int[to - from][];
            long[] seeds = new long[to - from];
            for (int i = from; i < to; i++) {
                ids[i - from] = TOK.encode(prompts.get(i), false);
                seeds[i - from] = EVAL_SEED + i;
            }
            Generation.Result result = Generation.generate(model, ids, sampling, seeds);
            SequenceBatch batch = SequenceBatch.of(ids, result.completions(), pad, model.dtype(), model.device());
            Tensor mask = batch.completionMask();
            double[] own = SequenceLogProbs.perTokenNoGrad(model, batch, 1.0).mul(mask).sum(1, false).toDoubleArray(); // [B]
            double[] ref = SequenceLogProbs.perTokenNoGrad(sft, batch, 1.0).mul(mask).sum(1, false).toDoubleArray();
            for (int b = 0; b < ids.length; b++) {
                int[] c = result.completions()[b];
                String text = TOK.decode(c, 0, result.endedWithEos()[b] ? c.length - 1 : c.length);
                rewardSum += task.reward(prompts.get(from + b), text);
                klSum += own[b] - ref[b];
                if (samples.size() < 3) samples.add(new String[] {prompts.get(from + b), text});
            }
        }
        return new Row(name, rewardSum / prompts.size(), klSum / prompts.size(), samples);
    }

    /** Mean exact-match reward of 4 samples (temperature 1) for each of the 100 prompts a+b=, a, b in 0..9. */
    static double sampledAccuracy(Gpt model, Arithmetic task, long seed) {
        List<String> prompts = new ArrayList<>();
        for (int a = 0; a <= 9; a++) for (int b = 0; b <= 9; b++) prompts.add(a + "+" + b + "=");
        int[][] ids = new int[prompts.size() * 4][];
        for (int i = 0; i < ids.length; i++) ids[i] = TOK.encode(prompts.get(i / 4));
        model.eval();
        var result = Generation.generate(model, ids, SamplingConfig.sample(4, TOK.eosId(), ModelFiles.padId(TOK), seed));
        double correct = 0;
        for (int i = 0; i < ids.length; i++) correct += task.reward(prompts.get(i / 4), TOK.decode(result.completions()[i]));
        return correct / ids.length;
    }

    private void writeSummary(Path file, List<Row> rows, double rewardAccuracy, double before, double after, double seconds)
            throws Exception {
        ObjectNode root = JsonLines.JSON.createObjectNode();
        root.put("quick", quick);
        root.put("device", device.toString());
        root.put("precision", precision.label());
        ObjectNode sentiment = root.putObject("sentiment");
        for (Row row : rows) {
            ObjectNode o = sentiment.putObject(row.name().toLowerCase(Locale.ROOT));
            o.put("mean_ground_truth_reward", row.meanReward());
            o.put("mean_kl_to_sft", row.meanKl());
            ArrayNode s = o.putArray("samples");
            for (String[] p : row.samples()) s.addObject().put("prompt", p[0]).put("completion", p[1]);
        }
        root.put("reward_model_eval_accuracy", rewardAccuracy);
        ObjectNode grpo = root.putObject("grpo");
        grpo.put("accuracy_before", before);
        grpo.put("accuracy_after", after);
        root.put("seconds", seconds);
        TrainingRun.writeAtomically(file, (JsonLines.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n")
                .getBytes(StandardCharsets.UTF_8));
    }

    private void printTable(List<Row> rows, int evalPrompts, double rewardAccuracy, double before, double after, double seconds) {
        out.println();
        out.println("Synthetic sentiment: " + evalPrompts + " held-out prompts, one sampled completion each (temperature 1);");
        out.println("ground-truth reward = tanh(lexicon score / 2), in (-1, 1); KL = mean sequence KL(model || SFT).");
        out.println();
        out.println(String.format(Locale.ROOT, "%-6s %26s %16s", "model", "mean ground-truth reward", "mean KL to SFT"));
        for (Row row : rows) {
            out.println(String.format(Locale.ROOT, "%-6s %26.3f %16.2f", row.name(), row.meanReward(), row.meanKl()));
        }
        out.println();
        out.println("Sample completions:");
        for (Row row : rows) {
            for (String[] s : row.samples()) out.println(String.format(Locale.ROOT, "  %-4s %s|%s", row.name(), s[0], s[1]));
        }
        out.println();
        out.println(String.format(Locale.ROOT, "Reward model held-out accuracy: %.3f", rewardAccuracy));
        out.println(String.format(Locale.ROOT, "GRPO on a+b= (a, b in 0..9), sampled accuracy: %.3f before -> %.3f after", before, after));
        out.println(String.format(Locale.ROOT, "Demo time: %.0f s on %s (%s); every run is in %s (models, metrics.jsonl, plots/).",
                seconds, device, precision.label(), outputDir));
    }
}
