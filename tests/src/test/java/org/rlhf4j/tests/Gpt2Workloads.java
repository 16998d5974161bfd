package org.rlhf4j.tests;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.rlhf4j.autograd.Autocast;
import org.rlhf4j.autograd.Loss;
import org.rlhf4j.autograd.Precision;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.rl.dpo.DpoConfig;
import org.rlhf4j.rl.dpo.DpoTrainer;
import org.rlhf4j.rl.dpo.TokenizedPair;
import org.rlhf4j.rl.ppo.PpoConfig;
import org.rlhf4j.rl.ppo.PpoTrainer;
import org.rlhf4j.rl.reward.RewardModel;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.gpt.ScalarHead;
import org.rlhf4j.transformer.optim.AdamW;
import org.rlhf4j.transformer.optim.GradClip;

/**
 * The end-to-end workloads of the GPU benchmark, written once so that the same code runs on the GPU (GPT-2 124M
 * shapes, {@link Gpt2GpuBenchmark}) and here on the stand-in device with a tiny config (Gpt2WorkloadsTest):
 * an SFT step, a DPO step with its reference forward, and a PPO iteration. Random weights and random tokens.
 *
 * <p>Each step ends with {@code sync.run()} (a device synchronisation), so host wall-clock time is device time.
 */
final class Gpt2Workloads {
    /** Sizes of one run: the model, the SFT batch, the DPO pairs and the PPO rollout. */
    record Shapes(Gpt.Config model, int sftBatch, int sftTokens, int dpoPairs, int dpoPrompt, int dpoCompletion,
                  int ppoPrompts, int ppoPromptTokens, int ppoNewTokens) {
        /** GPT-2 124M (vocab 50257, context 1024, 12 layers, 12 heads, width 768, no dropout) at the issue's sizes. */
        static Shapes gpt2Small() {
            Gpt.Config c = new Gpt.Config(50257, 1024, 12, 12, 768, 1e-5, 0.0);
            return new Shapes(c, 8, 1024, 4, 512, 512, 64, 64, 128);
        }

        /** A tiny twin (head width 16) for the stand-in device. */
        static Shapes tiny() {
            Gpt.Config c = new Gpt.Config(300, 64, 2, 2, 32, 1e-5, 0.0);
            return new Shapes(c, 2, 32, 2, 16, 16, 4, 8, 8);
        }
    }

    /**
     * Device memory per step: on a CUDA device each step runs in a CudaScope, which frees the step's tensors when
     * it closes (so the peak is the step's own, not garbage waiting for the collector) and keeps what must outlive
     * it (the optimizer's moments, made in the first step).
     */
    interface StepMemory {
        AutoCloseable open();

        void keep(AutoCloseable scope, Tensor t);

        StepMemory NONE = new StepMemory() {
            @Override
            public AutoCloseable open() {
                return () -> {};
            }

            @Override
            public void keep(AutoCloseable scope, Tensor t) {}
        };
    }

    /** Median seconds of the timed repeats and what the step reported. */
    record Timing(double medianSeconds, Map<String, Double> phases, double loss, long peakBytes) {}

    private final Shapes shapes;
    private final Device device;
    private final Precision precision;
    private final Runnable sync;
    private final java.util.function.LongSupplier peakBytes;
    private final Runnable resetPeak;
    private final StepMemory memory;

    Gpt2Workloads(Shapes shapes, Device device, Precision precision, Runnable sync,
                  java.util.function.LongSupplier peakBytes, Runnable resetPeak, StepMemory memory) {
        this.memory = memory;
        this.shapes = shapes;
        this.device = device;
        this.precision = precision;
        this.sync = sync;
        this.peakBytes = peakBytes;
        this.resetPeak = resetPeak;
    }

    Gpt newModel(long seed) {
        return new Gpt(shapes.model(), DType.F32, new Generator(seed)).to(device);
    }

    static Gpt copyOf(Gpt model) {
        Gpt out = new Gpt(model.config(), model.dtype(), new Generator(0)).to(model.device());
        out.loadStateDict(model.stateDict(), "copy");
        return out;
    }

    private static int[] tokens(Random r, int n, int vocab) {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) out[i] = r.nextInt(vocab);
        return out;
    }

    /**
     * N for model FLOPs: every parameter once (the tied embedding once, positions included), as llm.c counts:
     * V C + T C (embeddings), per layer 12 C^2 + 13 C (attention and MLP weights and biases, two layer norms),
     * and 2 C for the final layer norm. 124,439,808 for GPT-2 124M.
     */
    static long parameterCount(Gpt.Config c) {
        long w = c.width();
        return (long) c.vocabSize() * w + (long) c.contextLength() * w + c.layers() * (12 * w * w + 13 * w) + 2 * w;
    }

    /** Model FLOPs of one SFT step on {@code tokens} tokens: (6N + 12 L T C) per token (forward + backward). */
    static double sftFlops(Gpt.Config c, long n, int tokensPerRow, long tokens) {
        return (6.0 * n + 12.0 * c.layers() * tokensPerRow * c.width()) * tokens;
    }

    /** Runs one step in a {@link StepMemory} scope, keeping the optimizer's state. */
    private void scoped(Runnable step, AdamW optimizer) {
        AutoCloseable scope = memory.open();
        try {
            step.run();
            for (Tensor t : optimizer.state().values()) memory.keep(scope, t);
            sync.run();
        } finally {
            try {
                scope.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private double timeMedian(int warmups, int runs, AdamW optimizer, Runnable step) {
        for (int i = 0; i < warmups; i++) scoped(step, optimizer);
        double[] t = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            scoped(step, optimizer);
            t[i] = (System.nanoTime() - t0) * 1e-9;
        }
        java.util.Arrays.sort(t);
        return t[runs / 2];
    }

    /** One SFT step: forward, masked-free cross-entropy, backward, clip 1.0, AdamW (lr 1e-4, decay 0.01). */
    Timing sftStep(int warmups, int runs) {
        Gpt model = newModel(1);
        model.train();
        AdamW optimizer = new AdamW(model.namedParameters(), AdamW.Config.defaults().withLearningRate(1e-4).withWeightDecay(0.01));
        Random r = new Random(2);
        int b = shapes.sftBatch(), t = shapes.sftTokens(), v = shapes.model().vocabSize();
        int[] seq = tokens(r, b * (t + 1), v), in = new int[b * t], out = new int[b * t];
        for (int i = 0; i < b; i++) {
            System.arraycopy(seq, i * (t + 1), in, i * t, t);
            System.arraycopy(seq, i * (t + 1) + 1, out, i * t, t);
        }
        Tensor inputs = Tensor.ofInts(in, b, t).to(device), targets = Tensor.ofInts(out, b, t).to(device);
        double[] loss = new double[1];
        resetPeak.run();
        double seconds = timeMedian(warmups, runs, optimizer, () -> {
            Variable l;
            try (var p = Autocast.with(precision)) {
                l = Loss.crossEntropy(model.forward(inputs), targets);
            }
            l.backward();
            GradClip.clipGlobalNormOrThrow(model.namedParameters(), 1.0);
            optimizer.step();
            optimizer.zeroGrad();
            if (loss[0] == 0) loss[0] = l.data().item(); // the first (warm-up) step's loss: the random model's
        });
        return new Timing(seconds, Map.of(), loss[0], peakBytes.getAsLong());
    }

    private List<TokenizedPair> pairs(Random r) {
        int v = shapes.model().vocabSize();
        List<TokenizedPair> out = new ArrayList<>();
        for (int i = 0; i < shapes.dpoPairs(); i++) {
            out.add(new TokenizedPair(tokens(r, shapes.dpoPrompt(), v), tokens(r, shapes.dpoCompletion(), v),
                    tokens(r, shapes.dpoCompletion(), v)));
        }
        return out;
    }

    /**
     * One DPO step on {@code dpoPairs} pairs: the reference model's log-probs of the batch (a forward without a
     * graph), then the policy's step (forward on chosen and rejected together, sigmoid loss with beta 0.1,
     * backward, clip, AdamW). Phases: reference, policy step.
     */
    Timing dpoStep(int warmups, int runs) {
        Gpt policy = newModel(3), reference = copyOf(policy);
        List<TokenizedPair> pairs = pairs(new Random(4));
        int length = shapes.dpoPrompt() + shapes.dpoCompletion();
        DpoConfig config = DpoConfig.defaults().withBatchSize(shapes.dpoPairs()).withMaxSteps(1_000_000)
                .withLearningRate(1e-6).withLengths(length, shapes.dpoPrompt(), shapes.dpoCompletion(), "keep_end")
                .withPrecision(precision);
        DpoTrainer trainer = new DpoTrainer(policy, reference, config, pairs, 0);
        double[] ref = new double[runs + warmups], step = new double[runs + warmups];
        double[] loss = {Double.NaN};
        int[] i = {0};
        resetPeak.run();
        double seconds = timeMedian(warmups, runs, trainer.optimizer(), () -> {
            long t0 = System.nanoTime();
            trainer.referenceLogProbs(pairs);
            sync.run();
            long t1 = System.nanoTime();
            Map<String, Object> m = trainer.trainStep();
            sync.run();
            ref[i[0]] = (t1 - t0) * 1e-9;
            step[i[0]] = (System.nanoTime() - t1) * 1e-9;
            if (i[0] == 0) loss[0] = ((Number) m.get("loss")).doubleValue();
            i[0]++;
        });
        Map<String, Double> phases = new LinkedHashMap<>();
        phases.put("reference forward", median(ref, warmups));
        phases.put("policy step", median(step, warmups));
        return new Timing(seconds, phases, loss[0], peakBytes.getAsLong());
    }

    /**
     * One PPO iteration: rollout of {@code ppoNewTokens} for {@code ppoPrompts} prompts with the KV cache, scoring by
     * a reward model, values, GAE, then TRL's default 4 PPO epochs of one minibatch. Phases from the trainer's own
     * time/* metrics (generation, log-probs, scoring, forward, backward).
     */
    Timing ppoIteration(int warmups, int runs) {
        Gpt policy = newModel(5), reference = copyOf(policy);
        ScalarHead head = new ScalarHead(shapes.model().width(), DType.F32, new Generator(7));
        head.to(device);
        RewardModel rewardModel = new RewardModel(newModel(6), head);
        RewardModel valueModel = rewardModel.copy();
        PpoTrainer.Scorer scorer = rollout -> {
            try (var p = Autocast.with(precision); var g = org.rlhf4j.autograd.Grad.disabled()) {
                return rewardModel.score(rollout.batch()).data().to(DType.F64).toDoubleArray();
            }
        };
        PpoConfig config = PpoConfig.defaults().with(1e-6, shapes.ppoPrompts(), 1, shapes.ppoNewTokens()).withPrecision(precision);
        PpoTrainer trainer = new PpoTrainer(policy, reference, valueModel, scorer, config, -1, 0);
        Random r = new Random(8);
        int[][] prompts = new int[shapes.ppoPrompts()][];
        for (int p = 0; p < prompts.length; p++) prompts[p] = tokens(r, shapes.ppoPromptTokens(), shapes.model().vocabSize());
        Map<String, double[]> phaseRuns = new LinkedHashMap<>();
        double[] loss = {Double.NaN};
        int[] i = {0};
        resetPeak.run();
        double seconds = timeMedian(warmups, runs, trainer.optimizer(), () -> {
            Map<String, Object> m = trainer.trainStep(prompts);
            for (var e : m.entrySet()) {
                if (e.getKey().startsWith("time/") && e.getValue() instanceof Number) {
                    phaseRuns.computeIfAbsent(e.getKey().substring(5), k -> new double[warmups + runs])[i[0]] =
                            ((Number) e.getValue()).doubleValue();
                }
            }
            if (i[0] == 0) loss[0] = ((Number) m.get("loss/policy_avg")).doubleValue();
            i[0]++;
        });
        Map<String, Double> phases = new LinkedHashMap<>();
        for (var e : phaseRuns.entrySet()) phases.put(e.getKey(), median(e.getValue(), warmups));
        return new Timing(seconds, phases, loss[0], peakBytes.getAsLong());
    }

    private static double median(double[] all, int skip) {
        double[] t = java.util.Arrays.copyOfRange(all, skip, all.length);
        java.util.Arrays.sort(t);
        return t[t.length / 2];
    }

    Shapes shapes() {
        return shapes;
    }
}
