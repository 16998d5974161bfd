package org.rlhf4j.transformer.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Generator;
import org.rlhf4j.tensor.Tensor;
import org.rlhf4j.transformer.gpt.Gpt;

class ModelDirectoryTest {
    @TempDir
    Path dir;

    private static final Gpt.Config TINY = new Gpt.Config(32, 16, 2, 2, 8, 1e-5, 0.0);

    private static Gpt randomModel(long seed) {
        return new Gpt(TINY, DType.F32, new Generator(seed));
    }

    private static float[] logits(Gpt model) {
        model.eval();
        Tensor ids = Tensor.ofInts(new int[] {1, 5, 31, 0, 7, 2, 9, 30, 4, 4, 12, 3}, 2, 6);
        return model.forward(ids).data().toFloatArray();
    }

    private static void assertSameParameters(Gpt expected, Gpt actual) {
        Map<String, Tensor> e = expected.stateDict(), a = actual.stateDict();
        assertEquals(List.copyOf(e.keySet()), List.copyOf(a.keySet()));
        for (String name : e.keySet()) assertArrayEquals(e.get(name).toFloatArray(), a.get(name).toFloatArray(), name);
    }

    /** The model's tensors as F32, renamed by {@code rename}; the config written alongside. */
    private Path writeDirectory(Gpt model, Map<String, Tensor> extra, java.util.function.UnaryOperator<String> rename)
            throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (var e : model.stateDict().entrySet()) tensors.put(rename.apply(e.getKey()), e.getValue());
        tensors.putAll(extra);
        Files.createDirectories(dir);
        SafeTensors.save(dir.resolve(ModelDirectory.WEIGHTS_FILE), tensors);
        HfConfig.of(model.config()).write(dir.resolve(ModelDirectory.CONFIG_FILE));
        return dir;
    }

    private ModelFileException assertLoadFails(String... mentions) {
        ModelFileException e = assertThrows(ModelFileException.class, () -> ModelDirectory.load(dir, DType.F32));
        for (String m : mentions) assertTrue(e.getMessage().contains(m), "'" + m + "' missing from: " + e.getMessage());
        return e;
    }

    @Test
    void saveThenLoadGivesIdenticalParametersAndLogits() throws IOException {
        Gpt model = randomModel(7);
        ModelDirectory.save(model, dir);
        Gpt loaded = ModelDirectory.load(dir, DType.F32);
        assertEquals(model.config(), loaded.config());
        assertSameParameters(model, loaded);
        assertArrayEquals(logits(model), logits(loaded));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of("config.json", "model.safetensors"),
                    files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList()));
        }
    }

    @Test
    void savingTheLoadedModelGivesIdenticalFiles() throws IOException {
        Path first = dir.resolve("first"), second = dir.resolve("second");
        ModelDirectory.save(randomModel(3), first);
        ModelDirectory.save(ModelDirectory.load(first, DType.F32), second);
        for (String f : List.of(ModelDirectory.CONFIG_FILE, ModelDirectory.WEIGHTS_FILE)) {
            assertArrayEquals(Files.readAllBytes(first.resolve(f)), Files.readAllBytes(second.resolve(f)), f);
        }
    }

    @Test
    void writtenFileHasHfNamesFormatPtAndNoLmHead() throws IOException {
        ModelDirectory.save(randomModel(1), dir);
        SafeTensors.Header header = SafeTensors.readHeader(dir.resolve(ModelDirectory.WEIGHTS_FILE));
        assertEquals("pt", header.metadata().get("format"));
        assertTrue(header.tensors().containsKey("transformer.h.1.attn.c_attn.weight"));
        assertArrayEquals(new int[] {8, 24}, header.tensors().get("transformer.h.1.attn.c_attn.weight").shape());
        assertArrayEquals(new int[] {32, 8}, header.tensors().get("transformer.wte.weight").shape());
        assertFalse(header.tensors().containsKey("lm_head.weight"));
        for (SafeTensors.TensorInfo info : header.tensors().values()) assertEquals(SafeTensors.Dtype.F32, info.dtype());
    }

    @Test
    void loadsIntoF64() throws IOException {
        Gpt model = randomModel(5);
        ModelDirectory.save(model, dir);
        Gpt loaded = ModelDirectory.load(dir, DType.F64);
        assertEquals(DType.F64, loaded.dtype());
        assertSameParameters(model, loaded);
        // an F64 model is saved as F32 and reloads to the same values
        ModelDirectory.save(loaded, dir.resolve("again"));
        assertSameParameters(model, ModelDirectory.load(dir.resolve("again"), DType.F32));
    }

    @Test
    void acceptsNamesWithoutThePrefixAndSkipsMaskBuffersAndTiedHead() throws IOException {
        Gpt model = randomModel(9);
        Map<String, Tensor> extra = new LinkedHashMap<>();
        // what the OpenAI-converted GPT-2 files on the hub carry besides parameters
        for (int i = 0; i < TINY.layers(); i++) {
            extra.put("h." + i + ".attn.bias", Tensor.ones(DType.F32, 1, 1, 16, 16));
            extra.put("h." + i + ".attn.masked_bias", Tensor.scalar(-1e4));
        }
        extra.put("lm_head.weight", model.tokenEmbedding().data());
        writeDirectory(model, extra, name -> name.substring("transformer.".length()));
        Gpt loaded = ModelDirectory.load(dir, DType.F32);
        assertSameParameters(model, loaded);
        assertArrayEquals(logits(model), logits(loaded));
    }

    @Test
    void loadsBf16Weights() throws IOException {
        Gpt model = randomModel(2);
        RawSafeTensors raw = new RawSafeTensors();
        Map<String, float[]> truncated = new LinkedHashMap<>();
        for (var e : model.stateDict().entrySet()) {
            float[] values = e.getValue().toFloatArray();
            int[] bits = new int[values.length];
            float[] kept = new float[values.length];
            for (int i = 0; i < values.length; i++) {
                bits[i] = Float.floatToRawIntBits(values[i]) >>> 16;
                kept[i] = Float.intBitsToFloat(bits[i] << 16);
            }
            raw.add16(e.getKey(), "BF16", e.getValue().shape(), bits);
            truncated.put(e.getKey(), kept);
        }
        Files.write(dir.resolve(ModelDirectory.WEIGHTS_FILE), raw.bytes());
        HfConfig.of(TINY).write(dir.resolve(ModelDirectory.CONFIG_FILE));
        Gpt loaded = ModelDirectory.load(dir, DType.F32);
        for (var e : loaded.stateDict().entrySet()) {
            assertArrayEquals(truncated.get(e.getKey()), e.getValue().toFloatArray(), e.getKey());
        }
    }

    @Test
    void untiedLmHeadIsRefused() throws IOException {
        Gpt model = randomModel(4);
        Tensor head = model.tokenEmbedding().data().copy();
        head.set(0.5, 3, 2);
        writeDirectory(model, Map.of("lm_head.weight", head), name -> name);
        assertLoadFails(ModelDirectory.WEIGHTS_FILE, "lm_head.weight", "[3, 2]", "tied");
    }

    @Test
    void missingTensorIsNamed() throws IOException {
        Gpt model = randomModel(4);
        Map<String, Tensor> tensors = new LinkedHashMap<>(model.stateDict());
        tensors.remove("transformer.h.1.mlp.c_fc.bias");
        Files.createDirectories(dir);
        SafeTensors.save(dir.resolve(ModelDirectory.WEIGHTS_FILE), tensors);
        HfConfig.of(TINY).write(dir.resolve(ModelDirectory.CONFIG_FILE));
        assertLoadFails(dir.resolve(ModelDirectory.WEIGHTS_FILE).toString(), "missing tensor", "transformer.h.1.mlp.c_fc.bias");
    }

    @Test
    void wrongShapeIsNamed() throws IOException {
        Gpt model = randomModel(4);
        writeDirectory(model, Map.of(), name -> name);
        Map<String, Tensor> tensors = new LinkedHashMap<>(SafeTensors.load(dir.resolve(ModelDirectory.WEIGHTS_FILE)));
        tensors.put("transformer.h.0.attn.c_proj.weight", Tensor.zeros(8, 9));
        SafeTensors.save(dir.resolve(ModelDirectory.WEIGHTS_FILE), tensors);
        assertLoadFails(ModelDirectory.WEIGHTS_FILE, "transformer.h.0.attn.c_proj.weight", "[8, 9]", "[8, 8]", "config.json");
    }

    @Test
    void configThatDisagreesWithTheWeightsIsRefused() throws IOException {
        writeDirectory(randomModel(4), Map.of(), name -> name);
        HfConfig.of(new Gpt.Config(32, 16, 2, 2, 16, 1e-5, 0.0)).write(dir.resolve(ModelDirectory.CONFIG_FILE));
        assertLoadFails(ModelDirectory.WEIGHTS_FILE, "transformer.wte.weight", "[32, 8]", "[32, 16]");

        HfConfig.of(new Gpt.Config(32, 16, 1, 2, 8, 1e-5, 0.0)).write(dir.resolve(ModelDirectory.CONFIG_FILE));
        assertLoadFails("'transformer.h.1.", "not a parameter");

        HfConfig.of(new Gpt.Config(32, 16, 3, 2, 8, 1e-5, 0.0)).write(dir.resolve(ModelDirectory.CONFIG_FILE));
        assertLoadFails("missing tensor", "transformer.h.2.");
    }

    @Test
    void duplicateAndUnknownTensorsAreRefused() throws IOException {
        Gpt model = randomModel(4);
        writeDirectory(model, Map.of("wte.weight", model.tokenEmbedding().data()), name -> name);
        assertLoadFails("'transformer.wte.weight'", "'wte.weight'", "both");

        writeDirectory(model, Map.of("score.weight", Tensor.zeros(1, 8)), name -> name);
        assertLoadFails("score.weight", "not a parameter");

        // a misnamed 2-d tensor that looks like a mask buffer is not skipped silently
        writeDirectory(model, Map.of("h.0.attn.bias", Tensor.zeros(8, 8)), name -> name);
        assertLoadFails("h.0.attn.bias");
    }

    @Test
    void missingFilesAndBadConfigFail() throws IOException {
        assertThrows(java.nio.file.NoSuchFileException.class, () -> ModelDirectory.load(dir, DType.F32));
        HfConfig.of(TINY).write(dir.resolve(ModelDirectory.CONFIG_FILE));
        assertThrows(java.nio.file.NoSuchFileException.class, () -> ModelDirectory.load(dir, DType.F32));
        Files.writeString(dir.resolve(ModelDirectory.CONFIG_FILE), "{\"vocab_size\": 32}");
        assertLoadFails(ModelDirectory.CONFIG_FILE, "n_positions");
    }

    @Test
    void failedSaveLeavesThePreviousDirectoryLoadable() throws IOException {
        Gpt original = randomModel(8);
        ModelDirectory.save(original, dir);
        // a leftover temporary file from an earlier crash is ignored by load and by the next save
        Files.write(dir.resolve(".model.safetensors.0000000000000001.tmp"), new byte[] {1, 2, 3});
        assertSameParameters(original, ModelDirectory.load(dir, DType.F32));
        Gpt other = randomModel(9);
        assertThrows(IllegalArgumentException.class,
                () -> ModelDirectory.save(other, HfConfig.of(new Gpt.Config(32, 16, 1, 2, 8, 1e-5, 0.0)), dir));
        assertSameParameters(original, ModelDirectory.load(dir, DType.F32));
        ModelDirectory.save(other, dir);
        assertSameParameters(other, ModelDirectory.load(dir, DType.F32));
    }
}
