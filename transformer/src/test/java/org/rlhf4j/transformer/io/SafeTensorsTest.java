package org.rlhf4j.transformer.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
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

class SafeTensorsTest {
    @TempDir
    Path dir;

    // ---------------------------------------------------------------------------------------------------
    // helpers
    // ---------------------------------------------------------------------------------------------------

    /** Tensors of every written dtype, with values that a lossy path would change. */
    private static Map<String, Tensor> sample() {
        Generator gen = new Generator(11);
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("w", Tensor.randn(gen, DType.F32, 3, 5));
        t.put("special", Tensor.of(new float[] {0f, -0f, Float.MIN_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY,
                Float.intBitsToFloat(0x7fc12345), 1e-40f}, 7));
        t.put("double", Tensor.of(new double[] {Math.PI, -Double.MIN_VALUE, 1e300, Double.NEGATIVE_INFINITY,
                Double.longBitsToDouble(0x7ff8_0000_dead_beefL), 0.1}, 2, 3));
        t.put("gaussian64", Tensor.randn(gen, DType.F64, 4));
        t.put("ids", Tensor.ofInts(new int[] {0, -1, Integer.MAX_VALUE, Integer.MIN_VALUE}, 2, 2));
        t.put("scalar", Tensor.scalar(42.5));
        t.put("empty", Tensor.zeros(DType.F32, 0, 3));
        return t;
    }

    private static void assertBitIdentical(Tensor expected, Tensor actual, String name) {
        assertEquals(expected.dtype(), actual.dtype(), name);
        assertArrayEquals(expected.shape(), actual.shape(), name);
        switch (expected.dtype()) {
            case F32: {
                float[] e = expected.toFloatArray(), a = actual.toFloatArray();
                for (int i = 0; i < e.length; i++) {
                    assertEquals(Float.floatToRawIntBits(e[i]), Float.floatToRawIntBits(a[i]), name + "[" + i + "]");
                }
                break;
            }
            case F64: {
                double[] e = expected.toDoubleArray(), a = actual.toDoubleArray();
                for (int i = 0; i < e.length; i++) {
                    assertEquals(Double.doubleToRawLongBits(e[i]), Double.doubleToRawLongBits(a[i]), name + "[" + i + "]");
                }
                break;
            }
            default:
                assertArrayEquals(expected.toIntArray(), actual.toIntArray(), name);
        }
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path file = dir.resolve(name);
        Files.write(file, bytes);
        return file;
    }

    /** Reading {@code bytes} fails with a message naming the file and every one of {@code mentions}. */
    private ModelFileException assertRejected(byte[] bytes, String... mentions) throws IOException {
        Path file = write("bad.safetensors", bytes);
        ModelFileException e = assertThrows(ModelFileException.class, () -> SafeTensors.read(file));
        assertEquals(file, e.file());
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        for (String m : mentions) assertTrue(e.getMessage().contains(m), "'" + m + "' missing from: " + e.getMessage());
        return e;
    }

    private List<String> dirListing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    // ---------------------------------------------------------------------------------------------------
    // round trips and determinism
    // ---------------------------------------------------------------------------------------------------

    @Test
    void roundTripIsBitExactForF32F64AndI32() throws IOException {
        Map<String, Tensor> tensors = sample();
        Path file = dir.resolve("a.safetensors");
        SafeTensors.save(file, tensors, Map.of("format", "pt", "note", "héllo \"quoted\""));
        SafeTensors.Contents back = SafeTensors.read(file);
        assertEquals(tensors.keySet(), back.tensors().keySet());
        for (String name : tensors.keySet()) assertBitIdentical(tensors.get(name), back.tensors().get(name), name);
        assertEquals(Map.of("format", "pt", "note", "héllo \"quoted\""), back.metadata());
    }

    @Test
    void saveLoadSaveGivesIdenticalBytes() throws IOException {
        Path first = dir.resolve("first.safetensors"), second = dir.resolve("second.safetensors");
        SafeTensors.save(first, sample(), Map.of("k", "v"));
        SafeTensors.Contents back = SafeTensors.read(first);
        SafeTensors.save(second, back.tensors(), back.metadata());
        assertArrayEquals(Files.readAllBytes(first), Files.readAllBytes(second));
        SafeTensors.save(second, back.tensors(), back.metadata()); // overwrite in place
        assertArrayEquals(Files.readAllBytes(first), Files.readAllBytes(second));
    }

    @Test
    void bytesDoNotDependOnMapIterationOrder() throws IOException {
        Map<String, Tensor> forward = sample();
        List<String> names = new ArrayList<>(forward.keySet());
        Collections.reverse(names);
        Map<String, Tensor> reversed = new LinkedHashMap<>();
        for (String n : names) reversed.put(n, forward.get(n));
        Map<String, String> meta1 = new LinkedHashMap<>(), meta2 = new LinkedHashMap<>();
        meta1.put("b", "2");
        meta1.put("a", "1");
        meta2.put("a", "1");
        meta2.put("b", "2");
        Path a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors"), c = dir.resolve("c.safetensors");
        SafeTensors.save(a, forward, meta1);
        SafeTensors.save(b, reversed, meta2);
        SafeTensors.save(c, new HashMap<>(forward), new HashMap<>(meta1));
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(c));
    }

    @Test
    void writtenLayoutFollowsTheSpec() throws IOException {
        Path file = dir.resolve("layout.safetensors");
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("b", Tensor.of(new float[] {1f, -2f}));
        tensors.put("a", Tensor.of(new double[] {0.5}));
        SafeTensors.save(file, tensors, Map.of("format", "pt"));
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        long n = bytes.getLong(0);
        assertEquals(0, n % 8, "header padded to 8 bytes");
        String header = new String(bytes.array(), 8, (int) n, StandardCharsets.UTF_8);
        assertEquals("{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", header.stripTrailing());
        assertEquals(8 + n + 16, bytes.capacity());
        assertEquals(0.5, bytes.getDouble(8 + (int) n));
        assertEquals(1f, bytes.getFloat(8 + (int) n + 8));
        assertEquals(-2f, bytes.getFloat(8 + (int) n + 12));
    }

    @Test
    void readsAFileWrittenByAnotherWriter() throws IOException {
        // the layout of Python's safetensors: no padding, metadata last, tensors in any order
        byte[] bytes = new RawSafeTensors()
                .addF32("x", new int[] {2, 2}, 1f, 2f, 3f, 4f)
                .add16("h", "F16", new int[] {3}, 0x3C00, 0xC100, 0x7BFF)
                .add16("g", "BF16", new int[] {2}, 0x4049, 0xFF80)
                .metadata("{\"format\":\"pt\"}")
                .bytes();
        Path file = write("other.safetensors", bytes);
        SafeTensors.Contents c = SafeTensors.read(file);
        assertEquals(List.of("x", "h", "g"), new ArrayList<>(c.tensors().keySet()), "header order");
        assertArrayEquals(new float[] {1f, 2f, 3f, 4f}, c.tensors().get("x").toFloatArray());
        assertArrayEquals(new int[] {2, 2}, c.tensors().get("x").shape());
        assertArrayEquals(new float[] {1f, -2.5f, 65504f}, c.tensors().get("h").toFloatArray());
        assertEquals(DType.F32, c.tensors().get("h").dtype());
        assertArrayEquals(new float[] {3.140625f, Float.NEGATIVE_INFINITY}, c.tensors().get("g").toFloatArray());
        assertEquals("pt", c.metadata().get("format"));
    }

    @Test
    void decodesF16AndBf16SpecialValues() throws IOException {
        byte[] bytes = new RawSafeTensors()
                .add16("half", "F16", new int[] {2, 4}, 0x0001, 0x8001, 0x03FF, 0x0400, 0x7C00, 0xFC00, 0x7E00, 0x8000)
                .add16("brain", "BF16", new int[] {4}, 0x3F80, 0x0001, 0x7FC0, 0x3DCC)
                .bytes();
        Map<String, Tensor> t = SafeTensors.load(write("half.safetensors", bytes));
        float[] half = t.get("half").toFloatArray();
        assertEquals(0x1p-24f, half[0]);
        assertEquals(-0x1p-24f, half[1]);
        assertEquals(1023 * 0x1p-24f, half[2]);
        assertEquals(0x1p-14f, half[3]);
        assertEquals(Float.POSITIVE_INFINITY, half[4]);
        assertEquals(Float.NEGATIVE_INFINITY, half[5]);
        assertTrue(Float.isNaN(half[6]));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(half[7]));
        float[] brain = t.get("brain").toFloatArray();
        assertEquals(1f, brain[0]);
        assertEquals(0x1p-133f, brain[1]);
        assertTrue(Float.isNaN(brain[2]));
        assertEquals(0.099609375f, brain[3]);
    }

    @Test
    void tensorsLargerThanOneChunkRoundTrip() throws IOException {
        int n = 2_500_001; // 10 MB of F32: more than one 8 MiB read/write chunk
        Tensor big = Tensor.rand(new Generator(3), DType.F32, n);
        Path file = dir.resolve("big.safetensors");
        SafeTensors.save(file, Map.of("big", big, "tail", Tensor.of(new double[] {1, 2})));
        Map<String, Tensor> back = SafeTensors.load(file);
        assertArrayEquals(big.toFloatArray(), back.get("big").toFloatArray());
        assertArrayEquals(new double[] {1, 2}, back.get("tail").toDoubleArray());
    }

    @Test
    void readerReadsSingleTensorsAndReportsTheHeader() throws IOException {
        Path file = dir.resolve("r.safetensors");
        SafeTensors.save(file, sample());
        try (SafeTensors.Reader reader = SafeTensors.open(file)) {
            SafeTensors.TensorInfo info = reader.header().tensors().get("w");
            assertEquals(SafeTensors.Dtype.F32, info.dtype());
            assertArrayEquals(new int[] {3, 5}, info.shape());
            assertBitIdentical(sample().get("w"), reader.read("w"), "w");
            ModelFileException e = assertThrows(ModelFileException.class, () -> reader.read("nope"));
            assertTrue(e.getMessage().contains("nope"), e.getMessage());
        }
    }

    @Test
    void unsupportedButKnownDtypeFailsOnlyWhenRead() throws IOException {
        byte[] bytes = new RawSafeTensors()
                .add("mask", "U8", new int[] {4}, new byte[] {1, 0, 1, 1})
                .addF32("w", new int[] {1}, 3f)
                .bytes();
        Path file = write("u8.safetensors", bytes);
        try (SafeTensors.Reader reader = SafeTensors.open(file)) {
            assertEquals(3f, reader.read("w").item());
            ModelFileException e = assertThrows(ModelFileException.class, () -> reader.read("mask"));
            assertTrue(e.getMessage().contains("'mask'") && e.getMessage().contains("U8"), e.getMessage());
        }
    }

    @Test
    void i64NarrowsToI32OnlyWhenEveryValueFits() throws IOException {
        ByteBuffer fits = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN).putLong(5).putLong(-7).putLong(50256);
        Path file = write("ids.safetensors", new RawSafeTensors().add("ids", "I64", new int[] {1, 3}, fits.array()).bytes());
        Tensor ids = SafeTensors.load(file).get("ids");
        assertEquals(DType.I32, ids.dtype());
        assertArrayEquals(new int[] {1, 3}, ids.shape());
        assertArrayEquals(new int[] {5, -7, 50256}, ids.toIntArray());

        ByteBuffer big = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1).putLong(1L << 40);
        assertRejected(new RawSafeTensors().add("ids", "I64", new int[] {2}, big.array()).bytes(),
                "'ids'", "1099511627776", "flat index 1");
    }

    @Test
    void writingRefusesReservedNames() throws IOException {
        assertThrows(IllegalArgumentException.class,
                () -> SafeTensors.save(dir.resolve("x.safetensors"), Map.of("__metadata__", Tensor.zeros(1))));
        assertTrue(dirListing().isEmpty());
    }

    // ---------------------------------------------------------------------------------------------------
    // malformed files
    // ---------------------------------------------------------------------------------------------------

    private static byte[] validFile() {
        return new RawSafeTensors()
                .addF32("first", new int[] {2}, 1f, 2f)
                .addF32("second", new int[] {3}, 3f, 4f, 5f)
                .bytes();
    }

    @Test
    void truncatedFilesAreRejectedAtEveryPoint() throws IOException {
        byte[] valid = validFile();
        long headerLength = ByteBuffer.wrap(valid).order(ByteOrder.LITTLE_ENDIAN).getLong();
        int dataStart = 8 + (int) headerLength;
        assertRejected(Arrays.copyOf(valid, 0), "0 bytes", "too short");
        assertRejected(Arrays.copyOf(valid, 5), "5 bytes", "too short");
        assertRejected(Arrays.copyOf(valid, 8), "header length " + headerLength, "runs past the end");
        assertRejected(Arrays.copyOf(valid, 8 + (int) headerLength / 2), "header length " + headerLength, "runs past the end");
        assertRejected(Arrays.copyOf(valid, dataStart), "'first'", "run past the end of the data buffer");
        assertRejected(Arrays.copyOf(valid, dataStart + 9), "'second'", "[8, 20]", "truncated");
        assertRejected(Arrays.copyOf(valid, valid.length - 1), "'second'", "file offset " + (valid.length - 1));
    }

    @Test
    void lyingHeaderLengthIsRejected() throws IOException {
        RawSafeTensors raw = new RawSafeTensors().addF32("w", new int[] {1}, 1f);
        byte[] header = raw.headerJson().getBytes(StandardCharsets.UTF_8);
        // claims more than the file holds
        assertRejected(RawSafeTensors.file(1L << 40, header, raw.data()), "header length 1099511627776", "runs past the end");
        // claims a negative (as unsigned: enormous) length
        assertRejected(RawSafeTensors.file(-1L, header, raw.data()), "header length 18446744073709551615");
        // claims less: the JSON is cut short
        assertRejected(RawSafeTensors.file(header.length - 3, header, raw.data()), "malformed JSON header", "file offset");
    }

    @Test
    void offsetsPastTheEndAreRejected() throws IOException {
        String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[250],\"data_offsets\":[0,1000]}}";
        assertRejected(RawSafeTensors.file(header, new byte[8]), "'w'", "[0, 1000]", "holds 8 bytes");
    }

    @Test
    void overlappingOffsetsAreRejected() throws IOException {
        String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        assertRejected(RawSafeTensors.file(header, new byte[12]), "'b'", "overlap", "'a'", "[4, 12]");
    }

    @Test
    void holesAndTrailingBytesAreRejected() throws IOException {
        String gap = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
        assertRejected(RawSafeTensors.file(gap, new byte[12]), "[4, 8)", "belong to no tensor", "'b'");
        String trailing = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        assertRejected(RawSafeTensors.file(trailing, new byte[7]), "3 trailing bytes");
    }

    @Test
    void sizeThatDisagreesWithShapeIsRejected() throws IOException {
        String header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}";
        assertRejected(RawSafeTensors.file(header, new byte[8]), "'w'", "span 8 bytes", "needs 12");
        String half = "{\"h\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";
        assertRejected(RawSafeTensors.file(half, new byte[16]), "'h'", "needs 8");
    }

    @Test
    void badJsonIsRejected() throws IOException {
        assertRejected(RawSafeTensors.file("{\"w\": {\"dtype\": \"F32\",", new byte[0]), "malformed JSON header", "file offset");
        assertRejected(RawSafeTensors.file("[1, 2]", new byte[0]), "not a JSON object");
        assertRejected(RawSafeTensors.file("{} {}", new byte[0]), "malformed JSON header");
        String duplicate = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        assertRejected(RawSafeTensors.file(duplicate, new byte[4]), "malformed JSON header", "w");
        assertRejected(RawSafeTensors.file("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", new byte[4]), "'w'", "dtype");
        assertRejected(RawSafeTensors.file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", new byte[4]), "'w'", "data_offsets");
        assertRejected(RawSafeTensors.file("{\"__metadata__\":{\"n\":1}}", new byte[0]), "__metadata__", "'n'", "not a string");
    }

    @Test
    void unknownDtypeIsRejected() throws IOException {
        String header = "{\"w\":{\"dtype\":\"F17\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        assertRejected(RawSafeTensors.file(header, new byte[4]), "'w'", "unknown dtype \"F17\"");
    }

    @Test
    void negativeOrFractionalDimensionsAreRejected() throws IOException {
        String negative = "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1,2],\"data_offsets\":[0,8]}}";
        assertRejected(RawSafeTensors.file(negative, new byte[8]), "'w'", "dimension 0 = -1");
        String fraction = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}";
        assertRejected(RawSafeTensors.file(fraction, new byte[8]), "'w'", "2.5");
        String huge = "{\"w\":{\"dtype\":\"F32\",\"shape\":[65536,65536],\"data_offsets\":[0,8]}}";
        assertRejected(RawSafeTensors.file(huge, new byte[8]), "'w'", "2^31");
        String negativeOffset = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}";
        assertRejected(RawSafeTensors.file(negativeOffset, new byte[4]), "'w'", "non-negative");
    }

    @Test
    void emptyAndZeroSizedTensorsAreValid() throws IOException {
        Path empty = write("empty.safetensors", RawSafeTensors.file("{}", new byte[0]));
        assertTrue(SafeTensors.load(empty).isEmpty());
        String zeros = "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"c\":{\"dtype\":\"F32\",\"shape\":[2,0],\"data_offsets\":[4,4]}}";
        Map<String, Tensor> t = SafeTensors.load(write("zeros.safetensors", RawSafeTensors.file(zeros, new byte[4])));
        assertArrayEquals(new int[] {2, 0}, t.get("c").shape());
    }

    // ---------------------------------------------------------------------------------------------------
    // crash safety
    // ---------------------------------------------------------------------------------------------------

    @Test
    void failedWriteLeavesTheOldFileAndNoTemporaryFile() throws IOException {
        Path file = dir.resolve("model.safetensors");
        Map<String, Tensor> old = Map.of("w", Tensor.of(new float[] {1, 2, 3}));
        SafeTensors.save(file, old);
        byte[] before = Files.readAllBytes(file);

        Map<String, Tensor> replacement = sample();
        IOException e = assertThrows(IOException.class, () -> SafeTensors.save(file, replacement, Map.of(), false,
                bytes -> {
                    throw new IOException("disk full (simulated) after " + bytes + " bytes");
                }));
        assertTrue(e.getMessage().contains("simulated"));
        assertArrayEquals(before, Files.readAllBytes(file));
        assertEquals(List.of("model.safetensors"), dirListing());
        assertArrayEquals(new float[] {1, 2, 3}, SafeTensors.load(file).get("w").toFloatArray());
    }

    @Test
    void leftoverTemporaryFileIsIgnored() throws IOException {
        Path file = dir.resolve("model.safetensors");
        SafeTensors.save(file, Map.of("w", Tensor.of(new float[] {1, 2})));
        // what a crash between creating and renaming the temporary file leaves behind
        Path leftover = write(".model.safetensors.0123456789abcdef.tmp", Arrays.copyOf(validFile(), 20));
        assertTrue(AtomicFiles.isTemporary(leftover));
        assertArrayEquals(new float[] {1, 2}, SafeTensors.load(file).get("w").toFloatArray());
        SafeTensors.save(file, Map.of("w", Tensor.of(new float[] {3, 4})));
        assertArrayEquals(new float[] {3, 4}, SafeTensors.load(file).get("w").toFloatArray());
        assertEquals(List.of(".model.safetensors.0123456789abcdef.tmp", "model.safetensors"), dirListing());
    }

    @Test
    void checksumCatchesCorruptedData() throws IOException {
        Path file = dir.resolve("sum.safetensors");
        SafeTensors.save(file, sample(), Map.of(), true, bytes -> {});
        SafeTensors.read(file); // intact: verifies
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 30] ^= 0x10;
        Files.write(file, bytes);
        assertRejected(bytes, "checksum", "corrupt");
    }
}
