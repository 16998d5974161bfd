package org.rlhf4j.transformer.optim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.BiPredicate;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.NnOps;
import org.rlhf4j.tensor.Tensor;

/**
 * AdamW (Loshchilov and Hutter), with PyTorch's {@code torch.optim.AdamW} semantics, through the fused
 * multi-tensor {@link NnOps#adamw(List, List, List, List, double, double, double, double, double, long)}: one call
 * for the parameters with weight decay and one for those without (on a GPU, one launch each):
 *
 * <pre>
 *   p = p - lr * wd * p                                  (decoupled weight decay; wd = 0 for no-decay parameters)
 *   m = beta1 * m + (1 - beta1) * g
 *   v = beta2 * v + (1 - beta2) * g^2
 *   p = p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
 * </pre>
 *
 * <p>By default, parameters of rank &lt; 2 (biases, LayerNorm weights and biases) get no weight decay, as in
 * nanoGPT and the Hugging Face Trainer; matrices (linear weights, embeddings) do. Pass a rule to the
 * three-argument constructor to decide otherwise.
 *
 * <p>{@code t} is one global step counter, advanced by every {@link #step()} call. It differs from PyTorch,
 * which counts per parameter, only for a parameter that had no gradient at some earlier step: its bias
 * correction then uses the global count. Parameters whose gradient is null at a step are skipped entirely:
 * their values and moments stay as they are.
 *
 * <p>A typical loop: {@code opt.setLearningRate(schedule.at(opt.stepCount())); opt.step(); opt.zeroGrad();}.
 */
public final class AdamW {

    /**
     * Hyper-parameters. {@link #defaults()} gives the Hugging Face Trainer's defaults (which TRL's configs
     * inherit unless they override the learning rate).
     *
     * @param learningRate peak learning rate; HF default 5e-5 (schedules change it through
     *                     {@link AdamW#setLearningRate})
     * @param beta1        decay of the first moment; HF {@code adam_beta1} 0.9
     * @param beta2        decay of the second moment; HF {@code adam_beta2} 0.999
     * @param eps          added to the root of the second moment; HF {@code adam_epsilon} 1e-8
     * @param weightDecay  decoupled weight decay, applied to decayed parameters only; HF default 0.0
     *                     (nanoGPT uses 0.1)
     */
    public record Config(double learningRate, double beta1, double beta2, double eps, double weightDecay) {
        public Config {
            if (!(learningRate >= 0) || Double.isInfinite(learningRate)) {
                throw new IllegalArgumentException("AdamW: learning rate must be finite and >= 0, found " + learningRate);
            }
            if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("AdamW: beta1 must be in [0, 1), found " + beta1);
            if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("AdamW: beta2 must be in [0, 1), found " + beta2);
            if (!(eps >= 0) || Double.isInfinite(eps)) {
                throw new IllegalArgumentException("AdamW: eps must be finite and >= 0, found " + eps);
            }
            if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
                throw new IllegalArgumentException("AdamW: weight decay must be finite and >= 0, found " + weightDecay);
            }
        }

        /** lr 5e-5, betas (0.9, 0.999), eps 1e-8, weight decay 0.0: Hugging Face TrainingArguments. */
        public static Config defaults() {
            return new Config(5e-5, 0.9, 0.999, 1e-8, 0.0);
        }

        public Config withLearningRate(double lr) {
            return new Config(lr, beta1, beta2, eps, weightDecay);
        }

        public Config withBetas(double b1, double b2) {
            return new Config(learningRate, b1, b2, eps, weightDecay);
        }

        public Config withEps(double e) {
            return new Config(learningRate, beta1, beta2, e, weightDecay);
        }

        public Config withWeightDecay(double wd) {
            return new Config(learningRate, beta1, beta2, eps, wd);
        }
    }

    /** The default rule: decay matrices and higher-rank tensors, not biases or LayerNorm parameters (rank &lt; 2). */
    public static final BiPredicate<String, Variable> DECAY_RANK_2_AND_UP = (name, p) -> p.data().dim() >= 2;

    static final String EXP_AVG = "exp_avg.";
    static final String EXP_AVG_SQ = "exp_avg_sq.";

    private final Map<String, Variable> parameters;
    private final Map<String, Boolean> decays;
    private final Config config;
    private final Map<String, Tensor> expAvg = new LinkedHashMap<>();   // m, per parameter, same shape and dtype
    private final Map<String, Tensor> expAvgSq = new LinkedHashMap<>(); // v, per parameter
    private double learningRate;
    private long step;

    /** An optimizer over {@code parameters} (kept in their iteration order) with the default no-decay rule. */
    public AdamW(Map<String, Variable> parameters, Config config) {
        this(parameters, config, DECAY_RANK_2_AND_UP);
    }

    /**
     * An optimizer over {@code parameters}; {@code decay} says, once, for each (name, parameter) whether it
     * gets weight decay.
     */
    public AdamW(Map<String, Variable> parameters, Config config, BiPredicate<String, Variable> decay) {
        if (parameters == null || config == null || decay == null) {
            throw new NullPointerException("AdamW: parameters, config and decay rule must not be null");
        }
        Map<String, Variable> own = new LinkedHashMap<>();
        Map<String, Boolean> decayOf = new LinkedHashMap<>();
        Map<Variable, String> seen = new IdentityHashMap<>();
        for (var e : parameters.entrySet()) {
            String name = e.getKey();
            Variable p = e.getValue();
            if (name == null || p == null) throw new NullPointerException("AdamW: null parameter name or value (name '" + name + "')");
            String other = seen.put(p, name);
            if (other != null) {
                throw new IllegalArgumentException("AdamW: parameters '" + other + "' and '" + name
                        + "' are the same Variable (tied weights?); pass it once, or it would be updated twice per step");
            }
            own.put(name, p);
            decayOf.put(name, decay.test(name, p));
        }
        this.parameters = Collections.unmodifiableMap(own);
        this.decays = decayOf;
        this.config = config;
        this.learningRate = config.learningRate();
    }

    /**
     * One update of every parameter that has a gradient; parameters with a null gradient are skipped.
     * Every gradient is checked before any parameter is written, so a bad one changes nothing.
     */
    public void step() {
        for (var e : parameters.entrySet()) {
            Variable p = e.getValue();
            Tensor g = p.grad();
            if (g == null) continue;
            if (g.dtype() != p.data().dtype()) {
                throw new IllegalArgumentException("AdamW: gradient of '" + e.getKey() + "' is " + g.dtype()
                        + " but the parameter is " + p.data().dtype());
            }
            if (!g.device().equals(p.data().device())) {
                throw new IllegalArgumentException("AdamW: gradient of '" + e.getKey() + "' is on " + g.device()
                        + " but the parameter is on " + p.data().device());
            }
            if (!Arrays.equals(g.shape(), p.data().shape())) {
                throw new IllegalArgumentException("AdamW: gradient of '" + e.getKey() + "' has shape "
                        + Arrays.toString(g.shape()) + ", the parameter " + Arrays.toString(p.data().shape()));
            }
        }
        step++;
        // Two groups, with and without weight decay, each one multi-tensor call (one launch on a GPU); the
        // updates are independent, so grouping changes no result.
        for (boolean decayed : new boolean[] {true, false}) {
            List<Tensor> params = new ArrayList<>(), grads = new ArrayList<>(), ms = new ArrayList<>(),
                    vs = new ArrayList<>();
            for (var e : parameters.entrySet()) {
                String name = e.getKey();
                Variable p = e.getValue();
                if (p.grad() == null || decays.get(name) != decayed) continue;
                params.add(p.data());
                grads.add(p.grad());
                ms.add(expAvg.computeIfAbsent(name, k -> Tensor.zerosLike(p.data())));
                vs.add(expAvgSq.computeIfAbsent(name, k -> Tensor.zerosLike(p.data())));
            }
            if (params.isEmpty()) continue;
            double wd = decayed ? config.weightDecay() : 0.0;
            NnOps.adamw(params, grads, ms, vs, learningRate, config.beta1(), config.beta2(), config.eps(), wd, step);
        }
    }

    /** Drops every parameter's gradient. */
    public void zeroGrad() {
        for (Variable p : parameters.values()) p.zeroGrad();
    }

    /** Sets the learning rate used by the following steps (for schedules). */
    public void setLearningRate(double lr) {
        if (!(lr >= 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("AdamW: learning rate must be finite and >= 0, found " + lr);
        }
        learningRate = lr;
    }

    public double learningRate() {
        return learningRate;
    }

    /**
     * Number of {@link #step()} calls so far (including loaded ones): the {@code t} of the bias correction, and
     * the step to save with {@link #state()}. (Named so because {@code step()} makes the update.)
     */
    public long stepCount() {
        return step;
    }

    public Config config() {
        return config;
    }

    /** The parameters, by name, in the order they are updated. */
    public Map<String, Variable> parameters() {
        return parameters;
    }

    /** Whether the named parameter gets weight decay. */
    public boolean decays(String name) {
        Boolean d = decays.get(name);
        if (d == null) throw new IllegalArgumentException("AdamW: no parameter named '" + name + "'");
        return d;
    }

    /**
     * The moments, as {@code exp_avg.<param>} (m) and {@code exp_avg_sq.<param>} (v), PyTorch's names, for every
     * parameter that has been updated at least once; save it together with {@link #stepCount()}. The tensors are the
     * live state, not copies: write them out before the next {@link #step()}.
     */
    public Map<String, Tensor> state() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String name : parameters.keySet()) {
            Tensor m = expAvg.get(name);
            if (m == null) continue;
            out.put(EXP_AVG + name, m);
            out.put(EXP_AVG_SQ + name, expAvgSq.get(name));
        }
        return out;
    }

    /**
     * Replaces the moments and the step counter with saved ones ({@link #state()} and {@link #stepCount()}). Each
     * entry must name a parameter of this optimizer, with its shape, and both moments of a parameter must be
     * present; parameters absent from {@code state} start again from zero moments. Tensors are copied (and
     * converted to each parameter's dtype and device). Everything is checked before anything is replaced.
     */
    public void loadState(Map<String, Tensor> state, long step) {
        if (state == null) throw new NullPointerException("AdamW.loadState: state must not be null");
        if (step < 0) throw new IllegalArgumentException("AdamW.loadState: step must be >= 0, found " + step);
        Map<String, Tensor> m = new LinkedHashMap<>();
        Map<String, Tensor> v = new LinkedHashMap<>();
        for (var e : state.entrySet()) {
            String key = e.getKey();
            Map<String, Tensor> target;
            String name;
            if (key.startsWith(EXP_AVG_SQ)) {
                target = v;
                name = key.substring(EXP_AVG_SQ.length());
            } else if (key.startsWith(EXP_AVG)) {
                target = m;
                name = key.substring(EXP_AVG.length());
            } else {
                throw new IllegalArgumentException("AdamW.loadState: unexpected entry '" + key
                        + "'; expected names '" + EXP_AVG + "<param>' or '" + EXP_AVG_SQ + "<param>'");
            }
            Variable p = parameters.get(name);
            if (p == null) {
                throw new IllegalArgumentException("AdamW.loadState: entry '" + key + "' names no parameter of this optimizer ('"
                        + name + "')");
            }
            Tensor t = e.getValue();
            if (t == null) throw new IllegalArgumentException("AdamW.loadState: entry '" + key + "' is null");
            if (!Arrays.equals(t.shape(), p.data().shape())) {
                throw new IllegalArgumentException("AdamW.loadState: entry '" + key + "' has shape " + Arrays.toString(t.shape())
                        + ", the parameter '" + name + "' has " + Arrays.toString(p.data().shape()));
            }
            if (!t.dtype().isFloatingPoint()) {
                throw new IllegalArgumentException("AdamW.loadState: entry '" + key + "' is " + t.dtype() + ", expected F32 or F64");
            }
            target.put(name, t);
        }
        var unpaired = new TreeSet<String>();
        for (String name : m.keySet()) if (!v.containsKey(name)) unpaired.add(EXP_AVG_SQ + name);
        for (String name : v.keySet()) if (!m.containsKey(name)) unpaired.add(EXP_AVG + name);
        if (!unpaired.isEmpty()) {
            throw new IllegalArgumentException("AdamW.loadState: missing entries " + unpaired + " (each parameter needs both moments)");
        }
        if (step == 0 && !m.isEmpty()) {
            throw new IllegalArgumentException("AdamW.loadState: step is 0 but the state holds moments for " + m.size()
                    + " parameters");
        }
        Map<String, Tensor> newM = new LinkedHashMap<>();
        Map<String, Tensor> newV = new LinkedHashMap<>();
        for (String name : parameters.keySet()) {
            if (!m.containsKey(name)) continue;
            Tensor like = parameters.get(name).data();
            newM.put(name, ownCopy(m.get(name), like));
            newV.put(name, ownCopy(v.get(name), like));
        }
        expAvg.clear();
        expAvg.putAll(newM);
        expAvgSq.clear();
        expAvgSq.putAll(newV);
        this.step = step;
    }

    /** {@code t} with {@code like}'s dtype and device, in storage of its own. */
    private static Tensor ownCopy(Tensor t, Tensor like) {
        Tensor c = t.to(like.device()).to(like.dtype());
        return c == t ? t.copy() : c.contiguous();
    }
}
