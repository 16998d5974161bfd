package org.rlhf4j.transformer.tokenizer;

import java.util.Arrays;

/** A growable int array. */
final class IntArrayBuilder {
    private int[] values;
    private int size;

    IntArrayBuilder(int capacity) {
        values = new int[Math.max(capacity, 8)];
    }

    void add(int value) {
        if (size == values.length) values = Arrays.copyOf(values, 2 * size);
        values[size++] = value;
    }

    void addAll(int[] more) {
        if (size + more.length > values.length) values = Arrays.copyOf(values, Math.max(2 * values.length, size + more.length));
        System.arraycopy(more, 0, values, size, more.length);
        size += more.length;
    }

    int[] toArray() {
        return Arrays.copyOf(values, size);
    }
}
