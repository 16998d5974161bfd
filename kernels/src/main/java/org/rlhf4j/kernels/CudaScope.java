package org.rlhf4j.kernels;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.rlhf4j.tensor.Storage;
import org.rlhf4j.tensor.Tensor;

/**
 * Frees, when it closes, the device storage that was allocated on this thread while it was open, except what
 * was {@linkplain #keep kept}. Scopes nest; a kept tensor moves to the enclosing scope (or to none, when this is
 * the outermost one, and then its owner closes it).
 *
 * <pre>{@code
 * try (CudaScope step = CudaScope.open()) {
 *     Tensor loss = model.forward(batch);   // activations of the step live in the scope
 *     step.keep(loss);                      // survives the scope
 * }                                         // everything else goes back to the caching allocator
 * }</pre>
 */
public final class CudaScope implements AutoCloseable {
    private static final ThreadLocal<ArrayDeque<CudaScope>> STACK = ThreadLocal.withInitial(ArrayDeque::new);

    private final Map<Storage, Boolean> owned = new IdentityHashMap<>();
    private final List<Storage> order = new ArrayList<>();
    private boolean closed;

    private CudaScope() {}

    /** Opens a scope on the calling thread. */
    public static CudaScope open() {
        CudaScope scope = new CudaScope();
        STACK.get().push(scope);
        return scope;
    }

    /** Called by the backend for each new storage. */
    static void track(Storage storage) {
        CudaScope scope = STACK.get().peek();
        if (scope != null && scope.owned.put(storage, Boolean.TRUE) == null) scope.order.add(storage);
    }

    /** Lets {@code t}'s storage outlive this scope; returns t. */
    public Tensor keep(Tensor t) {
        Storage s = t.storage();
        if (owned.remove(s) != null) {
            order.remove(s);
            ArrayDeque<CudaScope> stack = STACK.get();
            CudaScope outer = null;
            boolean seen = false;
            for (CudaScope sc : stack) { // innermost first
                if (seen) {
                    outer = sc;
                    break;
                }
                seen = sc == this;
            }
            if (outer != null && outer.owned.put(s, Boolean.TRUE) == null) outer.order.add(s);
        }
        return t;
    }

    /** Storages this scope will free. */
    public int size() {
        return order.size();
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        ArrayDeque<CudaScope> stack = STACK.get();
        stack.remove(this);
        for (int i = order.size() - 1; i >= 0; i--) order.get(i).close();
        order.clear();
        owned.clear();
    }
}
