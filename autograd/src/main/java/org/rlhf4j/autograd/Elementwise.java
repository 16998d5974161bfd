package org.rlhf4j.autograd;

import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.tensor.NnOps;

/** Differentiable elementwise ops. Binary ops broadcast; their gradients are summed back to each input's shape. */
public final class Elementwise {
    private Elementwise() {}

    private static final Tensor[] NONE = new Tensor[0];

    static Variable unary(String name, Variable x, Tensor y, Tensor[] saved, Function.Backward backward) {
        return Function.record(name, y, new Variable[] {x}, saved, backward);
    }

    // ---- binary ----

    public static Variable add(Variable a, Variable b) {
        int[] as = a.shape(), bs = b.shape();
        return Function.record("add", a.data().add(b.data()), new Variable[] {a, b}, NONE,
                (g, s, needs) -> new Tensor[] {
                    needs[0] ? Broadcast.sumTo(g, as) : null,
                    needs[1] ? Broadcast.sumTo(g, bs) : null});
    }

    public static Variable sub(Variable a, Variable b) {
        int[] as = a.shape(), bs = b.shape();
        return Function.record("sub", a.data().sub(b.data()), new Variable[] {a, b}, NONE,
                (g, s, needs) -> new Tensor[] {
                    needs[0] ? Broadcast.sumTo(g, as) : null,
                    needs[1] ? Broadcast.sumTo(g.neg(), bs) : null});
    }

    public static Variable mul(Variable a, Variable b) {
        return Function.record("mul", a.data().mul(b.data()), new Variable[] {a, b}, new Tensor[] {a.data(), b.data()},
                (g, s, needs) -> new Tensor[] {
                    needs[0] ? Broadcast.sumTo(g.mul(s[1]), s[0].shape()) : null,   // d(ab)/da = b
                    needs[1] ? Broadcast.sumTo(g.mul(s[0]), s[1].shape()) : null}); // d(ab)/db = a
    }

    public static Variable div(Variable a, Variable b) {
        return Function.record("div", a.data().div(b.data()), new Variable[] {a, b}, new Tensor[] {a.data(), b.data()},
                (g, s, needs) -> new Tensor[] {
                    needs[0] ? Broadcast.sumTo(g.div(s[1]), s[0].shape()) : null,                        // 1/b
                    needs[1] ? Broadcast.sumTo(g.mul(s[0]).div(s[1].square()).neg(), s[1].shape()) : null}); // -a/b^2
    }

    /** a^b elementwise: d/da = b a^(b-1), d/db = a^b ln a. */
    public static Variable pow(Variable a, Variable b) {
        Tensor y = a.data().pow(b.data());
        return Function.record("pow", y, new Variable[] {a, b}, new Tensor[] {a.data(), b.data(), y},
                (g, s, needs) -> new Tensor[] {
                    needs[0] ? Broadcast.sumTo(g.mul(s[1]).mul(s[0].pow(s[1].sub(1))), s[0].shape()) : null,
                    needs[1] ? Broadcast.sumTo(g.mul(s[2]).mul(s[0].log()), s[1].shape()) : null});
    }

    /** Elementwise maximum; at ties the gradient is split evenly, as PyTorch does. */
    public static Variable maximum(Variable a, Variable b) {
        return minMax("maximum", a, b, true);
    }

    /** Elementwise minimum; at ties the gradient is split evenly. */
    public static Variable minimum(Variable a, Variable b) {
        return minMax("minimum", a, b, false);
    }

    private static Variable minMax(String name, Variable a, Variable b, boolean max) {
        Tensor y = max ? a.data().maximum(b.data()) : a.data().minimum(b.data());
        return Function.record(name, y, new Variable[] {a, b}, new Tensor[] {a.data(), b.data()},
                (g, s, needs) -> {
                    Tensor aWins = max ? s[0].gt(s[1]) : s[0].lt(s[1]);
                    Tensor tie = s[0].eq(s[1]).mul(0.5);
                    Tensor wa = aWins.add(tie);                       // share of the gradient that goes to a
                    Tensor wb = wa.neg().add(1.0);                     // the rest goes to b
                    return new Tensor[] {
                        needs[0] ? Broadcast.sumTo(g.mul(wa), s[0].shape()) : null,
                        needs[1] ? Broadcast.sumTo(g.mul(wb), s[1].shape()) : null};
                });
    }

    /** {@code condition != 0 ? a : b}; the condition is not differentiated. */
    public static Variable where(Tensor condition, Variable a, Variable b) {
        Tensor y = Tensor.where(condition, a.data(), b.data());
        int[] as = a.shape(), bs = b.shape();
        return Function.record("where", y, new Variable[] {a, b}, new Tensor[] {condition},
                (g, s, needs) -> {
                    Tensor zero = Tensor.zeros(g.dtype(), g.device());
                    return new Tensor[] {
                        needs[0] ? Broadcast.sumTo(Tensor.where(s[0], g, zero), as) : null,
                        needs[1] ? Broadcast.sumTo(Tensor.where(s[0], zero, g), bs) : null};
                });
    }

    /** {@code a * b + c}: d/da = b, d/db = a, d/dc = 1. */
    public static Variable fma(Variable a, Variable b, Variable c) {
        Tensor y = Tensor.fma(a.data(), b.data(), c.data());
        int[] cs = c.shape();
        return Function.record("fma", y, new Variable[] {a, b, c}, new Tensor[] {a.data(), b.data()},
                (g, s, needs) -> new Tensor[] {
                    needs[0] ? Broadcast.sumTo(g.mul(s[1]), s[0].shape()) : null,
                    needs[1] ? Broadcast.sumTo(g.mul(s[0]), s[1].shape()) : null,
                    needs[2] ? Broadcast.sumTo(g, cs) : null});
    }

    /** {@code a + w (b - a)}: d/da = 1 - w, d/db = w, d/dw = b - a. */
    public static Variable lerp(Variable a, Variable b, Variable w) {
        Tensor y = Tensor.lerp(a.data(), b.data(), w.data());
        return Function.record("lerp", y, new Variable[] {a, b, w}, new Tensor[] {a.data(), b.data(), w.data()},
                (g, s, needs) -> new Tensor[] {
                    needs[0] ? Broadcast.sumTo(g.mul(s[2].neg().add(1)), s[0].shape()) : null,
                    needs[1] ? Broadcast.sumTo(g.mul(s[2]), s[1].shape()) : null,
                    needs[2] ? Broadcast.sumTo(g.mul(s[1].sub(s[0])), s[2].shape()) : null});
    }

    // ---- with a scalar ----

    public static Variable add(Variable x, double c) {
        return unary("addScalar", x, x.data().add(c), NONE, (g, s, n) -> new Tensor[] {g});
    }

    public static Variable mul(Variable x, double c) {
        return unary("mulScalar", x, x.data().mul(c), NONE, (g, s, n) -> new Tensor[] {g.mul(c)});
    }

    /** x^p: d/dx = p x^(p-1). */
    public static Variable pow(Variable x, double p) {
        return unary("powScalar", x, x.data().pow(p), new Tensor[] {x.data()},
                (g, s, n) -> new Tensor[] {g.mul(s[0].pow(p - 1)).mul(p)});
    }

    // ---- unary ----

    public static Variable neg(Variable x) {
        return unary("neg", x, x.data().neg(), NONE, (g, s, n) -> new Tensor[] {g.neg()});
    }

    /** d exp(x) = exp(x). */
    public static Variable exp(Variable x) {
        Tensor y = x.data().exp();
        return unary("exp", x, y, new Tensor[] {y}, (g, s, n) -> new Tensor[] {g.mul(s[0])});
    }

    /** d log(x) = 1/x. */
    public static Variable log(Variable x) {
        return unary("log", x, x.data().log(), new Tensor[] {x.data()}, (g, s, n) -> new Tensor[] {g.div(s[0])});
    }

    /** d sqrt(x) = 1 / (2 sqrt(x)). */
    public static Variable sqrt(Variable x) {
        Tensor y = x.data().sqrt();
        return unary("sqrt", x, y, new Tensor[] {y}, (g, s, n) -> new Tensor[] {g.div(s[0]).mul(0.5)});
    }

    /** d x^2 = 2x. */
    public static Variable square(Variable x) {
        return unary("square", x, x.data().square(), new Tensor[] {x.data()}, (g, s, n) -> new Tensor[] {g.mul(s[0]).mul(2)});
    }

    /** d (1/x) = -1/x^2. */
    public static Variable reciprocal(Variable x) {
        Tensor y = x.data().reciprocal();
        return unary("reciprocal", x, y, new Tensor[] {y}, (g, s, n) -> new Tensor[] {g.mul(s[0].square()).neg()});
    }

    /** d x^(-1/2) = -x^(-3/2) / 2. */
    public static Variable rsqrt(Variable x) {
        Tensor y = x.data().rsqrt();
        return unary("rsqrt", x, y, new Tensor[] {y}, (g, s, n) -> new Tensor[] {g.mul(s[0].pow(3)).mul(-0.5)});
    }

    /** d |x| = sign(x). */
    public static Variable abs(Variable x) {
        return unary("abs", x, x.data().abs(), new Tensor[] {x.data()}, (g, s, n) -> new Tensor[] {g.mul(s[0].sign())});
    }

    /** d tanh(x) = 1 - tanh(x)^2. */
    public static Variable tanh(Variable x) {
        Tensor y = x.data().tanh();
        return unary("tanh", x, y, new Tensor[] {y}, (g, s, n) -> new Tensor[] {g.mul(s[0].square().neg().add(1))});
    }

    /** d sigmoid(x) = sigmoid(x) (1 - sigmoid(x)). */
    public static Variable sigmoid(Variable x) {
        Tensor y = x.data().sigmoid();
        return unary("sigmoid", x, y, new Tensor[] {y},
                (g, s, n) -> new Tensor[] {g.mul(s[0]).mul(s[0].neg().add(1))});
    }

    /** d relu(x) = [x > 0]. */
    public static Variable relu(Variable x) {
        return unary("relu", x, x.data().relu(), new Tensor[] {x.data()}, (g, s, n) -> new Tensor[] {g.mul(s[0].gt(0))});
    }

    /** GPT-2's tanh-form GELU; backward is one fused kernel. */
    public static Variable gelu(Variable x) {
        return unary("gelu", x, x.data().gelu(), new Tensor[] {x.data()},
                (g, s, n) -> new Tensor[] {NnOps.geluBackward(g, s[0])});
    }

    /** d softplus(x) = sigmoid(x). */
    public static Variable softplus(Variable x) {
        return unary("softplus", x, x.data().softplus(), new Tensor[] {x.data()},
                (g, s, n) -> new Tensor[] {g.mul(s[0].sigmoid())});
    }

    /** log sigmoid(x) = -softplus(-x), stable for any x; d/dx = sigmoid(-x). */
    public static Variable logSigmoid(Variable x) {
        return unary("logSigmoid", x, x.data().logSigmoid(), new Tensor[] {x.data()},
                (g, s, n) -> new Tensor[] {g.mul(s[0].neg().sigmoid())});
    }

    /** d clamp(x) = [min <= x <= max]. */
    public static Variable clamp(Variable x, double min, double max) {
        return unary("clamp", x, x.data().clamp(min, max), new Tensor[] {x.data()},
                (g, s, n) -> new Tensor[] {g.mul(s[0].ge(min).mul(s[0].le(max)))});
    }

    /**
     * Inverted dropout: zeroes each element with probability p (a Philox mask from {@code generator}) and scales
     * the rest by 1/(1-p). Identity when not training or p == 0.
     */
    public static Variable dropout(Variable x, double p, boolean training, org.rlhf4j.tensor.Generator generator) {
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("dropout: p must be in [0, 1), found " + p);
        if (!training || p == 0) return x;
        Tensor keep = Tensor.empty(x.dtype(), x.data().device(), x.shape()).fillUniform(generator, 0, 1).ge(p)
                .mul(1.0 / (1.0 - p)); // 0 or 1/(1-p)
        return unary("dropout", x, x.data().mul(keep), new Tensor[] {keep}, (g, s, n) -> new Tensor[] {g.mul(s[0])});
    }
}
