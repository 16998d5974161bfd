package org.rlhf4j.autograd;

import org.rlhf4j.tensor.Tensor;

/**
 * A node of the graph: the op that made a {@link Variable}, what it saved for backward, and its backward rule.
 * Backward gets the gradient of the output and returns one gradient per input, each of that input's shape
 * ({@code null} where the input needs none): the local derivative times the incoming gradient.
 */
public final class Function {
    /** The backward rule of one op: gradient of the output, saved tensors, then one gradient per input. */
    @FunctionalInterface
    public interface Backward {
        Tensor[] apply(Tensor gradOutput, Tensor[] saved, boolean[] needsGrad);
    }

    private final String name;
    private final Variable[] inputs;
    private final Backward backward;
    private Tensor[] saved;

    private Function(String name, Variable[] inputs, Tensor[] saved, Backward backward) {
        this.name = name;
        this.inputs = inputs;
        this.saved = saved;
        this.backward = backward;
    }

    /**
     * Wraps {@code output} in a Variable. When recording is on and some input needs a gradient, the Variable
     * remembers this op; {@code saved} are the tensors backward reads (dropped after backward unless the graph
     * is retained). The backward rule should reach tensors only through {@code saved}.
     */
    public static Variable record(String name, Tensor output, Variable[] inputs, Tensor[] saved, Backward backward) {
        if (!Grad.isEnabled()) return Variable.constant(output);
        boolean any = false;
        for (Variable v : inputs) any |= v != null && v.requiresGrad();
        if (!any) return Variable.constant(output);
        return Variable.fromFunction(output, new Function(name, inputs.clone(), saved, backward));
    }

    /** The op's name, for error messages and graph dumps. */
    public String name() {
        return name;
    }

    Variable[] inputs() {
        return inputs;
    }

    /** What backward will read (for tests of memory use); null once released. */
    Tensor[] savedTensors() {
        return saved == null ? null : saved.clone();
    }

    boolean isReleased() {
        return saved == null;
    }

    Tensor[] runBackward(Tensor gradOutput) {
        if (saved == null) {
            throw new IllegalStateException("backward: the graph through " + name + " was freed by an earlier backward();"
                    + " pass retainGraph = true to the first call to run backward twice");
        }
        boolean[] needs = new boolean[inputs.length];
        for (int i = 0; i < inputs.length; i++) needs[i] = inputs[i] != null && inputs[i].requiresGrad();
        Tensor[] grads = backward.apply(gradOutput, saved, needs);
        if (grads.length != inputs.length) {
            throw new IllegalStateException(name + ": backward returned " + grads.length + " gradients for "
                    + inputs.length + " inputs");
        }
        return grads;
    }

    void release() {
        saved = null;
    }
}
