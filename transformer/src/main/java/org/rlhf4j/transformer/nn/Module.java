package org.rlhf4j.transformer.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Tensor;

/**
 * A layer or a model: named parameters and named sub-modules, in registration order, so that
 * {@link #namedParameters()} lists them in a stable order with dotted names ({@code h.0.attn.c_attn.weight}).
 */
public abstract class Module {
    private final Map<String, Variable> parameters = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** Registers a parameter (a leaf that needs a gradient) under {@code name}. */
    protected final Variable parameter(String name, Tensor init) {
        if (parameters.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": name '" + name + "' is already taken");
        }
        Variable p = Variable.parameter(init);
        parameters.put(name, p);
        return p;
    }

    /** Registers a sub-module under {@code name}. */
    protected final <M extends Module> M child(String name, M module) {
        if (parameters.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": name '" + name + "' is already taken");
        }
        children.put(name, module);
        return module;
    }

    /** Every parameter of this module and its sub-modules, with dotted names, in registration order. */
    public final Map<String, Variable> namedParameters() {
        Map<String, Variable> out = new LinkedHashMap<>();
        collect("", out);
        return out;
    }

    private void collect(String prefix, Map<String, Variable> out) {
        for (var e : parameters.entrySet()) out.put(prefix + e.getKey(), e.getValue());
        for (var e : children.entrySet()) e.getValue().collect(prefix + e.getKey() + ".", out);
    }

    public final List<Variable> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** Number of scalar parameters. */
    public final long parameterCount() {
        long n = 0;
        for (Variable p : parameters()) n += p.data().numel();
        return n;
    }

    /** Training mode (dropout active) for this module and all below it. */
    public final void train() {
        setTraining(true);
    }

    /** Evaluation mode (dropout off) for this module and all below it. */
    public final void eval() {
        setTraining(false);
    }

    private void setTraining(boolean value) {
        training = value;
        for (Module m : children.values()) m.setTraining(value);
    }

    public final boolean isTraining() {
        return training;
    }

    /**
     * Moves every parameter (and gradient) of this module and its sub-modules to {@code device}, in place; returns
     * this module. Optimizer state made before the move stays where it was: move first, then build the optimizer.
     */
    public Module to(Device device) {
        for (Variable p : parameters()) p.moveTo(device);
        return this;
    }

    /** The device of the parameters (the CPU for a module without any); fails if they are on several devices. */
    public final Device device() {
        Device device = null;
        for (var e : namedParameters().entrySet()) {
            Device d = e.getValue().data().device();
            if (device == null) device = d;
            else if (!device.equals(d)) {
                throw new IllegalStateException(getClass().getSimpleName() + ": parameters on " + device + " and "
                        + d + " ('" + e.getKey() + "')");
            }
        }
        return device == null ? Device.CPU : device;
    }

    /** Drops every parameter's accumulated gradient. */
    public final void zeroGrad() {
        for (Variable p : parameters()) p.zeroGrad();
    }

    /** The parameters' tensors by name (shared, not copied). */
    public final Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : namedParameters().entrySet()) out.put(e.getKey(), e.getValue().data());
        return out;
    }

    /**
     * Copies tensors into the parameters of the same names (converting dtype). Every parameter must be present
     * with its exact shape; nothing is written unless all are.
     */
    public final void loadStateDict(Map<String, Tensor> state, String source) {
        Map<String, Variable> own = namedParameters();
        for (var e : own.entrySet()) {
            Tensor t = state.get(e.getKey());
            if (t == null) throw new IllegalArgumentException(source + ": missing tensor '" + e.getKey() + "'");
            if (!Arrays.equals(t.shape(), e.getValue().shape())) {
                throw new IllegalArgumentException(source + ": tensor '" + e.getKey() + "' has shape "
                        + Arrays.toString(t.shape()) + ", the model expects " + Arrays.toString(e.getValue().shape()));
            }
        }
        for (var e : own.entrySet()) {
            Tensor p = e.getValue().data();
            p.copyFrom(state.get(e.getKey()).to(p.dtype()).to(p.device()));
        }
    }
}
