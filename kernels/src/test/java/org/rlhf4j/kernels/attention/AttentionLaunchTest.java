package org.rlhf4j.kernels.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.rlhf4j.kernels.CudaContext;

/**
 * The host side of every attention launch against the PTX it launches, without a GPU: the entry exists, the
 * parameters are the entry's {@code .param} list (same names, order and types), the block is the entry's
 * {@code .maxntid}, and the grid covers every row exactly (no block wholly past T, none missing).
 */
class AttentionLaunchTest {
    /** An entry's parameters ("u64 p_out", ...) and its .maxntid. */
    record Entry(List<String> params, int maxThreads) {}

    private static final Map<String, Map<String, Entry>> ENTRIES = new HashMap<>();

    private static Map<String, Entry> entries(String ptx) {
        return ENTRIES.computeIfAbsent(ptx, f -> {
            String text;
            try (InputStream in = CudaContext.class.getResourceAsStream(CudaContext.PTX_FOLDER + f)) {
                assertNotNull(in, "PTX resource " + f);
                text = new String(in.readAllBytes(), StandardCharsets.US_ASCII).replaceAll("//[^\n]*", "");
            } catch (IOException e) {
                throw new AssertionError(e);
            }
            Map<String, Entry> out = new HashMap<>();
            Matcher m = Pattern.compile("\\.visible\\s+\\.entry\\s+(\\w+)\\s*\\(([^)]*)\\)\\s*\\.maxntid\\s+(\\d+)")
                    .matcher(text);
            while (m.find()) {
                List<String> params = new ArrayList<>();
                Matcher p = Pattern.compile("\\.param\\s+\\.(\\w+)\\s+(\\w+)").matcher(m.group(2));
                while (p.find()) params.add(p.group(1) + " " + p.group(2));
                out.put(m.group(1), new Entry(params, Integer.parseInt(m.group(3))));
            }
            return out;
        });
    }

    private static void assertMatchesPtx(AttentionLaunch launch, int rows, int rowsPerBlock, int bh) {
        Entry entry = entries(launch.ptx()).get(launch.entry());
        assertNotNull(entry, launch.entry() + " in " + launch.ptx());
        List<String> host = new ArrayList<>();
        for (AttentionLaunch.Param p : launch.params()) host.add(p.type() + " " + p.name());
        assertEquals(entry.params(), host, launch.entry() + ": parameters");
        assertEquals(entry.maxThreads(), launch.block(), launch.entry() + ": block size");
        assertTrue((long) launch.gridX() * rowsPerBlock >= rows, launch.entry() + ": grid misses rows");
        assertTrue((long) (launch.gridX() - 1) * rowsPerBlock < Math.max(rows, 1), launch.entry() + ": a block past T");
        assertEquals(bh, launch.gridY(), launch.entry() + ": one grid row per (b, h)");
    }

    @Test
    void moreBatchHeadPairsThanOneGridCoversAreRefusedWithAMessage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AttentionLaunch.forward(true,
                1, 2, 3, 4, 5, 0, 128, 16, 16, 64, 128 * 16 * 64, 16 * 64, 64, 0, 70000, 0.5f));
        assertTrue(e.getMessage().contains("70000"), e.getMessage());
    }

    @ParameterizedTest(name = "bf16={0} D={1} T={2}")
    @CsvSource({"false, 64, 1", "false, 128, 17", "false, 96, 1000", "true, 64, 1", "true, 128, 17",
            "true, 64, 2048", "true, 128, 1000"})
    void everyLaunchMatchesItsPtxEntry(boolean bf16, int d, int t) {
        int h = 3, bh = 2 * h;
        int fwdRows = bf16 ? AttentionLaunch.BF16_ROWS : AttentionLaunch.F32_ROWS;
        int bwdRows = bf16 ? AttentionLaunch.BF16_ROWS : AttentionLaunch.F32_BWD_ROWS;
        assertMatchesPtx(AttentionLaunch.forward(bf16, 1, 2, 3, 4, 5, 6, h, t, t, d, h * t * d, t * d, d, t, bh, 0.5f),
                t, fwdRows, bh);
        // decoding: one query against t keys of a longer cache
        assertMatchesPtx(AttentionLaunch.forward(bf16, 1, 0, 3, 4, 5, 0, h, 1, t, d, h * 4096 * d, 4096 * d, d, 0, bh,
                0.5f), 1, fwdRows, bh);
        if (!bf16) {
            AttentionLaunch dec = AttentionLaunch.decode(1, 2, 3, 4, 5, 6, h, t, d, h * 4096 * d, 4096 * d, d, 4096, bh,
                    0.5f);
            Entry de = entries(dec.ptx()).get(dec.entry());
            assertNotNull(de, dec.entry());
            List<String> host = new ArrayList<>();
            for (AttentionLaunch.Param p : dec.params()) host.add(p.type() + " " + p.name());
            assertEquals(de.params(), host, "decode parameters");
            assertEquals(de.maxThreads(), dec.block());
            assertEquals(bh, dec.gridX(), "a block per (b, h)");
        }
        int rows = bh * t;
        AttentionLaunch dot = AttentionLaunch.rowDot(bf16, 1, 2, 3, rows, d);
        Entry e = entries(dot.ptx()).get(dot.entry());
        assertNotNull(e, dot.entry());
        assertEquals(e.maxThreads(), dot.block());
        assertTrue((long) dot.gridX() * (dot.block() / 32) >= rows, "a warp per row");
        assertMatchesPtx(AttentionLaunch.gradients(bf16, true, new long[] {1, 2}, 3, 4, 5, 6, 7, 8, 9, h, t, d, t, bh,
                0.5f, 0.25f), t, bwdRows, bh);
        assertMatchesPtx(AttentionLaunch.gradients(bf16, false, new long[] {1}, 3, 4, 5, 6, 7, 8, 9, h, t, d, t, bh,
                0.5f, 0.25f), t, bwdRows, bh);
    }
}
