package org.rlhf4j.rl.dpo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhf4j.autograd.Grad;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.rl.metrics.MetricsLog;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Gpt;

class DpoTrainerTest {
    private static final int VOCAB = 16, EOS = 15;

    @TempDir
    Path dir;

    /** A tiny F64 GPT without dropout. */
    static Gpt tinyModel(long seed) {
        return tinyModel(seed, 0.0);
    }

    static Gpt tinyModel(long seed, double dropout) {
        return new Gpt(new Gpt.Config(VOCAB, 32, 2, 2, 16, 1e-5, dropout), DType.F64, new Generator(seed));
    }

    /** Moves the token embedding by seeded noise, so that the policy differs from its reference copy. */
    static void perturb(Gpt model, long seed) {
        Tensor wte = model.tokenEmbedding().data();
        wte.addInPlace(Tensor.randn(new Generator(seed), wte.dtype(), wte.shape()).mul(0.1));
    }

    static Gpt copyOf(Gpt model) {
        Gpt copy = new Gpt(model.config(), model.dtype(), new Generator(12345));
        copy.loadStateDict(model.stateDict(), "copy");
        return copy;
    }

    /** Pairs of varied lengths (prompts 1-6, completions 0-5 tokens, the non-empty ones ending in EOS). */
    static List<TokenizedPair> randomPairs(long seed, int n) {
        Random rnd = new Random(seed);
        List<TokenizedPair> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new TokenizedPair(tokens(rnd, 1 + rnd.nextInt(6), false), tokens(rnd, rnd.nextInt(6), true),
                    tokens(rnd, rnd.nextInt(6), true)));
        }
        return out;
    }

    private static int[] tokens(Random rnd, int n, boolean endWithEos) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = 1 + rnd.nextInt(VOCAB - 2);
        if (endWithEos && n > 0) t[n - 1] = EOS;
        return t;
    }

    private static DpoConfig config() {
        return DpoConfig.defaults().withBatchSize(4).withMaxSteps(3).withLearningRate(1e-3);
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** Sum over completion tokens of log softmax(logits)[next token], from a forward over the row alone (no padding). */
    private static double handLogProb(Gpt model, int[] prompt, int[] completion) {
        int[] ids = concat(prompt, completion);
        try (var g = Grad.disabled()) {
            double[] logits = model.forward(Tensor.ofInts(ids, 1, ids.length)).data().toDoubleArray(); // [1, L, V]
            double sum = 0;
            for (int j = prompt.length - 1; j < ids.length - 1; j++) { // position j predicts token j + 1, a completion token
                double max = Double.NEGATIVE_INFINITY;
                for (int v = 0; v < VOCAB; v++) max = Math.max(max, logits[j * VOCAB + v]);
                double z = 0;
                for (int v = 0; v < VOCAB; v++) z += Math.exp(logits[j * VOCAB + v] - max);
                sum += logits[j * VOCAB + ids[j + 1]] - max - Math.log(z);
            }
            return sum;
        }
    }

    @Test
    void lossIsLn2WhenThePolicyEqualsTheReference() {
        List<TokenizedPair> pairs = randomPairs(1, 10);
        Gpt policy = tinyModel(7);
        DpoTrainer trainer = new DpoTrainer(policy, copyOf(policy), config(), pairs, 0);
        DpoTrainer.BatchLoss batch = trainer.loss(pairs, trainer.referenceLogProbs());
        assertEquals(Math.log(2), batch.loss().data().item(), 1e-12);
        assertEquals(0.0, (double) batch.metrics().get("rewards/margins"), 1e-12);
        // the first step's batch is a shuffled subset, padded differently from the precomputation: still ln 2
        Map<String, Object> first = trainer.trainStep();
        assertEquals(Math.log(2), (double) first.get("loss"), 1e-12);
    }

    @Test
    void dropoutIsOffInPolicyAndReference() {
        // precondition on Gpt: eval() must switch its dropout off; skip (saying why) while it does not
        Gpt probe = tinyModel(1, 0.5);
        probe.eval();
        Tensor ids = Tensor.ofInts(new int[] {1, 2, 3, 4}, 1, 4);
        try (var g = Grad.disabled()) {
            assumeTrue(Arrays.equals(probe.forward(ids).data().toDoubleArray(), probe.forward(ids).data().toDoubleArray()),
                    "Gpt.eval() leaves dropout on (its Dropout modules are not registered as children)");
        }
        List<TokenizedPair> pairs = randomPairs(8, 6);
        Gpt policy = tinyModel(7, 0.5), reference = copyOf(policy);
        policy.train();
        reference.train();
        DpoTrainer trainer = new DpoTrainer(policy, reference, config(), pairs, 0);
        // with dropout on in either model the two would differ; off, they are the same function: ln 2
        assertEquals(Math.log(2), (double) trainer.trainStep().get("loss"), 1e-12);
        assertTrue(!policy.isTraining());
    }

    @Test
    void sequenceLogProbsCountCompletionTokensOnlyAndIgnorePadding() {
        // a row's log-prob in a left- and right-padded batch equals the hand-computed sum over its completion
        // tokens, from a forward over the row alone: prompt tokens' own log-probs never count
        List<TokenizedPair> pairs = randomPairs(2, 6);
        pairs.add(new TokenizedPair(new int[] {3, 4, 5}, new int[0], new int[] {EOS})); // empty completion: 0
        Gpt policy = tinyModel(3);
        DpoTrainer trainer = new DpoTrainer(policy, copyOf(policy), config(), pairs, 0);
        DpoLoss.Result r = trainer.loss(pairs, trainer.referenceLogProbs()).result();
        double[] chosen = r.policyChosen().toDoubleArray(), rejected = r.policyRejected().toDoubleArray();
        for (int i = 0; i < pairs.size(); i++) {
            TokenizedPair p = pairs.get(i);
            assertEquals(handLogProb(policy, p.prompt(), p.chosen()), chosen[i], 1e-10, "chosen " + i);
            assertEquals(handLogProb(policy, p.prompt(), p.rejected()), rejected[i], 1e-10, "rejected " + i);
        }
        assertEquals(0.0, chosen[pairs.size() - 1]);
        // the reference values are the same sums (policy == reference here)
        assertArrayEquals(chosen, trainer.referenceLogProbs().chosen(), 1e-12);
    }

    @Test
    void thePadTokenChangesNeitherLossNorGradients() {
        // pad 0 vs pad = EOS (which also ends the completions): left and right padding are masked by position
        List<TokenizedPair> pairs = randomPairs(3, 8);
        Gpt a = tinyModel(11), b = tinyModel(11);
        DpoTrainer ta = new DpoTrainer(a, copyOf(a), config(), pairs, 0);
        DpoTrainer tb = new DpoTrainer(b, copyOf(b), config(), pairs, EOS);
        assertArrayEquals(ta.referenceLogProbs().chosen(), tb.referenceLogProbs().chosen(), 1e-13);
        // a policy that differs from the reference, so that the loss is not the symmetric ln 2
        for (Gpt m : List.of(a, b)) perturb(m, 1);
        DpoTrainer.BatchLoss la = ta.loss(pairs, ta.referenceLogProbs()), lb = tb.loss(pairs, tb.referenceLogProbs());
        assertTrue(Math.abs(la.loss().data().item() - Math.log(2)) > 1e-6);
        assertEquals(la.loss().data().item(), lb.loss().data().item(), 1e-13);
        la.loss().backward();
        lb.loss().backward();
        Map<String, Variable> pa = a.namedParameters(), pb = b.namedParameters();
        for (String name : pa.keySet()) {
            assertArrayEquals(pa.get(name).grad().toDoubleArray(), pb.get(name).grad().toDoubleArray(), 1e-13, name);
        }
    }

    @Test
    void batchesTooWideForTheContextAreSplitWithoutChangingValues() {
        // rows (10 + 2) and (2 + 10) both fit 14 tokens, but together they are 10 + 10 = 20 wide
        List<TokenizedPair> pairs = List.of(
                new TokenizedPair(new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, new int[] {3, EOS}, new int[] {4, EOS}),
                new TokenizedPair(new int[] {5, 6}, new int[] {1, 2, 3, 4, 5, 6, 7, 8, 9, EOS}, new int[] {7, 7, 7, EOS}));
        Gpt a = tinyModel(5), b = tinyModel(5);
        DpoTrainer wide = new DpoTrainer(a, copyOf(a), config(), pairs, 0);
        DpoTrainer narrow = new DpoTrainer(b, copyOf(b), config().withLengths(14, 512, -1, "keep_end"), pairs, 0);
        DpoLoss.Result rw = wide.loss(pairs, wide.referenceLogProbs()).result();
        DpoLoss.Result rn = narrow.loss(pairs, narrow.referenceLogProbs()).result();
        assertArrayEquals(rw.policyChosen().toDoubleArray(), rn.policyChosen().toDoubleArray(), 1e-12);
        assertArrayEquals(rw.policyRejected().toDoubleArray(), rn.policyRejected().toDoubleArray(), 1e-12);
    }

    @Test
    void ipoAveragesPolicyAndReferenceLogProbsOverCompletionTokens() {
        List<TokenizedPair> pairs = new ArrayList<>(randomPairs(4, 5));
        pairs.add(new TokenizedPair(new int[] {2}, new int[0], new int[] {3, EOS})); // an empty completion averages to 0
        Gpt policy = tinyModel(9);
        DpoTrainer sums = new DpoTrainer(policy, copyOf(policy), config(), pairs, 0);
        DpoTrainer ipo = new DpoTrainer(policy, copyOf(policy), config().withLossType("ipo"), pairs, 0);
        perturb(policy, 2); // policy != reference
        DpoLoss.Result s = sums.loss(pairs, sums.referenceLogProbs()).result();
        DpoLoss.Result a = ipo.loss(pairs, ipo.referenceLogProbs()).result();
        double beta = 0.1, expected = 0;
        for (int i = 0; i < pairs.size(); i++) {
            int nc = Math.max(1, pairs.get(i).chosen().length), nr = Math.max(1, pairs.get(i).rejected().length);
            double pc = s.policyChosen().toDoubleArray()[i] / nc, pr = s.policyRejected().toDoubleArray()[i] / nr;
            double rc = sums.referenceLogProbs().chosen()[i] / nc, rr = sums.referenceLogProbs().rejected()[i] / nr;
            assertEquals(pc, a.policyChosen().toDoubleArray()[i], 1e-12);
            assertEquals(beta * (pc - rc), a.chosenRewards().toDoubleArray()[i], 1e-12);
            double logits = (pc - pr) - (rc - rr);
            expected += (logits - 1 / (2 * beta)) * (logits - 1 / (2 * beta)) / pairs.size();
        }
        assertEquals(expected, a.loss().data().item(), 1e-10);
    }

    @Test
    void truncationFollowsTheConfiguredMode() {
        int[] prompt = {1, 2, 3, 4, 5, 6}, completion = {7, 8, 9, 10, 11};
        DpoConfig c = DpoConfig.defaults().withLengths(8, 4, 3, "keep_end");
        // prompt keeps its last 4, completion its first 3: 7 tokens fit in 8
        assertArrayEquals(new int[][] {{3, 4, 5, 6}, {7, 8, 9}}, DpoTrainer.truncate(prompt, completion, c, 8));
        // limit 6, keep_end: prompt loses its front
        assertArrayEquals(new int[][] {{4, 5, 6}, {7, 8, 9}}, DpoTrainer.truncate(prompt, completion, c, 6));
        // limit 6, keep_start: completion loses its end
        DpoConfig start = c.withLengths(8, 4, 3, "keep_start");
        assertArrayEquals(new int[][] {{3, 4, 5, 6}, {7, 8}}, DpoTrainer.truncate(prompt, completion, start, 6));
        // keep_start, a prompt as long as the limit: its first limit - 1 tokens, no completion
        assertArrayEquals(new int[][] {{1, 2, 3, 4}, {}},
                DpoTrainer.truncate(prompt, completion, DpoConfig.defaults().withLengths(8, 10, -1, "keep_start"), 5));
        // keep_end, a completion longer than limit - 1: the prompt keeps its last token, the completion its start
        assertArrayEquals(new int[][] {{6}, {7, 8, 9, 10}},
                DpoTrainer.truncate(prompt, completion, DpoConfig.defaults().withLengths(8, 10, -1, "keep_end"), 5));
    }

    @Test
    void aNanLossStopsBeforeTheWeightsAreTouched() {
        List<TokenizedPair> pairs = randomPairs(5, 8);
        Gpt policy = tinyModel(13);
        DpoTrainer trainer = new DpoTrainer(policy, copyOf(policy), config(), pairs, 0);
        policy.namedParameters().get("transformer.ln_f.weight").data().set(Double.NaN, 0);
        Map<String, double[]> before = new java.util.LinkedHashMap<>();
        for (var e : policy.namedParameters().entrySet()) before.put(e.getKey(), e.getValue().data().toDoubleArray());
        ArithmeticException e = assertThrows(ArithmeticException.class, trainer::trainStep);
        assertTrue(e.getMessage().contains("loss is NaN"), e.getMessage());
        assertEquals(0, trainer.step());
        assertEquals(0, trainer.optimizer().stepCount());
        for (var p : policy.namedParameters().entrySet()) {
            assertArrayEquals(before.get(p.getKey()), p.getValue().data().toDoubleArray(), 0.0, p.getKey());
            assertEquals(null, p.getValue().grad(), p.getKey());
        }
    }

    @Test
    void precomputedReferenceLogProbsGiveTheSameTrainerAndAreChecked() throws IOException {
        List<TokenizedPair> pairs = randomPairs(6, 6);
        Gpt policy = tinyModel(17);
        Gpt reference = copyOf(policy);
        perturb(policy, 3);
        DpoTrainer withModel = new DpoTrainer(policy, reference, config(), pairs, 0);
        Path file = dir.resolve("ref.safetensors");
        DpoTrainer.precomputeReference(reference, pairs, config(), 0).save(file);
        DpoTrainer fromFile = new DpoTrainer(policy, ReferenceLogProbs.load(file), config(), pairs, 0);
        assertEquals(withModel.loss(pairs, withModel.referenceLogProbs()).loss().data().item(),
                fromFile.loss(pairs, fromFile.referenceLogProbs()).loss().data().item(), 0.0);
        // without a reference model, evaluation needs the reference log-probs of its pairs
        assertThrows(IllegalStateException.class, () -> fromFile.evaluate(pairs));
        assertEquals(withModel.evaluate(pairs), fromFile.evaluate(pairs, withModel.referenceLogProbs()), 0.0);
        // reference values of other pairs (different token counts) are refused
        ReferenceLogProbs other = DpoTrainer.precomputeReference(reference, randomPairs(99, 6), config(), 0);
        assertThrows(IllegalArgumentException.class, () -> new DpoTrainer(policy, other, config(), pairs, 0));
        assertThrows(IllegalArgumentException.class, () -> new DpoTrainer(policy, policy, config(), pairs, 0));
    }

    @Test
    void trainRunsStepsAndLogsTrlMetrics() {
        List<TokenizedPair> pairs = randomPairs(7, 10);
        Gpt policy = tinyModel(19);
        Gpt reference = copyOf(policy);
        DpoTrainer trainer = new DpoTrainer(policy, reference, config().withMaxSteps(4), pairs, 0);
        double[] referenceWte = reference.tokenEmbedding().data().toDoubleArray();
        MetricsLog log = MetricsLog.inMemory();
        assertEquals(2, trainer.train(2, log));
        assertEquals(2, trainer.train(5, log)); // only 4 steps in the run
        assertEquals(4, trainer.step());
        assertEquals(List.of("step", "epoch", "loss", "grad_norm", "learning_rate", "rewards/chosen", "rewards/rejected",
                "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected", "logits/chosen", "logits/rejected"),
                List.copyOf(log.last().keySet()));
        assertArrayEquals(new double[] {1, 2, 3, 4}, log.series("step"));
        assertTrue(policy.isTraining() == false, "dropout stays off in the policy");
        // the reference never moves; the policy does
        assertArrayEquals(referenceWte, reference.tokenEmbedding().data().toDoubleArray(), 0.0);
        assertTrue(((Number) log.last().get("rewards/margins")).doubleValue() != 0.0);
        Map<String, Object> eval = trainer.evaluationMetrics(pairs);
        assertTrue(eval.containsKey("eval_loss") && eval.containsKey("eval_rewards/accuracies"), eval.toString());
        double accuracy = trainer.evaluate(pairs);
        assertTrue(accuracy >= 0 && accuracy <= 1);
    }
}
