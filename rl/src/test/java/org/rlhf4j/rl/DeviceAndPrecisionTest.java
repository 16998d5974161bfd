package org.rlhf4j.rl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhf4j.autograd.Precision;
import org.rlhf4j.rl.dpo.DpoConfig;
import org.rlhf4j.rl.dpo.DpoTrainer;
import org.rlhf4j.rl.dpo.ReferenceLogProbs;
import org.rlhf4j.rl.dpo.TokenizedPair;
import org.rlhf4j.rl.grpo.GrpoConfig;
import org.rlhf4j.rl.grpo.GrpoTrainer;
import org.rlhf4j.rl.ppo.PpoConfig;
import org.rlhf4j.rl.ppo.PpoTrainer;
import org.rlhf4j.rl.reward.RewardConfig;
import org.rlhf4j.rl.reward.RewardModel;
import org.rlhf4j.rl.reward.RewardTrainer;
import org.rlhf4j.rl.tasks.Arithmetic;
import org.rlhf4j.rl.tasks.SyntheticSentiment;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.tensor.cpu.StandInBackend;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.io.TrainingCheckpoint;
import org.rlhf4j.transformer.tokenizer.ByteTokenizer;

/**
 * Every rl trainer off the CPU, on the stand-in device (the CPU's arithmetic under a CUDA name: a tensor left on the
 * host fails with "devices differ"), and in BF16 mixed precision. Off the CPU the gradient norm for clipping is
 * summed on the device, so once an update is clipped the runs differ in the last bits: the first step's loss must
 * match bit for bit, later metrics within a small relative tolerance.
 */
class DeviceAndPrecisionTest {
    private static final Device DEVICE = StandInBackend.install(5);
    private static final ByteTokenizer TOK = new ByteTokenizer();
    private static final int PAD = TOK.padId().getAsInt(), EOS = TOK.eosId();
    private static final Gpt.Config CONFIG = new Gpt.Config(TOK.vocabSize(), 72, 1, 2, 32, 1e-5, 0.0);
    private static final SyntheticSentiment SENTIMENT = new SyntheticSentiment();
    private static final Arithmetic ARITHMETIC = new Arithmetic(9, false);
    private static final double RTOL = 1e-5;

    @TempDir
    Path dir;

    private static Gpt model(long seed, Device device) {
        return new Gpt(CONFIG, DType.F32, new Generator(seed)).to(device);
    }

    private static Gpt copyOf(Gpt model) {
        Gpt copy = new Gpt(model.config(), model.dtype(), new Generator(0)).to(model.device());
        copy.loadStateDict(model.stateDict(), "copy");
        return copy;
    }

    /** Sentiment pairs: a prompt and two corpus completions, the one with the higher ground truth chosen. */
    private static List<TokenizedPair> pairs(int n) {
        List<String[]> corpus = SENTIMENT.sftCorpus(4 * n, 3);
        List<TokenizedPair> out = new ArrayList<>();
        for (int i = 0; i + 1 < corpus.size() && out.size() < n; i += 2) {
            String a = corpus.get(i)[1], b = corpus.get(i + 1)[1];
            double ra = SENTIMENT.reward(a), rb = SENTIMENT.reward(b);
            if (ra == rb) continue;
            String chosen = ra > rb ? a : b, rejected = ra > rb ? b : a;
            out.add(new TokenizedPair(TOK.encode(corpus.get(i)[0]), TOK.encode(chosen), TOK.encode(rejected)));
        }
        return out;
    }

    private static List<Double> series(List<Map<String, Object>> log, String key) {
        List<Double> out = new ArrayList<>();
        for (Map<String, Object> m : log) out.add(((Number) m.get(key)).doubleValue());
        return out;
    }

    /**
     * {@code firstKey}'s first value bit for bit, every value of {@code keys} within {@code rtol} relative or
     * {@code atol} absolute (for values that are small differences of large ones, as a KL of log-probs).
     */
    private static void assertSameRun(List<Map<String, Object>> expected, List<Map<String, Object>> actual, String firstKey,
                                      double rtol, double atol, String... keys) {
        assertEquals(expected.size(), actual.size());
        assertEquals(expected.get(0).get(firstKey), actual.get(0).get(firstKey), firstKey + " at step 0");
        for (String key : keys) {
            List<Double> e = series(expected, key), a = series(actual, key);
            for (int i = 0; i < e.size(); i++) {
                double tolerance = Math.max(rtol * Math.abs(e.get(i)), atol);
                assertEquals(e.get(i), a.get(i), tolerance, key + " at step " + i + ": " + e + " vs " + a);
            }
        }
    }

    /** The evaluation lines, last in each log, within {@link #RTOL}. */
    private static void assertSameEvalLoss(List<Map<String, Object>> expected, List<Map<String, Object>> actual) {
        double e = (double) expected.get(expected.size() - 1).get("eval_loss");
        assertEquals(e, (double) actual.get(actual.size() - 1).get("eval_loss"), RTOL * e);
    }

    /** Every step's {@code keys} are finite. */
    private static void assertFinite(List<Map<String, Object>> log, String... keys) {
        for (Map<String, Object> m : log) {
            for (String key : keys) assertTrue(Double.isFinite(((Number) m.get(key)).doubleValue()), key + " in " + m);
        }
    }

    /** A BF16 run's first step within {@code rtol} of the F32 run's, but not equal to it in the first key (it rounded). */
    private static void assertCloseAtStepZero(List<Map<String, Object>> f32, List<Map<String, Object>> bf16, double rtol,
                                              String... keys) {
        for (String key : keys) {
            double e = ((Number) f32.get(0).get(key)).doubleValue(), a = ((Number) bf16.get(0).get(key)).doubleValue();
            assertEquals(e, a, rtol * Math.abs(e), key + " at step 0");
        }
        assertNotEquals(f32.get(0).get(keys[0]), bf16.get(0).get(keys[0]), "BF16 should round somewhere");
    }

    // ---- reward model ----

    private static List<Map<String, Object>> rewardRun(Device device, Precision precision) {
        List<TokenizedPair> data = pairs(16);
        RewardModel model = RewardModel.withNewHead(model(1, device), new Generator(2));
        RewardConfig config = RewardConfig.defaults().withLearningRate(3e-3).withBatchSize(8).withMaxSteps(4)
                .withPrecision(precision);
        RewardTrainer trainer = new RewardTrainer(model, config, data, PAD);
        List<Map<String, Object>> log = new ArrayList<>();
        trainer.train(log::add);
        log.add(new LinkedHashMap<>(trainer.evaluationMetrics(data)));
        assertEquals(device, model.device());
        // the copy (PPO's value model) stays on the device
        assertEquals(device, model.copy().device());
        return log;
    }

    @Test
    void rewardTrainingOnTheDeviceGivesTheCpuMetricsAndBf16StaysClose() {
        List<Map<String, Object>> cpu = rewardRun(Device.CPU, Precision.F32);
        List<Map<String, Object>> device = rewardRun(DEVICE, Precision.F32);
        List<Map<String, Object>> steps = cpu.subList(0, cpu.size() - 1), deviceSteps = device.subList(0, device.size() - 1);
        assertSameRun(steps, deviceSteps, "loss", RTOL, 0, "loss", "margin", "grad_norm");
        assertSameEvalLoss(cpu, device);
        List<Map<String, Object>> bf16 = rewardRun(DEVICE, Precision.BF16);
        assertFinite(bf16.subList(0, bf16.size() - 1), "loss", "grad_norm");
        assertCloseAtStepZero(steps, bf16.subList(0, bf16.size() - 1), 2e-2, "loss");
    }

    // ---- DPO ----

    private static final DpoConfig DPO = DpoConfig.defaults().withLearningRate(3e-3).withBatchSize(4).withMaxSteps(4);

    /** A policy moved off its reference (seeded noise on the embedding), so that the first loss is not ln 2. */
    private static Gpt[] policyAndReference(Device device) {
        Gpt reference = model(7, device), policy = copyOf(reference);
        Tensor wte = policy.tokenEmbedding().data();
        wte.addInPlace(Tensor.randn(new Generator(8), wte.dtype(), wte.shape()).mul(0.1).to(device));
        return new Gpt[] {policy, reference};
    }

    private static List<Map<String, Object>> dpoRun(Device device, Precision precision) {
        Gpt[] models = policyAndReference(device);
        DpoTrainer trainer = new DpoTrainer(models[0], models[1], DPO.withPrecision(precision), pairs(12), PAD);
        List<Map<String, Object>> log = new ArrayList<>();
        trainer.train(log::add);
        log.add(new LinkedHashMap<>(trainer.evaluationMetrics(pairs(12))));
        assertEquals(device, models[0].device());
        return log;
    }

    @Test
    void dpoOnTheDeviceGivesTheCpuMetricsAndBf16StaysClose() {
        List<Map<String, Object>> cpu = dpoRun(Device.CPU, Precision.F32), device = dpoRun(DEVICE, Precision.F32);
        assertSameRun(cpu.subList(0, cpu.size() - 1), device.subList(0, device.size() - 1), "loss", RTOL, 0, "loss",
                "grad_norm", "rewards/margins", "logps/chosen", "logits/chosen");
        // the evaluation line, after the last step
        assertSameEvalLoss(cpu, device);
        List<Map<String, Object>> bf16 = dpoRun(DEVICE, Precision.BF16);
        assertFinite(bf16.subList(0, bf16.size() - 1), "loss", "grad_norm");
        assertCloseAtStepZero(cpu, bf16.subList(0, bf16.size() - 1), 2e-2, "loss", "logps/chosen");
    }

    @Test
    void aDpoCheckpointSavedOnTheDeviceResumesOnTheCpu() throws Exception {
        List<TokenizedPair> data = pairs(12);
        Gpt[] models = policyAndReference(DEVICE);
        DpoTrainer onDevice = new DpoTrainer(models[0], models[1], DPO, data, PAD);
        List<Map<String, Object>> uninterrupted = new ArrayList<>();
        onDevice.train(2, uninterrupted::add);
        Path file = dir.resolve("dpo.ckpt");
        Map<String, Object> trainerState = new LinkedHashMap<>(onDevice.state());
        TrainingCheckpoint.of(onDevice.policy(), onDevice.optimizer().state(), onDevice.optimizer().stepCount(), Map.of(),
                trainerState).save(file);
        ReferenceLogProbs reference = onDevice.referenceLogProbs();
        onDevice.train(2, uninterrupted::add);

        TrainingCheckpoint checkpoint = TrainingCheckpoint.load(file);
        Gpt policy = model(99, Device.CPU); // other initial values, all overwritten
        checkpoint.restoreModel(policy);
        DpoTrainer onCpu = new DpoTrainer(policy, reference, DPO, data, PAD);
        onCpu.optimizer().loadState(checkpoint.optimizer(), checkpoint.step());
        Map<String, Long> state = new LinkedHashMap<>();
        for (var e : checkpoint.metadata().entrySet()) state.put(e.getKey(), ((Number) e.getValue()).longValue());
        onCpu.restore(state);
        for (Tensor t : onCpu.optimizer().state().values()) assertEquals(Device.CPU, t.device());
        List<Map<String, Object>> resumed = new ArrayList<>();
        onCpu.train(2, resumed::add);
        assertEquals(Device.CPU, policy.device());
        assertEquals(4, onCpu.step());
        List<Map<String, Object>> tail = uninterrupted.subList(2, 4);
        for (String key : List.of("loss", "grad_norm", "rewards/margins", "learning_rate")) {
            List<Double> e = series(tail, key), a = series(resumed, key);
            for (int i = 0; i < e.size(); i++) {
                assertEquals(e.get(i), a.get(i), RTOL * Math.abs(e.get(i)), key + " " + e + " vs " + a);
            }
        }
    }

    // ---- PPO ----

    private static List<Map<String, Object>> ppoRun(Device device, Precision precision) {
        Gpt policy = model(11, device), reference = copyOf(policy);
        RewardModel value = RewardModel.withNewHead(model(12, device), new Generator(13));
        // BF16 rounding changes which tokens are sampled, so the first losses of F32 and BF16 runs are comparable only
        // where they depend little on the tokens: a small value head (values near 0) and scores near 1
        value.head().namedParameters().get("weight").data().mulInPlace(0.01);
        // the task's ground truth plus 1, and a little for each sampled lowercase letter, so that rows score apart
        PpoTrainer.Scorer scorer = rollout -> {
            double[] scores = new double[rollout.size()];
            for (int i = 0; i < scores.length; i++) {
                String text = TOK.decode(rollout.completions()[i]);
                scores[i] = 1 + SENTIMENT.reward(text) + text.chars().filter(Character::isLowerCase).count() * 0.005;
            }
            return scores;
        };
        PpoConfig config = PpoConfig.defaults().with(1e-3, 4, 1, 8).withEpochs(1).withPrecision(precision);
        // no EOS: every response has the full length, so that the masks do not depend on the sampled tokens either
        PpoTrainer trainer = new PpoTrainer(policy, reference, value, scorer, config, -1, PAD);
        List<String> prompts = SENTIMENT.prompts(12, 4);
        List<Map<String, Object>> log = new ArrayList<>();
        for (int s = 0; s < 3; s++) {
            int[][] batch = new int[4][];
            for (int i = 0; i < 4; i++) batch[i] = TOK.encode(prompts.get(4 * s + i));
            log.add(trainer.trainStep(batch));
        }
        assertEquals(device, policy.device());
        assertEquals(device, value.device());
        return log;
    }

    @Test
    void ppoOnTheDeviceGivesTheCpuMetricsAndBf16StaysClose() {
        List<Map<String, Object>> cpu = ppoRun(Device.CPU, Precision.F32), device = ppoRun(DEVICE, Precision.F32);
        // one update per rollout, on policy: the policy loss is minus the mean whitened advantage, rounding noise
        // around 0, so the value loss is the one to follow
        assertSameRun(cpu, device, "loss/value_avg", RTOL, 1e-5, "loss/value_avg", "objective/kl", "objective/scores",
                "objective/entropy", "val/ratio");
        List<Map<String, Object>> bf16 = ppoRun(DEVICE, Precision.BF16);
        assertFinite(bf16, "loss/value_avg", "loss/policy_avg");
        assertCloseAtStepZero(cpu, bf16, 5e-2, "loss/value_avg", "objective/entropy");
        // rollout log-probs and the update's forward both ran in BF16: the first update is on policy
        assertEquals(1.0, (double) bf16.get(0).get("val/ratio"), 1e-6);
    }

    // ---- GRPO ----

    private static List<Map<String, Object>> grpoRun(Device device, Precision precision) {
        Gpt policy = model(21, device), reference = copyOf(policy);
        // exact-match reward plus a little per digit, so that a random policy's samples differ in reward
        GrpoTrainer.RewardFunction reward = (prompt, completion) -> {
            String text = TOK.decode(completion);
            return ARITHMETIC.reward(TOK.decode(prompt), text) + text.chars().filter(Character::isDigit).count() * 0.25;
        };
        GrpoConfig config = GrpoConfig.defaults().with(1e-3, 2, 4, 6).withBeta(0.04).withPrecision(precision);
        GrpoTrainer trainer = new GrpoTrainer(policy, reference, reward, config, EOS, PAD);
        List<String> prompts = ARITHMETIC.prompts(6, 5);
        List<Map<String, Object>> log = new ArrayList<>();
        for (int s = 0; s < 3; s++) {
            int[][] batch = {TOK.encode(prompts.get(2 * s)), TOK.encode(prompts.get(2 * s + 1))};
            log.add(trainer.trainStep(batch));
        }
        assertEquals(device, policy.device());
        return log;
    }

    @Test
    void grpoOnTheDeviceGivesTheCpuMetricsAndBf16StaysClose() {
        List<Map<String, Object>> cpu = grpoRun(Device.CPU, Precision.F32), device = grpoRun(DEVICE, Precision.F32);
        assertSameRun(cpu, device, "loss", RTOL, 1e-5, "loss", "grad_norm", "kl", "entropy", "reward");
        List<Map<String, Object>> bf16 = grpoRun(DEVICE, Precision.BF16);
        // at the first step the ratio is 1 and the KL 0, so the loss is minus the mean advantage (0 up to rounding):
        // compare what the forward computes, the entropy and the gradient
        assertFinite(bf16, "loss", "grad_norm");
        assertCloseAtStepZero(cpu, bf16, 5e-2, "entropy", "grad_norm");
    }
}
