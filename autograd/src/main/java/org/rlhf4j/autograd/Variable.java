package org.rlhf4j.autograd;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Tensor;

/**
 * A tensor in the graph. A leaf is made by {@link #parameter} (needs a gradient, which {@link #backward()}
 * accumulates into {@link #grad()}) or {@link #constant} (needs none); every other Variable is the output of
 * an op and remembers the {@link Function} that made it.
 */
public final class Variable {
    private Tensor data;
    private final boolean requiresGrad;
    private final Function gradFn;
    private Tensor grad;

    private Variable(Tensor data, boolean requiresGrad, Function gradFn) {
        this.data = data;
        this.requiresGrad = requiresGrad;
        this.gradFn = gradFn;
    }

    /** A leaf that needs a gradient: a parameter, or an input to a gradient check. */
    public static Variable parameter(Tensor data) {
        if (!data.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException("parameter: only F32 and F64 tensors can have gradients, found " + data.dtype());
        }
        return new Variable(data, true, null);
    }

    /** A leaf that needs no gradient. */
    public static Variable constant(Tensor data) {
        return new Variable(data, false, null);
    }

    static Variable fromFunction(Tensor data, Function fn) {
        return new Variable(data, true, fn);
    }

    public Tensor data() {
        return data;
    }

    /**
     * Moves a leaf (a parameter or constant) and its gradient to {@code device}, in place: modules keep their
     * Variables and see the new tensors. Graph nodes cannot move; move the leaves before the forward pass.
     */
    public void moveTo(Device device) {
        if (gradFn != null) throw new IllegalStateException("moveTo: only leaves can move, this is the output of " + gradFn);
        data = data.to(device);
        if (grad != null) grad = grad.to(device);
    }

    /** The accumulated gradient of a leaf; null before any backward reached it. */
    public Tensor grad() {
        return grad;
    }

    /** Drops the accumulated gradient. */
    public void zeroGrad() {
        grad = null;
    }

    /** Replaces the accumulated gradient (for optimizers and gradient clipping). */
    public void setGrad(Tensor g) {
        if (g != null && !Arrays.equals(g.shape(), data.shape())) {
            throw new IllegalArgumentException("setGrad: gradient shape " + Arrays.toString(g.shape())
                    + " differs from the variable's " + Arrays.toString(data.shape()));
        }
        grad = g;
    }

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** True for variables made directly, not by an op. */
    public boolean isLeaf() {
        return gradFn == null;
    }

    /** The op that made this variable (null for a leaf). */
    public Function gradFn() {
        return gradFn;
    }

    /** The same data, cut from the graph. */
    public Variable detach() {
        return constant(data);
    }

    public int[] shape() {
        return data.shape();
    }

    public DType dtype() {
        return data.dtype();
    }

    // ---- backward ----

    /** Backward from a one-element output (a loss), freeing the graph. */
    public void backward() {
        backward(false);
    }

    /** Backward from a one-element output; keeps saved tensors when {@code retainGraph}. */
    public void backward(boolean retainGraph) {
        if (data.numel() != 1) {
            throw new IllegalStateException("backward: implicit gradient needs a one-element output, this one has shape "
                    + Arrays.toString(data.shape()) + "; pass the output gradient explicitly");
        }
        backward(Tensor.onesLike(data), retainGraph);
    }

    /**
     * Backward from this variable with {@code gradOutput} as its gradient: walks the graph in reverse topological
     * order and accumulates into the leaves' {@link #grad()}. Saved tensors are freed unless {@code retainGraph}.
     */
    public void backward(Tensor gradOutput, boolean retainGraph) {
        if (!requiresGrad) {
            throw new IllegalStateException("backward: this variable does not require a gradient (it is a constant, or"
                    + " was computed from constants or under Grad.disabled())");
        }
        if (!Arrays.equals(gradOutput.shape(), data.shape())) {
            throw new IllegalArgumentException("backward: gradient shape " + Arrays.toString(gradOutput.shape())
                    + " differs from the output's " + Arrays.toString(data.shape()));
        }
        List<Variable> order = topologicalOrder();
        Map<Variable, Tensor> pending = new IdentityHashMap<>();
        pending.put(this, gradOutput);
        try (var noGrad = Grad.disabled()) {
            for (Variable v : order) {
                Tensor g = pending.remove(v);
                if (g == null) continue;
                if (v.isLeaf()) {
                    v.grad = v.grad == null ? g.copy() : v.grad.add(g);
                    continue;
                }
                Tensor[] inputGrads = v.gradFn.runBackward(g);
                Variable[] inputs = v.gradFn.inputs();
                for (int i = 0; i < inputs.length; i++) {
                    Variable in = inputs[i];
                    if (in == null || !in.requiresGrad || inputGrads[i] == null) continue;
                    Tensor gi = inputGrads[i];
                    if (!Arrays.equals(gi.shape(), in.data.shape())) {
                        throw new IllegalStateException(v.gradFn.name() + ": backward gave a gradient of shape "
                                + Arrays.toString(gi.shape()) + " for input " + i + " of shape "
                                + Arrays.toString(in.data.shape()));
                    }
                    Tensor prev = pending.get(in);
                    pending.put(in, prev == null ? gi : prev.add(gi));
                }
                if (!retainGraph) v.gradFn.release();
            }
        }
    }

    /** Every variable reachable from this one that needs a gradient, outputs before inputs. */
    private List<Variable> topologicalOrder() {
        List<Variable> postOrder = new ArrayList<>();
        Map<Variable, Boolean> visited = new IdentityHashMap<>();
        ArrayDeque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[] {this, 0});
        visited.put(this, Boolean.TRUE);
        while (!stack.isEmpty()) {
            Object[] frame = stack.peek();
            Variable v = (Variable) frame[0];
            int next = (Integer) frame[1];
            Variable[] inputs = v.isLeaf() ? new Variable[0] : v.gradFn.inputs();
            if (!v.isLeaf() && v.gradFn.isReleased()) {
                throw new IllegalStateException("backward: the graph through " + v.gradFn.name() + " was freed by an earlier"
                        + " backward(); pass retainGraph = true to the first call to run backward twice");
            }
            if (next < inputs.length) {
                frame[1] = next + 1;
                Variable in = inputs[next];
                if (in != null && in.requiresGrad && visited.put(in, Boolean.TRUE) == null) {
                    stack.push(new Object[] {in, 0});
                }
            } else {
                stack.pop();
                postOrder.add(v);
            }
        }
        Collections.reverse(postOrder);
        return postOrder;
    }

    @Override
    public String toString() {
        return "Variable(" + data + (gradFn != null ? ", fn=" + gradFn.name() : requiresGrad ? ", leaf" : "") + ")";
    }

    // ---- ops, for reading models like math; each delegates to its family ----

    public Variable add(Variable o) { return Elementwise.add(this, o); }
    public Variable sub(Variable o) { return Elementwise.sub(this, o); }
    public Variable mul(Variable o) { return Elementwise.mul(this, o); }
    public Variable div(Variable o) { return Elementwise.div(this, o); }
    public Variable add(double s) { return Elementwise.add(this, s); }
    public Variable mul(double s) { return Elementwise.mul(this, s); }
    public Variable pow(double p) { return Elementwise.pow(this, p); }
    public Variable neg() { return Elementwise.neg(this); }
    public Variable exp() { return Elementwise.exp(this); }
    public Variable log() { return Elementwise.log(this); }
    public Variable tanh() { return Elementwise.tanh(this); }
    public Variable sigmoid() { return Elementwise.sigmoid(this); }
    public Variable relu() { return Elementwise.relu(this); }
    public Variable gelu() { return Elementwise.gelu(this); }
    public Variable sqrt() { return Elementwise.sqrt(this); }
    public Variable sum() { return Reduce.sum(this); }
    public Variable mean() { return Reduce.mean(this); }
    public Variable sum(int axis, boolean keepDim) { return Reduce.sum(this, axis, keepDim); }
    public Variable mean(int axis, boolean keepDim) { return Reduce.mean(this, axis, keepDim); }
    public Variable reshape(int... shape) { return ShapeOps.reshape(this, shape); }
    public Variable transpose(int d0, int d1) { return ShapeOps.transpose(this, d0, d1); }
    public Variable permute(int... order) { return ShapeOps.permute(this, order); }
    public Variable matmul(Variable o) { return LinearAlgebra.matmul(this, o); }
}
