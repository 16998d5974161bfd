package org.rlhf4j.rl.learning;

import java.util.ArrayList;
import java.util.List;
import org.rlhf4j.rl.dpo.TokenizedPair;
import org.rlhf4j.rl.reward.RewardConfig;
import org.rlhf4j.rl.reward.RewardModel;
import org.rlhf4j.rl.reward.RewardTrainer;
import org.rlhf4j.rl.tasks.PreferencePair;
import org.rlhf4j.rl.tasks.SyntheticSentiment;
import org.rlhf4j.rl.tasks.TextSampler;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.transformer.gpt.Gpt;
import org.rlhf4j.transformer.gpt.SamplingConfig;
import org.rlhf4j.transformer.sft.SftConfig;
import org.rlhf4j.transformer.sft.SftExample;
import org.rlhf4j.transformer.sft.SftTrainer;
import org.rlhf4j.transformer.tokenizer.ByteTokenizer;

/**
 * The shared start of the sentiment learning tests, built once per test JVM: an SFT model trained on the
 * generator's mixed-sentiment corpus, and preference pairs sampled from it and ranked by the ground truth (the
 * DPO paper's controlled-sentiment setup).
 */
final class SentimentFixture {
    static final ByteTokenizer TOK = new ByteTokenizer();
    static final SyntheticSentiment TASK = new SyntheticSentiment();
    static final int PAD = TOK.padId().getAsInt(), EOS = TOK.eosId();
    static final Gpt.Config CONFIG = new Gpt.Config(TOK.vocabSize(), 72, 2, 4, 64, 1e-5, 0.0);
    static final int MAX_NEW = 40;

    private static Gpt sft;
    private static List<PreferencePair> pairs;
    private static RewardModel rewardModel;
    private static double rewardModelHeldOutAccuracy;

    private SentimentFixture() {}

    static synchronized Gpt sftModel() {
        if (sft == null) {
            List<SftExample> data = new ArrayList<>();
            for (String[] p : TASK.sftCorpus(3000, 11)) data.add(new SftExample(TOK.encode(p[0]), TOK.encode(p[1])));
            Gpt model = new Gpt(CONFIG, DType.F32, new Generator(21));
            SftConfig config = SftConfig.defaults().withLearningRate(5e-3).withBatchSize(32).withMaxSteps(600)
                    .withLrScheduler("cosine").withLogging(50, 0);
            new SftTrainer(model, config, data, List.of(), PAD, EOS).train(m -> { });
            model.eval();
            sft = model;
        }
        return sft;
    }

    /** A deep copy with its own parameters (policy from the SFT model, reference kept frozen). */
    static Gpt copy(Gpt model) {
        Gpt c = new Gpt(model.config(), model.dtype(), new Generator(0));
        c.loadStateDict(model.stateDict(), "copy");
        c.eval();
        return c;
    }

    static SamplingConfig sampling(long seed) {
        return SamplingConfig.sample(MAX_NEW, EOS, PAD, seed);
    }

    /** Preference pairs from two SFT samples per prompt, the higher ground truth chosen; ties dropped. */
    static synchronized List<PreferencePair> pairs() {
        if (pairs == null) {
            pairs = SyntheticSentiment.preferencePairs(TASK.prompts(6000, 5), sftModel(), TOK, sampling(77));
        }
        return pairs;
    }

    /** Four fifths of the pairs train the reward model; the rest are held out. */
    static synchronized RewardModel rewardModel() {
        if (rewardModel == null) {
            List<PreferencePair> all = pairs();
            int split = all.size() * 4 / 5;
            RewardModel rm = RewardModel.withNewHead(copy(sftModel()), new Generator(3));
            RewardConfig config = RewardConfig.defaults().withLearningRate(1e-3).withBatchSize(32).withMaxSteps(600).withWeightDecay(0.01)
                    .withLoggingSteps(50);
            RewardTrainer trainer = new RewardTrainer(rm, config, tokenized(all.subList(0, split)), PAD);
            trainer.train(m -> { });
            rewardModelHeldOutAccuracy = trainer.evaluate(tokenized(all.subList(split, all.size())));
            rm.eval();
            rewardModel = rm;
        }
        return rewardModel;
    }

    static synchronized double rewardModelHeldOutAccuracy() {
        rewardModel();
        return rewardModelHeldOutAccuracy;
    }

    static List<TokenizedPair> tokenized(List<PreferencePair> ps) {
        List<TokenizedPair> out = new ArrayList<>();
        for (PreferencePair p : ps) out.add(new TokenizedPair(TOK.encode(p.prompt()), withEos(p.chosen()), withEos(p.rejected())));
        return out;
    }

    private static int[] withEos(String completion) {
        int[] t = TOK.encode(completion);
        int[] out = java.util.Arrays.copyOf(t, t.length + 1);
        out[t.length] = EOS;
        return out;
    }

    /** Mean ground-truth reward of one sampled completion for each of {@code prompts}. */
    static double meanGroundTruth(Gpt model, List<String> prompts, long seed) {
        model.eval();
        List<String> completions = new TextSampler(model, TOK, sampling(seed)).apply(prompts);
        double sum = 0;
        for (String c : completions) sum += TASK.reward(c);
        return sum / completions.size();
    }
}
