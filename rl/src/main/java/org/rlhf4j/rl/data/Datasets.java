package org.rlhf4j.rl.data;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;

/**
 * JSONL datasets in TRL's layouts: one JSON object per line, UTF-8, with string fields.
 *
 * <ul>
 *   <li>preferences: {@code {"prompt", "chosen", "rejected"}};</li>
 *   <li>SFT: {@code {"prompt", "completion"}} or {@code {"text"}}, one layout per file;</li>
 *   <li>RL prompts: {@code {"prompt"}}, not empty.</li>
 * </ul>
 *
 * <p>Reading is all or nothing: the whole file is parsed before anything is returned, and the first bad line
 * fails with a {@link DatasetFileException} naming the file and the 1-based line: invalid UTF-8 or JSON, a value
 * that is not an object, a missing field, a field that is not a string (TRL's conversational layout, lists of
 * {@code {"role", "content"}} messages, is named as such: apply a chat template first), a duplicated key. Blank
 * lines are skipped, an empty file is an empty dataset, a UTF-8 byte-order mark is ignored, and fields beyond the
 * layout's are ignored (datasets often carry ids or scores), so a preference file also reads as prompts.
 *
 * <p>Writing is atomic: the records go to a temporary file next to the target, which is renamed over it only
 * once everything is on disk; on failure the target is untouched.
 */
public final class Datasets {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private Datasets() {}

    // ---------------------------------------------------------------- preferences

    public static List<PreferenceRecord> readPreferences(Path file) throws IOException {
        return read(file, line -> new PreferenceRecord(
                line.string("prompt"), line.string("chosen"), line.string("rejected")));
    }

    public static void writePreferences(Path file, List<PreferenceRecord> records) throws IOException {
        write(file, records, r -> {
            ObjectNode o = JSON.createObjectNode();
            o.put("prompt", r.prompt());
            o.put("chosen", r.chosen());
            o.put("rejected", r.rejected());
            return o;
        });
    }

    // ---------------------------------------------------------------- SFT

    public static List<SftRecord> readSft(Path file) throws IOException {
        int[] firstOfLayout = new int[2]; // line of the first record of each layout: [pair, text]
        return read(file, line -> {
            SftRecord record = sftRecord(line);
            int layout = record.isText() ? 1 : 0;
            if (firstOfLayout[layout] == 0) firstOfLayout[layout] = line.number;
            int other = firstOfLayout[1 - layout];
            if (other != 0) {
                throw line.error("a " + layoutName(record.isText()) + " record, but line " + other + " is a "
                        + layoutName(!record.isText()) + " record; a dataset has one layout");
            }
            return record;
        });
    }

    private static SftRecord sftRecord(Line line) throws DatasetFileException {
        boolean hasText = line.object.has("text");
        boolean hasPair = line.object.has("prompt") || line.object.has("completion");
        if (hasText && hasPair) {
            throw line.error("has both \"text\" and \"prompt\"/\"completion\"; an SFT record is either "
                    + layoutName(true) + " or " + layoutName(false));
        }
        if (hasText) {
            String text = line.string("text");
            if (text.isEmpty()) throw line.error("field \"text\" is empty");
            return SftRecord.text(text);
        }
        if (hasPair) return SftRecord.of(line.string("prompt"), line.string("completion"));
        if (line.object.has("messages")) {
            throw line.error("has \"messages\" (TRL's conversational layout), which is not supported; apply a chat "
                    + "template and store " + layoutName(true) + " or " + layoutName(false));
        }
        throw line.error("missing fields: expected " + layoutName(true) + " or " + layoutName(false));
    }

    private static String layoutName(boolean text) {
        return text ? "{\"text\"}" : "{\"prompt\", \"completion\"}";
    }

    public static void writeSft(Path file, List<SftRecord> records) throws IOException {
        for (int i = 1; i < records.size(); i++) {
            if (records.get(i).isText() != records.get(0).isText()) {
                throw new IllegalArgumentException("writeSft: record " + i + " is " + layoutName(records.get(i).isText())
                        + " but record 0 is " + layoutName(records.get(0).isText()) + "; a dataset has one layout");
            }
        }
        write(file, records, r -> {
            ObjectNode o = JSON.createObjectNode();
            if (r.isText()) {
                o.put("text", r.text());
            } else {
                o.put("prompt", r.prompt());
                o.put("completion", r.completion());
            }
            return o;
        });
    }

    // ---------------------------------------------------------------- RL prompts

    public static List<PromptRecord> readPrompts(Path file) throws IOException {
        return read(file, line -> {
            String prompt = line.string("prompt");
            if (prompt.isEmpty()) throw line.error("field \"prompt\" is empty; generation needs at least one token");
            return new PromptRecord(prompt);
        });
    }

    public static void writePrompts(Path file, List<PromptRecord> records) throws IOException {
        write(file, records, r -> JSON.createObjectNode().put("prompt", r.prompt()));
    }

    // ---------------------------------------------------------------- reading

    @FunctionalInterface
    private interface LineParser<T> {
        T parse(Line line) throws DatasetFileException;
    }

    /** One parsed line: the object, and where it came from for error messages. */
    private static final class Line {
        final Path file;
        final int number;
        final ObjectNode object;

        Line(Path file, int number, ObjectNode object) {
            this.file = file;
            this.number = number;
            this.object = object;
        }

        DatasetFileException error(String problem) {
            return new DatasetFileException(file, number, problem);
        }

        String string(String field) throws DatasetFileException {
            JsonNode value = object.get(field);
            if (value == null) throw error("missing field \"" + field + "\"");
            if (value.isTextual()) return value.textValue();
            if (isConversation(value)) {
                throw error("field \"" + field + "\" is a list of messages (TRL's conversational layout), which is not "
                        + "supported; apply a chat template and store plain strings");
            }
            throw error("field \"" + field + "\" must be a string, found " + describe(value));
        }
    }

    private static boolean isConversation(JsonNode value) {
        if (!value.isArray() || value.isEmpty()) return false;
        for (JsonNode message : value) {
            if (!message.isObject() || !message.has("role") || !message.has("content")) return false;
        }
        return true;
    }

    private static String describe(JsonNode value) {
        switch (value.getNodeType()) {
            case NULL: return "null";
            case BOOLEAN: return "a boolean (" + value.booleanValue() + ")";
            case NUMBER: return "a number (" + value.numberValue() + ")";
            case ARRAY: return "an array";
            case OBJECT: return "an object";
            default: return value.getNodeType().toString().toLowerCase(Locale.ROOT);
        }
    }

    private static <T> List<T> read(Path file, LineParser<T> parser) throws IOException {
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        List<T> out = new ArrayList<>();
        try (InputStream in = Files.newInputStream(file)) {
            // split on '\n' bytes before decoding, so that a bad byte is reported on its own line
            byte[] chunk = new byte[1 << 16];
            ByteArrayOutputStream line = new ByteArrayOutputStream(256);
            int number = 0;
            for (int n; (n = in.read(chunk)) != -1; ) {
                int start = 0;
                for (int i = 0; i < n; i++) {
                    if (chunk[i] != '\n') continue;
                    line.write(chunk, start, i - start);
                    parseLine(file, ++number, line, decoder, parser, out);
                    line.reset();
                    start = i + 1;
                }
                line.write(chunk, start, n - start);
            }
            if (line.size() > 0) parseLine(file, ++number, line, decoder, parser, out); // no final newline
        }
        return List.copyOf(out);
    }

    private static <T> void parseLine(Path file, int number, ByteArrayOutputStream bytes, CharsetDecoder decoder,
                                      LineParser<T> parser, List<T> out) throws DatasetFileException {
        String text;
        try {
            text = decoder.decode(ByteBuffer.wrap(bytes.toByteArray())).toString();
        } catch (CharacterCodingException e) {
            throw new DatasetFileException(file, number, "not valid UTF-8", e);
        }
        if (number == 1 && text.startsWith("\uFEFF")) text = text.substring(1); // a byte-order mark
        if (text.isBlank()) return; // also a CRLF blank line
        out.add(parser.parse(new Line(file, number, parseObject(file, number, text))));
    }

    private static ObjectNode parseObject(Path file, int number, String text) throws DatasetFileException {
        JsonNode node;
        try {
            node = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at != null && at.getColumnNr() > 0 ? " (column " + at.getColumnNr() + ")" : "";
            throw new DatasetFileException(file, number, "invalid JSON: " + e.getOriginalMessage() + where, e);
        }
        if (!node.isObject()) throw new DatasetFileException(file, number, "expected a JSON object, found " + describe(node));
        return (ObjectNode) node;
    }

    // ---------------------------------------------------------------- writing

    private static <T> void write(Path file, List<T> records, Function<T, ObjectNode> toJson) throws IOException {
        var encoder = StandardCharsets.UTF_8.newEncoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        if (dir == null) throw new IOException(file + ": has no parent directory");
        if (Files.isDirectory(target)) throw new IOException(file + ": is a directory");
        Path temp = createTemp(dir, target.getFileName().toString());
        boolean moved = false;
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE);
                 OutputStream out = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16)) {
                Iterator<T> it = records.iterator();
                for (int i = 0; it.hasNext(); i++) {
                    String json = JSON.writeValueAsString(toJson.apply(it.next())); // one line: \n is escaped
                    ByteBuffer encoded;
                    try {
                        encoded = encoder.encode(CharBuffer.wrap(json));
                    } catch (CharacterCodingException e) {
                        throw new IOException(file + ": record " + i + " has text that is not valid Unicode "
                                + "(an unpaired surrogate)", e);
                    }
                    out.write(encoded.array(), encoded.arrayOffset() + encoded.position(), encoded.remaining());
                    out.write('\n');
                }
                out.flush();
                channel.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            moved = true;
        } finally {
            if (!moved) Files.deleteIfExists(temp);
        }
    }

    private static Path createTemp(Path dir, String name) throws IOException {
        for (int attempt = 0; ; attempt++) {
            // a dot name next to the target: same file system, so the rename is atomic, and hidden from listings
            Path temp = dir.resolve("." + name + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
            try {
                FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
                return temp;
            } catch (FileAlreadyExistsException e) {
                if (attempt == 16) throw e;
            }
        }
    }
}
