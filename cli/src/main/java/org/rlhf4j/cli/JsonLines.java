package org.rlhf4j.cli;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.rlhf4j.rl.data.DatasetFileException;

/** JSON helpers: one shared mapper, and a strict JSONL reader for layouts the rl datasets do not cover. */
final class JsonLines {
    static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private JsonLines() {}

    /** One object of a JSONL file and its 1-based line. */
    record Line(int number, JsonNode object) {}

    /**
     * Every non-blank line of {@code file} as a JSON object; the first bad line (invalid UTF-8, invalid JSON, not
     * an object) fails with a {@link DatasetFileException} naming the file and the line.
     */
    static List<Line> read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        List<Line> out = new ArrayList<>();
        int start = 0, number = 0;
        for (int i = 0; i <= bytes.length; i++) {
            if (i < bytes.length && bytes[i] != '\n') continue;
            number++;
            String text;
            try {
                text = decoder.decode(ByteBuffer.wrap(bytes, start, i - start)).toString();
            } catch (CharacterCodingException e) {
                throw new DatasetFileException(file, number, "not valid UTF-8", e);
            }
            start = i + 1;
            if (number == 1 && text.startsWith("\uFEFF")) text = text.substring(1);
            if (text.isBlank()) continue;
            JsonNode node;
            try {
                node = JSON.readTree(text);
            } catch (JsonProcessingException e) {
                throw new DatasetFileException(file, number, "invalid JSON: " + e.getOriginalMessage(), e);
            }
            if (!node.isObject()) throw new DatasetFileException(file, number, "expected a JSON object, found " + node.getNodeType());
            out.add(new Line(number, node));
        }
        return out;
    }
}
