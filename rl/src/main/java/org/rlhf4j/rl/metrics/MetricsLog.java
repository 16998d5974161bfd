package org.rlhf4j.rl.metrics;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A training log: one JSON object per line (JSONL), one line per step, with TRL's metric names as keys in the
 * order the trainer put them ({@code {"step":1,"loss":0.69,"rewards/chosen":0.01,...}}). Every line is written
 * and flushed before {@link #accept} returns, so a crash loses at most the line being written. An in-memory copy
 * of every entry is kept for tests and for callers that plot or summarise afterwards.
 *
 * <p>Values are numbers, strings, booleans or null (Jackson writes NaN and infinities as the strings "NaN",
 * "Infinity", "-Infinity", so every line stays valid JSON).
 *
 * <p>Use it as a trainer's metrics callback: {@code try (var log = MetricsLog.appendTo(file)) { trainer.train(log); }}.
 */
public final class MetricsLog implements Consumer<Map<String, Object>>, AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;             // null for an in-memory log
    private final BufferedWriter writer; // null for an in-memory log
    private final List<Map<String, Object>> entries = new ArrayList<>();

    private MetricsLog(Path file, BufferedWriter writer) {
        this.file = file;
        this.writer = writer;
    }

    /** A log that appends to {@code file} (created, with its parent directories, if missing). */
    public static MetricsLog appendTo(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        BufferedWriter writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        return new MetricsLog(file, writer);
    }

    /** A log that only keeps its entries in memory. */
    public static MetricsLog inMemory() {
        return new MetricsLog(null, null);
    }

    /** Records one step's metrics: one line, flushed. The map is copied; later changes to it are not seen. */
    @Override
    public synchronized void accept(Map<String, Object> metrics) {
        Map<String, Object> entry = Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
        if (writer != null) {
            String line;
            try {
                line = JSON.writeValueAsString(entry);
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException("MetricsLog: cannot write " + entry + " as JSON: " + e.getOriginalMessage(), e);
            }
            try {
                writer.write(line);
                writer.write('\n');
                writer.flush();
            } catch (IOException e) {
                throw new UncheckedIOException("MetricsLog: cannot append to " + file, e);
            }
        }
        entries.add(entry);
    }

    /** Every entry recorded so far, oldest first (unmodifiable). */
    public synchronized List<Map<String, Object>> entries() {
        return List.copyOf(entries);
    }

    /** The latest entry, or null when there is none. */
    public synchronized Map<String, Object> last() {
        return entries.isEmpty() ? null : entries.get(entries.size() - 1);
    }

    /** The values of one metric across entries that have it, as doubles (for assertions and summaries). */
    public synchronized double[] series(String name) {
        return entries.stream().filter(e -> e.get(name) instanceof Number)
                .mapToDouble(e -> ((Number) e.get(name)).doubleValue()).toArray();
    }

    /** The file this log appends to, or null for an in-memory log. */
    public Path file() {
        return file;
    }

    /**
     * Reads a JSONL metrics file back, one map per line, keys in file order; a malformed line fails with the file
     * and line number.
     */
    @SuppressWarnings("unchecked")
    public static List<Map<String, Object>> read(Path file) throws IOException {
        List<Map<String, Object>> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) continue;
            try {
                out.add(JSON.readValue(line, LinkedHashMap.class));
            } catch (JsonProcessingException e) {
                throw new IOException(file + ": line " + (i + 1) + " is not a JSON object: " + e.getOriginalMessage(), e);
            }
        }
        return out;
    }

    @Override
    public synchronized void close() throws IOException {
        if (writer != null) writer.close();
    }
}
