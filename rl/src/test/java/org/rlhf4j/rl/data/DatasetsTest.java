package org.rlhf4j.rl.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsTest {
    @TempDir
    Path dir;

    /** Text that JSON must escape or that is not ASCII: quotes, backslashes, newlines, tabs, controls, emoji. */
    private static final String TRICKY = "say \"hi\"\\n and \\\"quoted\\\"\nline two\r\n\ttab \u0001 caf\u00e9 \u65e5\u672c "
            + "\uD83D\uDE00 e\u0301 \u2028 </script>";

    private Path file(String name, String content) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, content.getBytes(StandardCharsets.UTF_8));
        return p;
    }

    private static DatasetFileException assertBadLine(Path file, int line, String expectedInMessage, ThrowingRead read) {
        DatasetFileException e = assertThrows(DatasetFileException.class, () -> read.run(file));
        assertEquals(line, e.line(), e.getMessage());
        assertEquals(file, e.file());
        assertTrue(e.getMessage().startsWith(file + ":" + line + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(expectedInMessage), "expected \"" + expectedInMessage + "\" in: " + e.getMessage());
        return e;
    }

    @FunctionalInterface
    interface ThrowingRead {
        Object run(Path file) throws IOException;
    }

    // ---------------------------------------------------------------- round trips

    @Test
    void preferencesRoundTripUnicodeNewlinesAndEscapedQuotes() throws IOException {
        List<PreferenceRecord> records = List.of(
                new PreferenceRecord(TRICKY, "chosen " + TRICKY, "rejected"),
                new PreferenceRecord("", "", ""),
                new PreferenceRecord("Review: the movie was", " great.", " awful."));
        Path p = dir.resolve("prefs.jsonl");
        Datasets.writePreferences(p, records);
        assertEquals(records, Datasets.readPreferences(p));
        // one JSON object per line: newlines inside strings are escaped
        List<String> lines = Files.readAllLines(p, StandardCharsets.UTF_8);
        assertEquals(3, lines.size());
        assertEquals("{\"prompt\":\"Review: the movie was\",\"chosen\":\" great.\",\"rejected\":\" awful.\"}", lines.get(2));
    }

    @Test
    void sftRoundTripsInBothLayouts() throws IOException {
        List<SftRecord> pairs = List.of(SftRecord.of(TRICKY, TRICKY + "!"), SftRecord.of("", "only a completion"));
        Path p = dir.resolve("sft.jsonl");
        Datasets.writeSft(p, pairs);
        assertEquals(pairs, Datasets.readSft(p));

        List<SftRecord> texts = List.of(SftRecord.text(TRICKY), SftRecord.text("x"));
        Path q = dir.resolve("text.jsonl");
        Datasets.writeSft(q, texts);
        assertEquals(texts, Datasets.readSft(q));
        assertEquals("{\"text\":\"x\"}", Files.readAllLines(q, StandardCharsets.UTF_8).get(1));
    }

    @Test
    void promptsRoundTrip() throws IOException {
        List<PromptRecord> records = List.of(new PromptRecord(TRICKY), new PromptRecord("17+25="));
        Path p = dir.resolve("prompts.jsonl");
        Datasets.writePrompts(p, records);
        assertEquals(records, Datasets.readPrompts(p));
    }

    @Test
    void largeFilesReadBackWithLinesSpanningReadBuffers() throws IOException {
        List<PromptRecord> records = new ArrayList<>();
        for (int i = 0; i < 2000; i++) records.add(new PromptRecord(i + " \u00e9\u65e5 ".repeat(1 + i % 13)));
        Path p = dir.resolve("large.jsonl");
        Datasets.writePrompts(p, records);
        assertTrue(Files.size(p) > 2 * 65536);
        assertEquals(records, Datasets.readPrompts(p));
        Files.writeString(p, "{\"prompt\":7}\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        assertBadLine(p, 2001, "field \"prompt\" must be a string", Datasets::readPrompts);
    }

    @Test
    void emptyDatasetsRoundTripAndAnEmptyFileIsAnEmptyDataset() throws IOException {
        Path p = dir.resolve("none.jsonl");
        Datasets.writePreferences(p, List.of());
        assertEquals(0, Files.size(p));
        assertEquals(List.of(), Datasets.readPreferences(p));
        assertEquals(List.of(), Datasets.readSft(p));
        assertEquals(List.of(), Datasets.readPrompts(p));
        assertEquals(List.of(), Datasets.readPrompts(file("blank.jsonl", "\n  \n\r\n\t\n")));
    }

    @Test
    void readsWhatOtherWritersProduce() throws IOException {
        // CRLF endings, no final newline, a byte-order mark, spaces, \\u escapes, surrogate-pair escapes
        Path p = file("other.jsonl", "\uFEFF{ \"prompt\" : \"a\\u00e9\\uD83D\\uDE00\", \"chosen\": \"b\", \"rejected\": \"c\" }\r\n"
                + "\r\n"
                + "{\"rejected\":\"f\",\"chosen\":\"e\",\"prompt\":\"d\"}");
        assertEquals(List.of(new PreferenceRecord("a\u00e9\uD83D\uDE00", "b", "c"), new PreferenceRecord("d", "e", "f")),
                Datasets.readPreferences(p));
    }

    @Test
    void extraFieldsAreIgnoredSoAPreferenceFileAlsoReadsAsPrompts() throws IOException {
        Path p = file("extra.jsonl", "{\"id\":7,\"prompt\":\"p\",\"chosen\":\"c\",\"rejected\":\"r\",\"score_chosen\":8.5}\n");
        assertEquals(List.of(new PreferenceRecord("p", "c", "r")), Datasets.readPreferences(p));
        assertEquals(List.of(new PromptRecord("p")), Datasets.readPrompts(p));
    }

    @Test
    void returnedListsAreUnmodifiable() throws IOException {
        Path p = file("one.jsonl", "{\"prompt\":\"p\"}\n");
        List<PromptRecord> read = Datasets.readPrompts(p);
        assertThrows(UnsupportedOperationException.class, () -> read.add(new PromptRecord("q")));
    }

    // ---------------------------------------------------------------- malformed lines

    @Test
    void invalidJsonNamesFileAndLineCountingBlankLines() throws IOException {
        Path p = file("bad.jsonl", "{\"prompt\":\"a\"}\n\n{\"prompt\":\"b\",}\n{\"prompt\":\"c\"}\n");
        assertBadLine(p, 3, "invalid JSON", Datasets::readPrompts);
    }

    @Test
    void truncatedLastLineFails() throws IOException {
        Path p = file("truncated.jsonl", "{\"prompt\":\"a\",\"chosen\":\"b\",\"rejected\":\"c\"}\n{\"prompt\":\"a\",\"cho");
        assertBadLine(p, 2, "invalid JSON", Datasets::readPreferences);
    }

    @Test
    void twoObjectsOnOneLineFail() throws IOException {
        Path p = file("two.jsonl", "{\"prompt\":\"a\"} {\"prompt\":\"b\"}\n");
        assertBadLine(p, 1, "invalid JSON", Datasets::readPrompts);
    }

    @Test
    void aValueThatIsNotAnObjectFails() throws IOException {
        assertBadLine(file("array.jsonl", "{\"prompt\":\"a\"}\n[\"a\"]\n"), 2, "expected a JSON object, found an array",
                Datasets::readPrompts);
        assertBadLine(file("string.jsonl", "\"a\"\n"), 1, "expected a JSON object", Datasets::readPrompts);
        assertBadLine(file("null.jsonl", "null\n"), 1, "expected a JSON object, found null", Datasets::readPrompts);
    }

    @Test
    void missingFieldFails() throws IOException {
        Path p = file("missing.jsonl", "{\"prompt\":\"a\",\"chosen\":\"b\",\"rejected\":\"c\"}\n{\"prompt\":\"a\",\"chosen\":\"b\"}\n");
        assertBadLine(p, 2, "missing field \"rejected\"", Datasets::readPreferences);
    }

    @Test
    void fieldsOfTheWrongTypeFail() throws IOException {
        assertBadLine(file("number.jsonl", "{\"prompt\":1,\"chosen\":\"b\",\"rejected\":\"c\"}\n"), 1,
                "field \"prompt\" must be a string, found a number (1)", Datasets::readPreferences);
        assertBadLine(file("nullfield.jsonl", "{\"prompt\":\"a\",\"chosen\":null,\"rejected\":\"c\"}\n"), 1,
                "field \"chosen\" must be a string, found null", Datasets::readPreferences);
        assertBadLine(file("object.jsonl", "{\"prompt\":\"a\",\"chosen\":\"b\",\"rejected\":{\"x\":1}}\n"), 1,
                "field \"rejected\" must be a string, found an object", Datasets::readPreferences);
        assertBadLine(file("bool.jsonl", "{\"text\":true}\n"), 1, "field \"text\" must be a string, found a boolean",
                Datasets::readSft);
        assertBadLine(file("list.jsonl", "{\"prompt\":[\"a\",\"b\"]}\n"), 1, "field \"prompt\" must be a string, found an array",
                Datasets::readPrompts);
    }

    @Test
    void conversationalRecordsAreNamedAsUnsupported() throws IOException {
        Path p = file("chat.jsonl", "{\"prompt\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"chosen\":[{\"role\":\"assistant\",\"content\":\"hello\"}],\"rejected\":[{\"role\":\"assistant\",\"content\":\"go\"}]}\n");
        assertBadLine(p, 1, "field \"prompt\" is a list of messages (TRL's conversational layout)", Datasets::readPreferences);
        Path q = file("messages.jsonl", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\n");
        assertBadLine(q, 1, "\"messages\" (TRL's conversational layout)", Datasets::readSft);
    }

    @Test
    void duplicateKeysFail() throws IOException {
        Path p = file("dup.jsonl", "{\"prompt\":\"a\",\"prompt\":\"b\"}\n");
        assertBadLine(p, 1, "Duplicate field 'prompt'", Datasets::readPrompts);
    }

    @Test
    void invalidUtf8Fails() throws IOException {
        Path p = dir.resolve("latin1.jsonl");
        byte[] good = "{\"prompt\":\"a\"}\n".getBytes(StandardCharsets.UTF_8);
        byte[] bad = "{\"prompt\":\"caf\u00e9\"}\n".getBytes(StandardCharsets.ISO_8859_1);
        byte[] all = new byte[good.length + bad.length];
        System.arraycopy(good, 0, all, 0, good.length);
        System.arraycopy(bad, 0, all, good.length, bad.length);
        Files.write(p, all);
        assertBadLine(p, 2, "not valid UTF-8", Datasets::readPrompts);
    }

    @Test
    void emptyRlPromptFails() throws IOException {
        assertBadLine(file("empty.jsonl", "{\"prompt\":\"a\"}\n{\"prompt\":\"\"}\n"), 2, "\"prompt\" is empty",
                Datasets::readPrompts);
    }

    @Test
    void sftRecordsMustHaveExactlyOneLayout() throws IOException {
        assertBadLine(file("both.jsonl", "{\"text\":\"t\",\"prompt\":\"p\",\"completion\":\"c\"}\n"), 1,
                "has both \"text\" and \"prompt\"/\"completion\"", Datasets::readSft);
        assertBadLine(file("half.jsonl", "{\"prompt\":\"p\"}\n"), 1, "missing field \"completion\"", Datasets::readSft);
        assertBadLine(file("neither.jsonl", "{\"input\":\"p\"}\n"), 1, "missing fields: expected {\"text\"} or",
                Datasets::readSft);
        assertBadLine(file("emptytext.jsonl", "{\"text\":\"\"}\n"), 1, "field \"text\" is empty", Datasets::readSft);
    }

    @Test
    void sftFileWithMixedLayoutsFailsAtTheFirstOutlier() throws IOException {
        Path p = file("mixed.jsonl", "{\"prompt\":\"p\",\"completion\":\"c\"}\n{\"prompt\":\"q\",\"completion\":\"d\"}\n{\"text\":\"t\"}\n");
        assertBadLine(p, 3, "but line 1 is a {\"prompt\", \"completion\"} record", Datasets::readSft);
        List<SftRecord> mixed = List.of(SftRecord.text("t"), SftRecord.of("p", "c"));
        assertThrows(IllegalArgumentException.class, () -> Datasets.writeSft(dir.resolve("mixed-out.jsonl"), mixed));
        assertFalse(Files.exists(dir.resolve("mixed-out.jsonl")));
    }

    @Test
    void missingFileFails() {
        assertThrows(NoSuchFileException.class, () -> Datasets.readPrompts(dir.resolve("absent.jsonl")));
    }

    // ---------------------------------------------------------------- writing

    @Test
    void writeReplacesTheTargetAndLeavesNoTemporaryFile() throws IOException {
        Path p = dir.resolve("out.jsonl");
        Datasets.writePrompts(p, List.of(new PromptRecord("old 1"), new PromptRecord("old 2")));
        Datasets.writePrompts(p, List.of(new PromptRecord("new")));
        assertEquals(List.of(new PromptRecord("new")), Datasets.readPrompts(p));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(p), files.toList());
        }
    }

    @Test
    void failedWriteLeavesTheTargetUntouched() throws IOException {
        Path p = dir.resolve("keep.jsonl");
        Datasets.writePrompts(p, List.of(new PromptRecord("kept")));
        byte[] before = Files.readAllBytes(p);
        // an unpaired surrogate has no UTF-8 encoding: the second record fails after the first was written
        List<PromptRecord> bad = List.of(new PromptRecord("fine"), new PromptRecord("broken \uD800 text"));
        IOException e = assertThrows(IOException.class, () -> Datasets.writePrompts(p, bad));
        assertTrue(e.getMessage().contains("record 1"), e.getMessage());
        assertEquals(new String(before, StandardCharsets.UTF_8), Files.readString(p));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(p), files.toList());
        }
    }

    @Test
    void writingOverADirectoryFails() throws IOException {
        Path sub = Files.createDirectory(dir.resolve("sub"));
        assertThrows(IOException.class, () -> Datasets.writePrompts(sub, List.of(new PromptRecord("x"))));
        assertTrue(Files.isDirectory(sub));
    }

    @Test
    void recordsRejectNullsAndInvalidLayouts() {
        assertThrows(NullPointerException.class, () -> new PreferenceRecord("p", null, "r"));
        assertThrows(IllegalArgumentException.class, () -> new PromptRecord(""));
        assertThrows(IllegalArgumentException.class, () -> new SftRecord("p", null, null));
        assertThrows(IllegalArgumentException.class, () -> new SftRecord("p", "c", "t"));
        assertThrows(IllegalArgumentException.class, () -> SftRecord.text(""));
    }
}
