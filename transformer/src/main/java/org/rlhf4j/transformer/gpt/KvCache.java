package org.rlhf4j.transformer.gpt;

import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Tensor;

/** Keys and values of every layer for the tokens seen so far: {@code [B, H, maxLength, D]} per layer. */
public final class KvCache {
    private final Layer[] layers;
    private final int maxLength;
    private int length;

    KvCache(int layerCount, int batch, int heads, int maxLength, int headWidth, DType dtype, Device device) {
        this.maxLength = maxLength;
        this.layers = new Layer[layerCount];
        for (int i = 0; i < layerCount; i++) {
            layers[i] = new Layer(Tensor.zeros(dtype, device, batch, heads, maxLength, headWidth),
                    Tensor.zeros(dtype, device, batch, heads, maxLength, headWidth));
        }
    }

    /** Tokens cached so far. */
    public int length() {
        return length;
    }

    public int maxLength() {
        return maxLength;
    }

    Layer layer(int i) {
        return layers[i];
    }

    void advance(int tokens) {
        length += tokens;
    }

    /** {@code [t, total]}: 0 where query i (at position past + i) may see key j, -inf where j > past + i. */
    static Tensor causalMask(int past, int t, int total, DType dtype) {
        Tensor m = Tensor.zeros(dtype, t, total);
        for (int i = 0; i < t; i++) {
            for (int j = past + i + 1; j < total; j++) m.set(Double.NEGATIVE_INFINITY, i, j);
        }
        return m;
    }

    /** One layer's keys and values. */
    final class Layer {
        private final Tensor keys, values;

        Layer(Tensor keys, Tensor values) {
            this.keys = keys;
            this.values = values;
        }

        int length() {
            return length;
        }

        Tensor keys() {
            return keys;
        }

        Tensor values() {
            return values;
        }

        /** Writes k, v {@code [B, H, t, D]} at positions length..length+t-1. */
        void append(Tensor k, Tensor v) {
            int t = k.size(2);
            if (length + t > maxLength) {
                throw new IllegalStateException("KvCache: " + (length + t) + " tokens exceed the cache's " + maxLength);
            }
            keys.narrow(2, length, t).copyFrom(k);
            values.narrow(2, length, t).copyFrom(v);
        }
    }
}
