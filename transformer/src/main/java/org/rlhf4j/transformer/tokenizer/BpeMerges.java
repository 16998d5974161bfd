package org.rlhf4j.transformer.tokenizer;

import java.util.Arrays;

/**
 * A BPE merge table over token ids, and GPT-2's merge loop: while some adjacent pair of symbols has a merge,
 * take the pair of lowest rank and merge all its occurrences, left to right without overlap ({@code a a} on
 * {@code a a a} gives {@code aa a}).
 *
 * <p>GPT-2 rescans the word after every merge, which is quadratic in its length; a long run of letters (a
 * degenerate policy's output) is a single word. Here every adjacent pair with a merge sits in a min-heap keyed by
 * (rank, position), entries that later merges made stale are skipped when they come up, and the pairs that a
 * merge creates enter the heap only once all occurrences of the current rank are merged: the same result as
 * GPT-2's loop in O(n log n).
 */
final class BpeMerges {
    private static final long EMPTY = -1;

    private final int[] left;   // [rank] -> left symbol id
    private final int[] right;  // [rank] -> right symbol id
    private final int[] result; // [rank] -> id of the merged symbol
    private final long[] slotPairs; // open addressing: pair key (left << 32 | right), or EMPTY
    private final int[] slotRanks;
    private final int shift;

    /**
     * Merge {@code rank} turns {@code left[rank], right[rank]} into {@code result[rank]}. The pairs are distinct,
     * and a result is never one of its own parts (true of strings: a concatenation of two non-empty strings is
     * longer than either), so a merge never recreates the pair it merges.
     */
    BpeMerges(int[] left, int[] right, int[] result) {
        for (int rank = 0; rank < left.length; rank++) {
            if (result[rank] == left[rank] || result[rank] == right[rank]) {
                throw new IllegalArgumentException("BPE merge " + rank + ": (" + left[rank] + ", " + right[rank] + ") -> "
                        + result[rank] + " gives back one of its parts");
            }
        }
        this.left = left.clone();
        this.right = right.clone();
        this.result = result.clone();
        int bits = Math.max(4, 64 - Long.numberOfLeadingZeros(2L * left.length)); // load factor <= 1/2
        shift = 64 - bits;
        slotPairs = new long[1 << bits];
        slotRanks = new int[1 << bits];
        Arrays.fill(slotPairs, EMPTY);
        for (int rank = 0; rank < left.length; rank++) {
            long key = key(left[rank], right[rank]);
            int slot = slot(key);
            while (slotPairs[slot] != EMPTY) {
                if (slotPairs[slot] == key) throw new IllegalArgumentException("BPE merge (" + left[rank] + ", " + right[rank] + ") is listed twice");
                slot = slot + 1 & slotPairs.length - 1;
            }
            slotPairs[slot] = key;
            slotRanks[slot] = rank;
        }
    }

    int size() {
        return left.length;
    }

    private static long key(int leftId, int rightId) {
        return (long) leftId << 32 | rightId & 0xFFFFFFFFL;
    }

    private int slot(long key) {
        return (int) (key * 0x9E3779B97F4A7C15L >>> shift);
    }

    /** The rank of merging {@code leftId, rightId}, or -1 if they do not merge. */
    int rank(int leftId, int rightId) {
        long key = key(leftId, rightId);
        for (int slot = slot(key); slotPairs[slot] != EMPTY; slot = slot + 1 & slotPairs.length - 1) {
            if (slotPairs[slot] == key) return slotRanks[slot];
        }
        return -1;
    }

    /** Merges {@code symbols} (ids of one pre-tokenized word) as far as the table allows. */
    int[] apply(int[] symbols) {
        int n = symbols.length;
        if (n < 2) return symbols.clone();
        // A doubly linked list over the positions; sym[p] = -1 once p has been merged into its left neighbour.
        int[] sym = symbols.clone();
        int[] next = new int[n];
        int[] prev = new int[n];
        for (int p = 0; p < n; p++) {
            next[p] = p + 1 < n ? p + 1 : -1;
            prev[p] = p - 1;
        }
        var heap = new LongMinHeap(n);
        for (int p = 0; p + 1 < n; p++) offer(heap, sym, next, p);

        int[] touched = new int[2 * n]; // positions whose pair with the next symbol changed in this round
        int remaining = n;
        while (!heap.isEmpty()) {
            int rank = (int) (heap.peek() >>> 32);
            int a = left[rank], b = right[rank], merged = result[rank];
            int touchedCount = 0;
            while (!heap.isEmpty() && (int) (heap.peek() >>> 32) == rank) {
                int p = (int) heap.poll(); // entries of one rank come out left to right
                int q = next[p];
                if (sym[p] != a || q < 0 || sym[q] != b) continue; // stale, or overlapped by the previous merge
                sym[p] = merged;
                sym[q] = -1;
                next[p] = next[q];
                if (next[q] >= 0) prev[next[q]] = p;
                remaining--;
                touched[touchedCount++] = p;
                if (prev[p] >= 0) touched[touchedCount++] = prev[p];
            }
            for (int i = 0; i < touchedCount; i++) {
                int p = touched[i];
                if (sym[p] >= 0 && next[p] >= 0) offer(heap, sym, next, p);
            }
        }
        int[] out = new int[remaining];
        for (int p = 0, i = 0; p >= 0; p = next[p]) out[i++] = sym[p];
        return out;
    }

    private void offer(LongMinHeap heap, int[] sym, int[] next, int p) {
        int rank = rank(sym[p], sym[next[p]]);
        if (rank >= 0) heap.add((long) rank << 32 | p);
    }

    /** A binary min-heap of longs. */
    private static final class LongMinHeap {
        private long[] items;
        private int size;

        LongMinHeap(int capacity) {
            items = new long[Math.max(capacity, 4)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        long peek() {
            return items[0];
        }

        void add(long item) {
            if (size == items.length) items = Arrays.copyOf(items, 2 * size);
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (items[parent] <= item) break;
                items[i] = items[parent];
                i = parent;
            }
            items[i] = item;
        }

        long poll() {
            long top = items[0];
            long last = items[--size];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= size) break;
                if (child + 1 < size && items[child + 1] < items[child]) child++;
                if (last <= items[child]) break;
                items[i] = items[child];
                i = child;
            }
            items[i] = last;
            return top;
        }
    }
}
