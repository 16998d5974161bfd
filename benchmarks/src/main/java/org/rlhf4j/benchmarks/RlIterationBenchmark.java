package org.rlhf4j.benchmarks;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.rlhf4j.rl.grpo.GrpoConfig;
import org.rlhf4j.rl.grpo.GrpoTrainer;
import org.rlhf4j.rl.ppo.PpoConfig;
import org.rlhf4j.rl.ppo.PpoTrainer;
import org.rlhf4j.rl.reward.RewardModel;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.transformer.gpt.Gpt;

/**
 * One online RL iteration on the "tiny" workload's model: PPO (16 prompts of 32 tokens, 32-token responses,
 * rollout, reward-model scoring, 4 PPO epochs of 2 mini-batches) and GRPO (4 prompts x 8 generations, 32-token
 * completions). The trainers report their time shares (time/rollout_s, time/score_s, time/update_s) as metrics.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g", "-XX:+UseParallelGC"})
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
public class RlIterationBenchmark implements Reported {
    @Param({"ppo", "grpo"})
    public String algorithm;

    private PpoTrainer ppo;
    private GrpoTrainer grpo;
    private int[][] prompts;

    @Override
    public String unit() {
        return "iterations/s";
    }

    @Override
    public double workPerOp(Map<String, String> params) {
        return 1;
    }

    @Setup(Level.Trial)
    public void setUp() {
        int[] w = SftStepBenchmark.workload("tiny");
        Gpt.Config config = new Gpt.Config(w[0], w[1], w[2], w[3], w[4], 1e-5, 0.0);
        Gpt policy = new Gpt(config, DType.F32, new Generator(0));
        Gpt reference = new Gpt(config, DType.F32, new Generator(0));
        int n = algorithm.equals("ppo") ? 16 : 4;
        prompts = new int[n][32];
        for (int b = 0; b < n; b++) for (int t = 0; t < 32; t++) prompts[b][t] = (b * 17 + t * 5) % w[0];
        if (algorithm.equals("ppo")) {
            RewardModel rm = RewardModel.withNewHead(new Gpt(config, DType.F32, new Generator(1)), new Generator(2));
            PpoConfig pc = PpoConfig.defaults().with(1e-5, 16, 2, 32);
            ppo = new PpoTrainer(policy, reference, rm.copy(), PpoTrainer.rewardModelScorer(rm), pc, -1, 0);
        } else {
            GrpoConfig gc = GrpoConfig.defaults().with(1e-5, 4, 8, 32);
            grpo = new GrpoTrainer(policy, null, (p, c) -> c.length % 3, gc, -1, 0);
        }
    }

    @Benchmark
    public Map<String, Object> rlhf4j() {
        return algorithm.equals("ppo") ? ppo.trainStep(prompts) : grpo.trainStep(prompts);
    }
}
