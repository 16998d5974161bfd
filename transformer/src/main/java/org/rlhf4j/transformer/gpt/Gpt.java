package org.rlhf4j.transformer.gpt;

import org.rlhf4j.autograd.Grad;
import org.rlhf4j.autograd.Nn;
import org.rlhf4j.autograd.Variable;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.NnOps;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.nn.Dropout;
import org.rlhf4j.transformer.nn.Embedding;
import org.rlhf4j.transformer.nn.LayerNorm;
import org.rlhf4j.transformer.nn.Linear;
import org.rlhf4j.transformer.nn.Module;
import org.rlhf4j.transformer.nn.ModuleList;

/**
 * GPT-2, exactly: learned positions, pre-LayerNorm blocks, tanh GELU, an LM head tied to the token embedding.
 * Parameter names and layouts are Hugging Face's {@code GPT2LMHeadModel} ({@code transformer.wte.weight},
 * {@code transformer.h.0.attn.c_attn.weight} stored {@code [in, out]}, ...), so HF model directories load with no
 * conversion.
 *
 * <p>Shapes: {@code B} batch, {@code T} time, {@code C} width, {@code H} heads, {@code D = C / H}, {@code V}
 * vocabulary.
 */
public final class Gpt extends Module {

    /** The architecture; names follow the fields of Hugging Face's GPT-2 config.json. */
    public record Config(
            int vocabSize,        // vocab_size: 50257 for GPT-2's BPE, 256 + specials for bytes
            int contextLength,    // n_positions: longest sequence, in tokens
            int layers,           // n_layer
            int heads,            // n_head
            int width,            // n_embd; divisible by heads
            double layerNormEps,  // layer_norm_epsilon: 1e-5 in GPT-2
            double dropout) {     // embd_pdrop = resid_pdrop (attention-probability dropout is not applied)

        public Config {
            if (vocabSize < 1 || contextLength < 1 || layers < 0 || heads < 1 || width < 1) {
                throw new IllegalArgumentException("Gpt.Config: sizes must be positive, found " + this);
            }
            if (width % heads != 0) {
                throw new IllegalArgumentException("Gpt.Config: width " + width + " is not divisible by heads " + heads);
            }
            if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("Gpt.Config: dropout must be in [0, 1)");
        }

        /** GPT-2 124M. */
        public static Config gpt2Small() {
            return new Config(50257, 1024, 12, 12, 768, 1e-5, 0.1);
        }

        public int headWidth() {
            return width / heads;
        }
    }

    /** Multi-head causal self-attention on the fused flash-style kernel. */
    public static final class Attention extends Module {
        private final int heads;
        private final Linear cAttn, cProj;
        private final Dropout residDropout;

        Attention(Config c, DType dtype, Generator gen) {
            this.heads = c.heads();
            this.cAttn = child("c_attn", new Linear(c.width(), 3 * c.width(), true, 0.02, dtype, gen));
            // GPT-2 scales the residual projections' init by 1/sqrt(2 * layers)
            this.cProj = child("c_proj", new Linear(c.width(), c.width(), true,
                    0.02 / Math.sqrt(2.0 * Math.max(1, c.layers())), dtype, gen));
            this.residDropout = child("resid_dropout", new Dropout(c.dropout(), gen));
        }

        /** x {@code [B, T, C]} -> {@code [B, T, C]}; padMask null or additive {@code [B, T]}. */
        Variable forward(Variable x, Tensor padMask) {
            int d = x.shape()[2] / heads;
            Variable qkv = cAttn.forward(x);                                               // [B, T, 3C]
            Variable y = Nn.packedAttention(qkv, heads, padMask, 1.0 / Math.sqrt(d));      // [B, T, C]
            return residDropout.forward(cProj.forward(y));
        }

        /** Incremental attention with a KV cache (no graph): x {@code [B, t, C]} for positions past..past+t-1. */
        Tensor forwardCached(Tensor x, KvCache.Layer cache, Tensor padMask) {
            int[] s = x.shape();
            int b = s[0], t = s[1], c = s[2], d = c / heads;
            Tensor qkv = cAttn.forward(Variable.constant(x)).data();
            Tensor q = qkv.narrow(2, 0, c).reshape(b, t, heads, d).permute(0, 2, 1, 3);
            Tensor k = qkv.narrow(2, c, c).reshape(b, t, heads, d).permute(0, 2, 1, 3);
            Tensor v = qkv.narrow(2, 2 * c, c).reshape(b, t, heads, d).permute(0, 2, 1, 3);
            int past = cache.length();
            cache.append(k, v);
            int total = past + t;
            if (past == 0) {
                // the prompt: causal self-attention on the flash kernel, no [t, t] scores; a padding query sees
                // only padding keys, a fully masked row, which the kernel answers with zeros
                Tensor mask = padMask == null ? null : padMask.narrow(1, 0, t);
                Tensor y = Nn.attention(Variable.constant(q), Variable.constant(k), Variable.constant(v), mask,
                        1.0 / Math.sqrt(d)).data().permute(0, 2, 1, 3).reshape(b, t, c);
                return cProj.forward(Variable.constant(y)).data();
            }
            Tensor keys = cache.keys().narrow(2, 0, total), values = cache.values().narrow(2, 0, total);
            Tensor scores = q.matmul(keys.transpose(-1, -2)).mul(1.0 / Math.sqrt(d)); // [B, H, t, total]
            scores.addInPlace(KvCache.causalMask(past, t, total, x.dtype()).to(x.device()));         // query i sees keys <= past + i
            if (padMask != null) {
                // -inf becomes -1e9: a padding query sees only padding keys, and a row of -inf would make NaN there,
                // whose keys and values then poison real rows (0 * NaN); exp(-1e9 - max) is exactly 0 in F32 and F64
                Tensor pad = padMask.narrow(1, 0, total).clamp(-1e9, Double.POSITIVE_INFINITY);
                scores.addInPlace(pad.reshape(b, 1, 1, total));
            }
            Tensor probs = NnOps.softmax(scores, false);
            Tensor y = probs.matmul(values).permute(0, 2, 1, 3).reshape(b, t, c);
            return cProj.forward(Variable.constant(y)).data();
        }
    }

    /** The position-wise feed-forward network: c_fc, GELU, c_proj. */
    public static final class Mlp extends Module {
        private final Linear cFc, cProj;
        private final Dropout dropout;

        Mlp(Config c, DType dtype, Generator gen) {
            this.cFc = child("c_fc", new Linear(c.width(), 4 * c.width(), true, 0.02, dtype, gen));
            this.cProj = child("c_proj", new Linear(4 * c.width(), c.width(), true,
                    0.02 / Math.sqrt(2.0 * Math.max(1, c.layers())), dtype, gen));
            this.dropout = child("dropout", new Dropout(c.dropout(), gen));
        }

        Variable forward(Variable x) {
            return dropout.forward(cProj.forward(cFc.forward(x).gelu()));
        }
    }

    /** A pre-LayerNorm residual block: x + attn(ln_1(x)), then x + mlp(ln_2(x)). */
    public static final class Block extends Module {
        private final LayerNorm ln1, ln2;
        private final Attention attn;
        private final Mlp mlp;

        Block(Config c, DType dtype, Generator gen) {
            this.ln1 = child("ln_1", new LayerNorm(c.width(), c.layerNormEps(), dtype));
            this.attn = child("attn", new Attention(c, dtype, gen));
            this.ln2 = child("ln_2", new LayerNorm(c.width(), c.layerNormEps(), dtype));
            this.mlp = child("mlp", new Mlp(c, dtype, gen));
        }

        Variable forward(Variable x, Tensor padMask) {
            x = x.add(attn.forward(ln1.forward(x), padMask));
            return x.add(mlp.forward(ln2.forward(x)));
        }

        Tensor forwardCached(Tensor x, KvCache.Layer cache, Tensor padMask) {
            Tensor h = x.add(attn.forwardCached(ln1.forward(Variable.constant(x)).data(), cache, padMask));
            return h.add(mlp.forward(ln2.forward(Variable.constant(h))).data());
        }
    }

    /** The trunk, named "transformer" as in Hugging Face: embeddings, blocks, final LayerNorm. */
    public static final class Trunk extends Module {
        final Embedding wte, wpe;
        final Dropout drop;
        final ModuleList<Block> h;
        final LayerNorm lnF;

        Trunk(Config c, DType dtype, Generator gen) {
            this.wte = child("wte", new Embedding(c.vocabSize(), c.width(), 0.02, dtype, gen));
            this.wpe = child("wpe", new Embedding(c.contextLength(), c.width(), 0.01, dtype, gen));
            this.drop = child("drop", new Dropout(c.dropout(), gen));
            this.h = child("h", new ModuleList<>());
            for (int i = 0; i < c.layers(); i++) h.add(new Block(c, dtype, gen));
            this.lnF = child("ln_f", new LayerNorm(c.width(), c.layerNormEps(), dtype));
        }
    }

    private final Config config;
    private final DType dtype;
    private final Generator generator;
    private final Trunk transformer;

    /** A freshly initialised model (GPT-2's initialisation), F32 or F64, from a seeded generator. */
    public Gpt(Config config, DType dtype, Generator gen) {
        this.config = config;
        this.dtype = dtype;
        this.generator = gen;
        this.transformer = child("transformer", new Trunk(config, dtype, gen));
    }

    public Config config() {
        return config;
    }

    public DType dtype() {
        return dtype;
    }

    /** The generator dropout draws its masks from (its state goes into training checkpoints). */
    public Generator generator() {
        return generator;
    }

    /** The token embedding {@code [V, C]}, which is also the LM head. */
    public Variable tokenEmbedding() {
        return transformer.wte.weight();
    }

    private void checkIds(Tensor ids) {
        if (ids.dim() != 2) throw new IllegalArgumentException("Gpt: ids must be [B, T], found " + java.util.Arrays.toString(ids.shape()));
        if (ids.size(1) > config.contextLength()) {
            throw new IllegalArgumentException("Gpt: sequence of " + ids.size(1) + " tokens exceeds the context length "
                    + config.contextLength());
        }
    }

    /** Positions 0..T-1 for every row. */
    public static Tensor defaultPositions(int batch, int time) {
        return org.rlhf4j.tensor.Tensor.arange(time, DType.I32).unsqueeze(0).expand(batch, time).contiguous();
    }

    /**
     * The trunk's output after the final LayerNorm, {@code [B, T, C]}. ids {@code [B, T]} I32; positions
     * {@code [B, T]} I32 or null for 0..T-1 (left-padded rows count positions from their first real token);
     * padMask null or additive {@code [B, T]} over keys.
     */
    public Variable hidden(Tensor ids, Tensor positions, Tensor padMask) {
        checkIds(ids);
        int b = ids.size(0), t = ids.size(1);
        Device device = parameterDevice();
        // inputs made on the host move to the model's device (a no-op when they are there already)
        ids = ids.to(device);
        padMask = padMask == null ? null : padMask.to(device);
        Tensor pos = (positions == null ? defaultPositions(b, t) : positions).to(device);
        Variable x = transformer.wte.forward(ids).add(transformer.wpe.forward(pos)); // [B, T, C]
        x = transformer.drop.forward(x);
        for (Block block : transformer.h) x = block.forward(x, padMask);
        return transformer.lnF.forward(x);
    }

    /** Moves the model's parameters to {@code device} (see {@link Module#to}); returns this model. */
    @Override
    public Gpt to(Device device) {
        super.to(device);
        return this;
    }

    /** Where the parameters are: the token embedding's device ({@link Module#device()} checks them all). */
    private Device parameterDevice() {
        return tokenEmbedding().data().device();
    }

    /** Logits {@code [B, T, V]} from hidden states {@code [B, T, C]}: the tied LM head, h · wteᵀ. */
    public Variable logits(Variable hidden) {
        int[] s = hidden.shape();
        Variable flat = hidden.reshape(-1, s[s.length - 1]);
        Variable logits = flat.matmul(tokenEmbedding().transpose(0, 1)); // the transpose is a view
        return logits.reshape(s[0], s[1], config.vocabSize());
    }

    /** Logits {@code [B, T, V]}. */
    public Variable forward(Tensor ids, Tensor positions, Tensor padMask) {
        return logits(hidden(ids, positions, padMask));
    }

    /** Logits {@code [B, T, V]} with default positions and no padding. */
    public Variable forward(Tensor ids) {
        return forward(ids, null, null);
    }

    /** A KV cache for {@code batch} rows of up to {@code maxLength} tokens. */
    public KvCache newCache(int batch, int maxLength) {
        if (maxLength > config.contextLength()) {
            throw new IllegalArgumentException("Gpt: cache of " + maxLength + " exceeds the context length " + config.contextLength());
        }
        return new KvCache(config.layers(), batch, config.heads(), maxLength, config.headWidth(), dtype, parameterDevice());
    }

    /**
     * Incremental forward with a KV cache, without recording a graph: ids {@code [B, t]} at the given positions,
     * padMask additive over all {@code past + t} keys (or null). Returns logits {@code [B, t, V]}.
     */
    public Tensor forwardCached(Tensor ids, Tensor positions, Tensor padMask, KvCache cache) {
        checkIds(ids);
        Device device = parameterDevice();
        ids = ids.to(device);
        positions = positions.to(device);
        padMask = padMask == null ? null : padMask.to(device);
        try (var g = Grad.disabled()) {
            Tensor x = transformer.wte.forward(ids).add(transformer.wpe.forward(positions)).data();
            for (int i = 0; i < transformer.h.size(); i++) x = transformer.h.get(i).forwardCached(x, cache.layer(i), padMask);
            cache.advance(ids.size(1));
            return logits(transformer.lnF.forward(Variable.constant(x))).data();
        }
    }
}
