package org.rlhf4j.rl.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsLogTest {
    @TempDir
    Path dir;

    private static Map<String, Object> step(long step, double loss) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", step);
        m.put("loss", loss);
        m.put("rewards/accuracies", 0.5);
        m.put("learning_rate", 1e-6);
        return m;
    }

    @Test
    void eachStepIsOneFlushedJsonLineWithKeysInInsertionOrder() throws IOException {
        Path file = dir.resolve("logs/metrics.jsonl");
        try (MetricsLog log = MetricsLog.appendTo(file)) {
            log.accept(step(1, 0.693));
            // readable before close: every line is flushed as it is written
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            assertEquals(List.of("{\"step\":1,\"loss\":0.693,\"rewards/accuracies\":0.5,\"learning_rate\":1.0E-6}"), lines);
            log.accept(step(2, 0.5));
            assertEquals(2, Files.readAllLines(file, StandardCharsets.UTF_8).size());
        }
        List<Map<String, Object>> back = MetricsLog.read(file);
        assertEquals(List.of("step", "loss", "rewards/accuracies", "learning_rate"), List.copyOf(back.get(1).keySet()));
        assertEquals(0.5, ((Number) back.get(1).get("loss")).doubleValue());
    }

    @Test
    void appendsToAnExistingLogInsteadOfTruncatingIt() throws IOException {
        Path file = dir.resolve("m.jsonl");
        try (MetricsLog log = MetricsLog.appendTo(file)) {
            log.accept(step(1, 1.0));
        }
        try (MetricsLog log = MetricsLog.appendTo(file)) {
            log.accept(step(2, 2.0));
        }
        assertEquals(2, MetricsLog.read(file).size());
    }

    @Test
    void keepsEntriesInMemoryAsCopies() {
        MetricsLog log = MetricsLog.inMemory();
        Map<String, Object> m = step(1, 0.25);
        log.accept(m);
        m.put("loss", 99.0); // a later change to the caller's map is not seen
        log.accept(step(2, 0.125));
        assertEquals(2, log.entries().size());
        assertArrayEquals(new double[] {0.25, 0.125}, log.series("loss"));
        assertEquals(2L, log.last().get("step"));
        assertNull(log.file());
    }

    @Test
    void nonFiniteValuesStayValidJson() throws IOException {
        Path file = dir.resolve("nan.jsonl");
        try (MetricsLog log = MetricsLog.appendTo(file)) {
            log.accept(Map.of("loss", Double.NaN));
        }
        assertEquals("{\"loss\":\"NaN\"}", Files.readString(file).trim());
        assertEquals("NaN", MetricsLog.read(file).get(0).get("loss"));
    }

    @Test
    void aMalformedLineNamesTheFileAndLine() throws IOException {
        Path file = dir.resolve("bad.jsonl");
        Files.writeString(file, "{\"step\":1}\n{\"step\":\n");
        IOException e = assertThrows(IOException.class, () -> MetricsLog.read(file));
        assertEquals(true, e.getMessage().contains("line 2"), e.getMessage());
    }
}
