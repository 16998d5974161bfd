package org.rlhf4j.transformer.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
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

class TrainingCheckpointTest {
    @TempDir
    Path dir;

    private static final Gpt.Config TINY = new Gpt.Config(32, 16, 2, 2, 8, 1e-5, 0.0);

    private static TrainingCheckpoint sample(DType dtype) {
        Gpt model = new Gpt(TINY, dtype, new Generator(21));
        Generator gen = new Generator(5);
        Map<String, Tensor> optimizer = new LinkedHashMap<>();
        for (var e : model.stateDict().entrySet()) {
            optimizer.put("exp_avg." + e.getKey(), Tensor.randn(gen, dtype, e.getValue().shape()));
            optimizer.put("exp_avg_sq." + e.getKey(), Tensor.rand(gen, dtype, e.getValue().shape()));
        }
        Map<String, Generator.State> generators = new LinkedHashMap<>();
        generators.put("dropout", new Generator.State(-5, 0xFFFF_FFFF_FFFF_FFF0L)); // offset above 2^63: unsigned
        generators.put("data", new Generator.State(Long.MAX_VALUE, 3));
        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put("learning_rate", 3e-4);
        metadata.put("batch_size", 8);
        metadata.put("run", "sft-tiny");
        metadata.put("betas", List.of(0.9, 0.95));
        metadata.put("loader", Map.of("epoch", 2, "position", 12_345_678_901L));
        metadata.put("resumed", false);
        return new TrainingCheckpoint(model.stateDict(), optimizer, 1234, generators, metadata);
    }

    private static void assertBitIdentical(Map<String, Tensor> expected, Map<String, Tensor> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        for (String name : expected.keySet()) {
            Tensor e = expected.get(name), a = actual.get(name);
            assertEquals(e.dtype(), a.dtype(), name);
            assertArrayEquals(e.shape(), a.shape(), name);
            double[] ev = e.toDoubleArray(), av = a.toDoubleArray(); // F32 widens exactly
            for (int i = 0; i < ev.length; i++) {
                assertEquals(Double.doubleToRawLongBits(ev[i]), Double.doubleToRawLongBits(av[i]), name + "[" + i + "]");
            }
        }
    }

    private static void assertSameCheckpoint(TrainingCheckpoint expected, TrainingCheckpoint actual) {
        assertBitIdentical(expected.model(), actual.model());
        assertBitIdentical(expected.optimizer(), actual.optimizer());
        assertEquals(expected.step(), actual.step());
        assertEquals(expected.generators(), actual.generators());
        assertEquals(expected.metadata(), actual.metadata());
    }

    private List<String> dirListing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    @Test
    void roundTripIsExactForF32AndF64() throws IOException {
        for (DType dtype : List.of(DType.F32, DType.F64)) {
            TrainingCheckpoint checkpoint = sample(dtype);
            Path file = dir.resolve("ckpt-" + dtype + ".safetensors");
            checkpoint.save(file);
            TrainingCheckpoint loaded = TrainingCheckpoint.load(file);
            assertSameCheckpoint(checkpoint, loaded);
            assertEquals(12_345_678_901L, ((Map<?, ?>) loaded.metadata().get("loader")).get("position"));
            // save -> load -> save gives the same bytes
            Path again = dir.resolve("again-" + dtype + ".safetensors");
            loaded.save(again);
            assertArrayEquals(Files.readAllBytes(file), Files.readAllBytes(again));
        }
    }

    @Test
    void restoredGeneratorsReplayTheSameNumbers() throws IOException {
        Generator dropout = new Generator(77);
        Tensor.rand(dropout, DType.F32, 10); // advance past the start
        Gpt model = new Gpt(TINY, DType.F32, new Generator(1));
        TrainingCheckpoint.of(model, Map.of(), 10, Map.of("dropout", dropout), Map.of()).save(dir.resolve("c.safetensors"));
        float[] expected = Tensor.rand(dropout, DType.F32, 10).toFloatArray();

        Generator fresh = new Generator(0);
        Gpt restored = new Gpt(TINY, DType.F32, new Generator(2));
        TrainingCheckpoint loaded = TrainingCheckpoint.load(dir.resolve("c.safetensors"));
        loaded.restoreGenerators(Map.of("dropout", fresh));
        loaded.restoreModel(restored);
        assertArrayEquals(expected, Tensor.rand(fresh, DType.F32, 10).toFloatArray());
        for (var e : model.stateDict().entrySet()) {
            assertArrayEquals(e.getValue().toFloatArray(), restored.stateDict().get(e.getKey()).toFloatArray(), e.getKey());
        }
        assertThrows(IllegalArgumentException.class, () -> loaded.restoreGenerators(Map.of("sampling", fresh)));
    }

    @Test
    void layoutIsASingleSafetensorsFileWithPrefixedNames() throws IOException {
        Path file = dir.resolve("c.safetensors");
        sample(DType.F32).save(file);
        SafeTensors.Header header = SafeTensors.readHeader(file);
        assertTrue(header.tensors().containsKey("model.transformer.wte.weight"));
        assertTrue(header.tensors().containsKey("optimizer.exp_avg.transformer.wte.weight"));
        assertEquals("1234", header.metadata().get("step"));
        assertEquals(TrainingCheckpoint.FORMAT, header.metadata().get("format"));
        assertTrue(header.metadata().get("generators").contains("\"offset\":\"18446744073709551600\""),
                header.metadata().get("generators"));
        assertEquals(List.of("c.safetensors"), dirListing());
    }

    @Test
    void corruptCheckpointsFailClearly() throws IOException {
        Path file = dir.resolve("c.safetensors");
        sample(DType.F32).save(file);
        byte[] good = Files.readAllBytes(file);

        Path truncated = dir.resolve("truncated.safetensors");
        Files.write(truncated, Arrays.copyOf(good, good.length / 2));
        ModelFileException e = assertThrows(ModelFileException.class, () -> TrainingCheckpoint.load(truncated));
        assertTrue(e.getMessage().contains(truncated.toString()) && e.getMessage().contains("run past the end"), e.getMessage());

        byte[] flipped = good.clone();
        flipped[good.length - 100] ^= 0x01;
        Path corrupt = dir.resolve("corrupt.safetensors");
        Files.write(corrupt, flipped);
        e = assertThrows(ModelFileException.class, () -> TrainingCheckpoint.load(corrupt));
        assertTrue(e.getMessage().contains(corrupt.toString()) && e.getMessage().contains("checksum"), e.getMessage());

        Path plain = dir.resolve("plain.safetensors");
        SafeTensors.save(plain, Map.of("w", Tensor.zeros(2)));
        e = assertThrows(ModelFileException.class, () -> TrainingCheckpoint.load(plain));
        assertTrue(e.getMessage().contains("not an rlhf4j training checkpoint"), e.getMessage());
    }

    @Test
    void crashDuringSaveLeavesThePreviousCheckpoint() throws IOException {
        Path file = dir.resolve("c.safetensors");
        TrainingCheckpoint previous = sample(DType.F32);
        previous.save(file);
        byte[] before = Files.readAllBytes(file);

        TrainingCheckpoint next = new TrainingCheckpoint(previous.model(), previous.optimizer(), 2000,
                previous.generators(), Map.of());
        IOException e = assertThrows(IOException.class, () -> next.save(file, bytes -> {
            if (bytes > 1000) throw new IOException("killed (simulated)");
        }));
        assertTrue(e.getMessage().contains("simulated"));
        assertArrayEquals(before, Files.readAllBytes(file));
        assertEquals(List.of("c.safetensors"), dirListing());
        assertEquals(1234, TrainingCheckpoint.load(file).step());
    }

    @Test
    void unserializableMetadataFailsBeforeWriting() throws IOException {
        TrainingCheckpoint bad = new TrainingCheckpoint(Map.of(), Map.of(), 0, Map.of(), Map.of("thread", new Object()));
        assertThrows(IllegalArgumentException.class, () -> bad.save(dir.resolve("c.safetensors")));
        assertTrue(dirListing().isEmpty());
    }
}
