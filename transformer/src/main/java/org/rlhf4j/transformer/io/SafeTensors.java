package org.rlhf4j.transformer.io;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;
import org.rlhf4j.tensor.DType;
import org.rlhf4j.tensor.Tensor;

/**
 * Reads and writes the safetensors format: an 8-byte little-endian header length {@code N}, {@code N} bytes of
 * JSON header ({@code {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}} with an
 * optional {@code "__metadata__": {string: string}}), then the data buffer. Offsets count from the start of the
 * buffer; tensors are row-major and little-endian.
 *
 * <p>Reading takes F64, F32, F16, BF16, I32 and I64 tensors; F16 and BF16 widen exactly to F32
 * ({@link HalfFloats}); I64 (PyTorch's index type) narrows to I32 when every value fits, and fails otherwise.
 * The header is validated completely before any tensor is read: the file must hold the whole header and
 * buffer, the JSON must parse with no duplicate keys, every dtype must be known, shapes non-negative, each
 * tensor's byte range must lie inside the buffer and be exactly {@code numel * element size} long, and the
 * ranges must tile the buffer with no overlap and no gap (as the reference implementation requires). Any
 * violation is a {@link ModelFileException} naming the file and the tensor or byte offset. Tensors are read with
 * positional reads through a bounded buffer, so files larger than 2 GB load as long as each tensor has fewer than
 * 2^31 elements, and nothing keeps the file mapped (which would block renaming a new file over it on Windows).
 *
 * <p>Writing takes F32, F64 and I32 tensors (stored as such) and is deterministic: tensors are laid out by
 * element size, largest first (so every tensor is aligned to its element size), then by name; metadata keys are
 * sorted; the header is padded with spaces to a multiple of 8 bytes. The same tensors therefore always give the
 * same bytes, whatever the iteration order of the maps passed in. Files are written through {@link AtomicFiles}:
 * to a temporary file, flushed, then renamed over the target.
 */
public final class SafeTensors {
    /** The header key of the string-to-string metadata. */
    public static final String METADATA_KEY = "__metadata__";

    /** Headers beyond this are refused (as the reference implementation does), so a lying length cannot exhaust memory. */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    /** Metadata key of the optional CRC-32C of the data buffer, 8 lower-case hex digits. */
    static final String CHECKSUM_KEY = "rlhf4j.crc32c";

    private static final int CHUNK_BYTES = 8 << 20;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private SafeTensors() {}

    /** The element types the format defines, with their sizes in bytes. */
    public enum Dtype {
        BOOL(1), U8(1), I8(1), F8_E5M2(1), F8_E4M3(1), I16(2), U16(2), F16(2), BF16(2), I32(4), U32(4), F32(4),
        I64(8), U64(8), F64(8);

        private final int byteSize;

        Dtype(int byteSize) {
            this.byteSize = byteSize;
        }

        public int byteSize() {
            return byteSize;
        }

        /** True for the types that {@link Reader#read} converts to a tensor. */
        public boolean isReadable() {
            return this == F64 || this == F32 || this == F16 || this == BF16 || this == I32 || this == I64;
        }

        /** The tensor dtype a stored tensor of this type becomes. */
        public DType tensorDType() {
            switch (this) {
                case F64: return DType.F64;
                case F32: case F16: case BF16: return DType.F32;
                case I32: case I64: return DType.I32;
                default: throw new IllegalStateException("safetensors dtype " + this + " has no tensor dtype");
            }
        }

        static Dtype parse(String name) {
            for (Dtype d : values()) if (d.name().equals(name)) return d;
            return null;
        }

        static Dtype of(DType dtype) {
            switch (dtype) {
                case F32: return F32;
                case F64: return F64;
                case I32: return I32;
                default: throw new IllegalArgumentException("safetensors: cannot store dtype " + dtype);
            }
        }
    }

    /** One header entry: where a tensor's bytes lie in the data buffer ({@code [begin, end)}). */
    public record TensorInfo(String name, Dtype dtype, int[] shape, long begin, long end) {
        /** Elements; fits an int (checked when the header is read). */
        public int numel() {
            long n = 1;
            for (int d : shape) n *= d;
            return (int) n;
        }

        @Override
        public String toString() {
            return name + " " + dtype + " " + Arrays.toString(shape) + " [" + begin + ", " + end + ")";
        }
    }

    /** A validated header. */
    public static final class Header {
        private final Path file;
        private final Map<String, TensorInfo> tensors;
        private final Map<String, String> metadata;
        private final long dataStart;
        private final long dataLength;

        Header(Path file, Map<String, TensorInfo> tensors, Map<String, String> metadata, long dataStart, long dataLength) {
            this.file = file;
            this.tensors = Collections.unmodifiableMap(tensors);
            this.metadata = Collections.unmodifiableMap(metadata);
            this.dataStart = dataStart;
            this.dataLength = dataLength;
        }

        public Path file() {
            return file;
        }

        /** The tensors in header order. */
        public Map<String, TensorInfo> tensors() {
            return tensors;
        }

        /** The {@code __metadata__} entries (empty when absent). */
        public Map<String, String> metadata() {
            return metadata;
        }

        /** File offset of the data buffer: {@code 8 + N}. */
        public long dataStart() {
            return dataStart;
        }

        public long dataLength() {
            return dataLength;
        }
    }

    /** A whole file's tensors (in header order) and metadata. */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {}

    // =====================================================================================================
    // reading
    // =====================================================================================================

    /** Opens a file and validates its header; tensors are then read one at a time. */
    public static Reader open(Path file) throws IOException {
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
        try {
            return new Reader(channel, parseHeader(file, channel));
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** Reads and validates the header only. */
    public static Header readHeader(Path file) throws IOException {
        try (Reader reader = open(file)) {
            return reader.header();
        }
    }

    /**
     * Reads every tensor and the metadata. When the metadata holds a CRC-32C of the buffer (files written with a
     * checksum, such as {@link TrainingCheckpoint}s), it is verified.
     */
    public static Contents read(Path file) throws IOException {
        try (Reader reader = open(file)) {
            Header header = reader.header();
            String expected = header.metadata().get(CHECKSUM_KEY);
            CRC32C crc = expected == null ? null : new CRC32C();
            List<TensorInfo> byOffset = new ArrayList<>(header.tensors().values());
            byOffset.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
            Map<String, Tensor> read = new LinkedHashMap<>();
            for (TensorInfo info : byOffset) read.put(info.name(), reader.read(info, crc));
            if (crc != null) {
                String actual = hex(crc.getValue());
                if (!actual.equals(expected)) {
                    throw new ModelFileException(file, "data buffer checksum is " + actual + ", the header records "
                            + expected + " (the file is corrupt)");
                }
            }
            Map<String, Tensor> inHeaderOrder = new LinkedHashMap<>();
            for (String name : header.tensors().keySet()) inHeaderOrder.put(name, read.get(name));
            return new Contents(Collections.unmodifiableMap(inHeaderOrder), header.metadata());
        }
    }

    /** Reads every tensor, in header order. */
    public static Map<String, Tensor> load(Path file) throws IOException {
        return read(file).tensors();
    }

    /** An open file with a validated header; reads tensors on demand. Not thread-safe. */
    public static final class Reader implements AutoCloseable {
        private final FileChannel channel;
        private final Header header;
        private ByteBuffer buffer;

        private Reader(FileChannel channel, Header header) {
            this.channel = channel;
            this.header = header;
        }

        public Header header() {
            return header;
        }

        /** The named tensor: F32 for F32/F16/BF16, F64 for F64, I32 for I32 and I64. */
        public Tensor read(String name) throws IOException {
            TensorInfo info = header.tensors().get(name);
            if (info == null) throw new ModelFileException(header.file(), "has no tensor named '" + name + "'");
            return read(info, null);
        }

        private interface ChunkDecoder {
            /** Decodes {@code count} elements from {@code bytes} (little-endian, at position 0) into slot {@code at}. */
            void decode(ByteBuffer bytes, int at, int count);
        }

        Tensor read(TensorInfo info, CRC32C crc) throws IOException {
            if (!info.dtype().isReadable()) {
                throw new ModelFileException(header.file(), "tensor '" + info.name() + "' has dtype " + info.dtype()
                        + ", which cannot be loaded (supported: F64, F32, F16, BF16, I32, I64)");
            }
            int n = info.numel();
            Tensor flat;
            switch (info.dtype()) {
                case F64: {
                    double[] out = new double[n];
                    readChunks(info, crc, (b, at, count) -> b.asDoubleBuffer().get(out, at, count));
                    flat = Tensor.wrap(out);
                    break;
                }
                case F32: {
                    float[] out = new float[n];
                    readChunks(info, crc, (b, at, count) -> b.asFloatBuffer().get(out, at, count));
                    flat = Tensor.wrap(out);
                    break;
                }
                case F16: {
                    float[] out = new float[n];
                    readChunks(info, crc, (b, at, count) -> {
                        for (int i = 0; i < count; i++) out[at + i] = HalfFloats.f16ToFloat(b.getShort(2 * i));
                    });
                    flat = Tensor.wrap(out);
                    break;
                }
                case BF16: {
                    float[] out = new float[n];
                    readChunks(info, crc, (b, at, count) -> {
                        for (int i = 0; i < count; i++) out[at + i] = HalfFloats.bf16ToFloat(b.getShort(2 * i));
                    });
                    flat = Tensor.wrap(out);
                    break;
                }
                case I32: {
                    int[] out = new int[n];
                    readChunks(info, crc, (b, at, count) -> b.asIntBuffer().get(out, at, count));
                    flat = Tensor.ofInts(out);
                    break;
                }
                default: { // I64
                    int[] out = new int[n];
                    long[] outOfRange = {-1, 0}; // first index that does not fit, and its value
                    readChunks(info, crc, (b, at, count) -> {
                        for (int i = 0; i < count; i++) {
                            long v = b.getLong(8 * i);
                            if (v != (int) v && outOfRange[0] < 0) {
                                outOfRange[0] = at + i;
                                outOfRange[1] = v;
                            }
                            out[at + i] = (int) v;
                        }
                    });
                    if (outOfRange[0] >= 0) {
                        throw new ModelFileException(header.file(), "tensor '" + info.name() + "': I64 value " + outOfRange[1]
                                + " at flat index " + outOfRange[0] + " does not fit the I32 it is loaded as");
                    }
                    flat = Tensor.ofInts(out);
                    break;
                }
            }
            return flat.reshape(info.shape());
        }

        private void readChunks(TensorInfo info, CRC32C crc, ChunkDecoder decoder) throws IOException {
            int size = info.dtype().byteSize();
            int n = info.numel();
            if (buffer == null) {
                buffer = chunkBuffer(header.tensors().values().stream().mapToLong(t -> t.end() - t.begin()).max().orElse(0));
            }
            int perChunk = buffer.capacity() / size;
            long base = header.dataStart() + info.begin();
            for (int at = 0; at < n; ) {
                int count = Math.min(n - at, perChunk);
                buffer.clear().limit(count * size);
                long position = base + (long) at * size;
                while (buffer.hasRemaining()) {
                    int r = channel.read(buffer, position);
                    if (r < 0) {
                        throw new ModelFileException(header.file(), "tensor '" + info.name() + "': the file ends at byte "
                                + position + ", inside the tensor's data (the file shrank while it was read)");
                    }
                    position += r;
                }
                buffer.flip();
                if (crc != null) crc.update(buffer.duplicate());
                decoder.decode(buffer, at, count);
                at += count;
            }
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    private static Header parseHeader(Path file, FileChannel channel) throws IOException {
        long fileSize = channel.size();
        if (fileSize < 8) {
            throw new ModelFileException(file, "file is " + fileSize + " bytes, too short for the 8-byte header length "
                    + "(truncated, or not a safetensors file)");
        }
        ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(file, channel, lengthBytes, 0);
        long headerLength = lengthBytes.flip().getLong();
        if (headerLength < 0 || headerLength > fileSize - 8) {
            throw new ModelFileException(file, "header length " + Long.toUnsignedString(headerLength) + " (bytes 0-7) "
                    + "runs past the end of the file, which is " + fileSize + " bytes (truncated, or not a safetensors file)");
        }
        if (headerLength > MAX_HEADER_BYTES) {
            throw new ModelFileException(file, "header length " + headerLength + " exceeds the limit of "
                    + MAX_HEADER_BYTES + " bytes");
        }
        ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
        readFully(file, channel, headerBytes, 8);
        long dataStart = 8 + headerLength;
        long dataLength = fileSize - dataStart;

        JsonNode root;
        try {
            root = JSON.readTree(headerBytes.array());
        } catch (JsonProcessingException e) {
            long at = e.getLocation() == null ? -1 : e.getLocation().getByteOffset();
            String where = at >= 0 ? " at file offset " + (8 + at) : "";
            throw new ModelFileException(file, "malformed JSON header" + where + ": " + jsonProblem(e), e);
        }
        if (root == null || !root.isObject()) {
            throw new ModelFileException(file, "header (bytes 8-" + (dataStart - 1) + ") is not a JSON object");
        }

        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            if (field.getKey().equals(METADATA_KEY)) {
                parseMetadata(file, field.getValue(), metadata);
            } else {
                TensorInfo info = parseEntry(file, field.getKey(), field.getValue(), dataStart, dataLength);
                tensors.put(info.name(), info);
            }
        }
        checkTiling(file, tensors, dataStart, dataLength);
        return new Header(file, tensors, metadata, dataStart, dataLength);
    }

    private static void parseMetadata(Path file, JsonNode node, Map<String, String> metadata) throws IOException {
        if (node.isNull()) return;
        if (!node.isObject()) throw new ModelFileException(file, "header: " + METADATA_KEY + " is not a JSON object");
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new ModelFileException(file, "header: " + METADATA_KEY + " value of '" + e.getKey()
                        + "' is not a string: " + e.getValue());
            }
            metadata.put(e.getKey(), e.getValue().textValue());
        }
    }

    private static TensorInfo parseEntry(Path file, String name, JsonNode node, long dataStart, long dataLength)
            throws IOException {
        String where = "tensor '" + name + "'";
        if (!node.isObject()) throw new ModelFileException(file, where + ": header entry is not a JSON object: " + node);
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new ModelFileException(file, where + ": header entry has no string \"dtype\"");
        }
        Dtype dtype = Dtype.parse(dtypeNode.textValue());
        if (dtype == null) {
            throw new ModelFileException(file, where + ": unknown dtype \"" + dtypeNode.textValue() + "\" (known: "
                    + Arrays.toString(Dtype.values()) + ")");
        }
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw new ModelFileException(file, where + ": header entry has no array \"shape\"");
        }
        int[] shape = new int[shapeNode.size()];
        long numel = 1;
        for (int d = 0; d < shape.length; d++) {
            JsonNode dim = shapeNode.get(d);
            if (!dim.isIntegralNumber() || !dim.canConvertToInt() || dim.intValue() < 0) {
                throw new ModelFileException(file, where + ": shape " + shapeNode + " has dimension " + d + " = " + dim
                        + ", not a non-negative 32-bit integer");
            }
            shape[d] = dim.intValue();
            numel *= shape[d]; // cannot overflow: checked against 2^31 after every step
            if (numel > Integer.MAX_VALUE) {
                throw new ModelFileException(file, where + ": shape " + shapeNode + " has more than 2^31 - 1 elements");
            }
        }
        JsonNode offsets = node.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2) {
            throw new ModelFileException(file, where + ": header entry has no \"data_offsets\" [begin, end]");
        }
        for (JsonNode o : offsets) {
            if (!o.isIntegralNumber() || !o.canConvertToLong() || o.longValue() < 0) {
                throw new ModelFileException(file, where + ": data_offsets " + offsets + " are not two non-negative integers");
            }
        }
        long begin = offsets.get(0).longValue(), end = offsets.get(1).longValue();
        if (end < begin) {
            throw new ModelFileException(file, where + ": data_offsets [" + begin + ", " + end + "] end before they begin");
        }
        if (end > dataLength) {
            throw new ModelFileException(file, where + ": data_offsets [" + begin + ", " + end + "] (file bytes "
                    + (dataStart + begin) + " to " + (dataStart + end) + ") run past the end of the data buffer, which holds "
                    + dataLength + " bytes and ends at file offset " + (dataStart + dataLength) + " (truncated file?)");
        }
        long expected = numel * dtype.byteSize();
        if (end - begin != expected) {
            throw new ModelFileException(file, where + ": data_offsets [" + begin + ", " + end + "] span " + (end - begin)
                    + " bytes, but shape " + Arrays.toString(shape) + " of " + dtype + " needs " + expected);
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    /** The byte ranges must cover the buffer exactly once: no overlap, no hole, nothing after the last tensor. */
    private static void checkTiling(Path file, Map<String, TensorInfo> tensors, long dataStart, long dataLength)
            throws IOException {
        List<TensorInfo> byOffset = new ArrayList<>(tensors.values());
        byOffset.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long covered = 0;
        TensorInfo previous = null;
        for (TensorInfo info : byOffset) {
            if (info.begin() < covered) {
                throw new ModelFileException(file, "tensor '" + info.name() + "': data_offsets [" + info.begin() + ", "
                        + info.end() + "] overlap tensor '" + previous.name() + "' [" + previous.begin() + ", "
                        + previous.end() + ")");
            }
            if (info.begin() > covered) {
                throw new ModelFileException(file, "data buffer bytes [" + covered + ", " + info.begin() + ") (file offset "
                        + (dataStart + covered) + ") belong to no tensor; tensor '" + info.name() + "' starts at "
                        + info.begin());
            }
            covered = info.end();
            previous = info;
        }
        if (covered != dataLength) {
            throw new ModelFileException(file, "data buffer holds " + dataLength + " bytes but its tensors end at "
                    + covered + " (" + (dataLength - covered) + " trailing bytes from file offset " + (dataStart + covered) + ")");
        }
    }

    /** A little-endian transfer buffer: the largest tensor's size, capped at {@link #CHUNK_BYTES}. */
    private static ByteBuffer chunkBuffer(long largestTensorBytes) {
        int bytes = (int) Math.max(8, Math.min(CHUNK_BYTES, largestTensorBytes));
        return ByteBuffer.allocateDirect(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Jackson's message without its placeholder for the source, which says nothing here. */
    static String jsonProblem(JsonProcessingException e) {
        return e.getOriginalMessage().replaceAll("\\[Source: [^;]*; ", "[");
    }

    private static void readFully(Path file, FileChannel channel, ByteBuffer into, long position) throws IOException {
        long p = position;
        while (into.hasRemaining()) {
            int r = channel.read(into, p);
            if (r < 0) throw new ModelFileException(file, "unexpected end of file at byte " + p);
            p += r;
        }
    }

    // =====================================================================================================
    // writing
    // =====================================================================================================

    /** Called after each chunk of tensor data is written, with the data bytes written so far (a test hook). */
    interface WriteObserver {
        void written(long bytes) throws IOException;
    }

    private record Planned(String name, Tensor tensor, Dtype dtype, long begin, long end) {}

    /** Writes {@code tensors} (F32, F64 or I32) with no metadata. */
    public static void save(Path file, Map<String, Tensor> tensors) throws IOException {
        save(file, tensors, Map.of());
    }

    /** Writes {@code tensors} (F32, F64 or I32) and string metadata, atomically and deterministically. */
    public static void save(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        save(file, tensors, metadata, false, bytes -> {});
    }

    /**
     * As {@link #save(Path, Map, Map)}; with {@code checksum}, the CRC-32C of the data buffer is stored under
     * {@value #CHECKSUM_KEY} in the metadata, and {@link #read(Path)} verifies it.
     */
    static void save(Path file, Map<String, Tensor> tensors, Map<String, String> metadata, boolean checksum,
            WriteObserver observer) throws IOException {
        // everything is checked and planned before the disk is touched
        Map<String, String> meta = new TreeMap<>();
        for (var e : metadata.entrySet()) {
            if (e.getKey() == null || e.getValue() == null) {
                throw new IllegalArgumentException(file + ": metadata key and value must not be null, found " + e);
            }
            meta.put(e.getKey(), e.getValue());
        }
        if (checksum) {
            if (meta.containsKey(CHECKSUM_KEY)) {
                throw new IllegalArgumentException(file + ": metadata key " + CHECKSUM_KEY + " is reserved");
            }
            meta.put(CHECKSUM_KEY, hex(0));
        }
        List<Planned> plan = plan(file, tensors);
        byte[] placeholder = headerBytes(plan, meta);

        AtomicFiles.write(file, channel -> {
            long dataStart = 8 + placeholder.length;
            CRC32C crc = checksum ? new CRC32C() : null;
            ByteBuffer buffer = chunkBuffer(plan.stream().mapToLong(p -> p.end() - p.begin()).max().orElse(0));
            long written = 0;
            for (Planned p : plan) written = writeTensor(channel, buffer, p, dataStart, written, crc, observer);
            byte[] header = placeholder;
            if (checksum) {
                meta.put(CHECKSUM_KEY, hex(crc.getValue()));
                header = headerBytes(plan, meta);
                if (header.length != placeholder.length) throw new IllegalStateException("checksum changed the header length");
            }
            ByteBuffer prefix = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
            prefix.putLong(header.length).put(header).flip();
            AtomicFiles.writeFully(channel, prefix, 0);
        });
    }

    private static List<Planned> plan(Path file, Map<String, Tensor> tensors) {
        List<Map.Entry<String, Tensor>> entries = new ArrayList<>(tensors.entrySet());
        for (var e : entries) {
            String name = e.getKey();
            if (name == null || name.isEmpty() || name.equals(METADATA_KEY)) {
                throw new IllegalArgumentException(file + ": invalid tensor name '" + name + "'");
            }
            if (e.getValue() == null) throw new IllegalArgumentException(file + ": tensor '" + name + "' is null");
            DType dtype = e.getValue().dtype();
            if (dtype != DType.F32 && dtype != DType.F64 && dtype != DType.I32) {
                throw new IllegalArgumentException(file + ": tensor '" + name + "' has dtype " + dtype
                        + "; only F32, F64 and I32 are written");
            }
        }
        // largest elements first keeps every tensor aligned to its element size; then by name for determinism
        entries.sort(Comparator.<Map.Entry<String, Tensor>>comparingInt(e -> -e.getValue().dtype().byteSize())
                .thenComparing(Map.Entry::getKey));
        List<Planned> plan = new ArrayList<>();
        long offset = 0;
        for (var e : entries) {
            Dtype dtype = Dtype.of(e.getValue().dtype());
            long bytes = (long) e.getValue().numel() * dtype.byteSize();
            plan.add(new Planned(e.getKey(), e.getValue(), dtype, offset, offset + bytes));
            offset += bytes;
        }
        return plan;
    }

    private static byte[] headerBytes(List<Planned> plan, Map<String, String> metadata) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = JSON.getFactory().createGenerator(out, JsonEncoding.UTF8)) {
            g.writeStartObject();
            if (!metadata.isEmpty()) {
                g.writeObjectFieldStart(METADATA_KEY);
                for (var e : metadata.entrySet()) g.writeStringField(e.getKey(), e.getValue());
                g.writeEndObject();
            }
            for (Planned p : plan) {
                g.writeObjectFieldStart(p.name());
                g.writeStringField("dtype", p.dtype().name());
                g.writeArrayFieldStart("shape");
                for (int d : p.tensor().shape()) g.writeNumber(d);
                g.writeEndArray();
                g.writeArrayFieldStart("data_offsets");
                g.writeNumber(p.begin());
                g.writeNumber(p.end());
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndObject();
        }
        while (out.size() % 8 != 0) out.write(' ');
        return out.toByteArray();
    }

    private static long writeTensor(FileChannel channel, ByteBuffer buffer, Planned p, long dataStart, long written,
            CRC32C crc, WriteObserver observer) throws IOException {
        int size = p.dtype().byteSize();
        int n = p.tensor().numel();
        int perChunk = buffer.capacity() / size;
        float[] floats = p.dtype() == Dtype.F32 ? p.tensor().toFloatArray() : null;
        double[] doubles = p.dtype() == Dtype.F64 ? p.tensor().toDoubleArray() : null;
        int[] ints = p.dtype() == Dtype.I32 ? p.tensor().toIntArray() : null;
        long total = written;
        for (int at = 0; at < n; ) {
            int count = Math.min(n - at, perChunk);
            buffer.clear().limit(count * size);
            if (floats != null) buffer.asFloatBuffer().put(floats, at, count);
            else if (doubles != null) buffer.asDoubleBuffer().put(doubles, at, count);
            else buffer.asIntBuffer().put(ints, at, count);
            if (crc != null) crc.update(buffer.duplicate());
            AtomicFiles.writeFully(channel, buffer, dataStart + p.begin() + (long) at * size);
            total += (long) count * size;
            observer.written(total);
            at += count;
        }
        return total;
    }

    private static String hex(long crc) {
        return String.format(Locale.ROOT, "%08x", crc);
    }
}
