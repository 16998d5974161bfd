package org.rlhf4j.transformer.nn;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/** Sub-modules named by their index ("0", "1", ...), as GPT-2's {@code h.0}, {@code h.1}, .... */
public final class ModuleList<M extends Module> extends Module implements Iterable<M> {
    private final List<M> items = new ArrayList<>();

    public M add(M module) {
        child(Integer.toString(items.size()), module);
        items.add(module);
        return module;
    }

    public M get(int i) {
        return items.get(i);
    }

    public int size() {
        return items.size();
    }

    @Override
    public Iterator<M> iterator() {
        return items.iterator();
    }
}
