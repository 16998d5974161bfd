package org.rlhf4j.kernels.nn;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The host-side launch arithmetic of the fused kernels: block sizes, alignment rules, row splits, partitions. */
class FusedLaunchTest {
    @Test
    void rowThreadsAreWholeWarpsWithAboutFourVectorsEachUpToTheBlockLimit() {
        assertEquals(32, FusedLaunch.rowThreads(1));
        assertEquals(32, FusedLaunch.rowThreads(512));
        assertEquals(64, FusedLaunch.rowThreads(513));
        assertEquals(64, FusedLaunch.rowThreads(768));
        assertEquals(256, FusedLaunch.rowThreads(4096));
        assertEquals(1024, FusedLaunch.rowThreads(50257));
        assertEquals(192, FusedLaunch.rowThreads(768, 1), "one vector per thread");
        assertEquals(1024, FusedLaunch.rowThreads(4096, 1));
        for (int per : new int[] {1, 4}) {
            for (int cols = 1; cols < 70000; cols += 37) {
                int t = FusedLaunch.rowThreads(cols, per);
                long vectors = (cols + 3) / 4;
                assertEquals(0, t % 32, "cols " + cols);
                assertTrue(t >= 32 && t <= 1024, "cols " + cols);
                if (t < 1024) assertTrue((long) per * t >= vectors, "at most " + per + " vectors each for cols " + cols);
                if (t > 32) assertTrue((long) per * (t - 32) < vectors, "no whole idle warp for cols " + cols);
            }
        }
    }

    @Test
    void sixteenByteRowAccessNeedsEqualAddressesModulo16() {
        assertTrue(FusedLaunch.sameAlignment(0x1000, 0x2000));
        assertTrue(FusedLaunch.sameAlignment(0x1004, 0x2004, 0x3004));
        assertFalse(FusedLaunch.sameAlignment(0x1004, 0x2000));
        assertFalse(FusedLaunch.sameAlignment(0x1002, 0x2002), "not even 4-byte aligned");
        assertTrue(FusedLaunch.sameAlignmentOf(2, 0x1002, 0x2002), "BF16 rows need 2-byte alignment");
        assertFalse(FusedLaunch.sameAlignmentOf(2, 0x1001, 0x2001));
        assertFalse(FusedLaunch.sameAlignmentOf(2, 0x1002, 0x2004));
        assertTrue(FusedLaunch.alignedRows(768, 0x1000, 0x2000, 0));
        assertFalse(FusedLaunch.alignedRows(770, 0x1000, 0x2000), "rows not a whole number of float4s");
        assertFalse(FusedLaunch.alignedRows(768, 0x1000, 0x2004));
        assertTrue(FusedLaunch.aligned16(0x100, 0x200));
        assertFalse(FusedLaunch.aligned16(0x100, 0x208));
    }

    @Test
    void rowSplitCoversEveryElementOnceWithAlignedVectors() {
        Random random = new Random(7);
        for (int trial = 0; trial < 2000; trial++) {
            int elementBytes = random.nextBoolean() ? 4 : 2;
            long address = 0x7f0000000000L + (long) random.nextInt(1 << 20) * elementBytes;
            int cols = 1 + random.nextInt(trial < 1000 ? 40 : 60000);
            boolean vec = random.nextInt(4) != 0;
            FusedLaunch.RowSplit s = FusedLaunch.split(address, cols, elementBytes, vec);
            int width = 16 / elementBytes;
            assertTrue(s.head() >= 0 && s.head() <= cols);
            assertTrue(s.tail() >= 0 && (!vec || s.tail() < width || s.head() + s.tail() == cols));
            if (vec && s.nvec() > 0) {
                assertEquals(0, (address + (long) s.head() * elementBytes) & 15, "body starts on 16 bytes");
                assertTrue(s.head() < width);
            }
            boolean[] seen = new boolean[cols];
            for (int i = 0; i < s.nvec(); i++) {
                for (int l = 0; l < width; l++) {
                    int e = s.head() + width * i + l;
                    assertFalse(seen[e]);
                    seen[e] = true;
                }
            }
            for (int k = 0; k < s.scalars(); k++) {
                int e = s.scalarElement(k);
                assertFalse(seen[e], "element " + e + " twice (cols " + cols + ", head " + s.head() + ")");
                seen[e] = true;
            }
            for (int e = 0; e < cols; e++) assertTrue(seen[e], "element " + e + " missed");
        }
    }

    @Test
    void layerNormPartsFillTheDeviceButNeverExceedTheRows() {
        assertEquals(7, FusedLaunch.layerNormParts(7, 192, 132));
        assertEquals(8 * 132, FusedLaunch.layerNormParts(8192, 192, 132));
        assertEquals(2 * 132, FusedLaunch.layerNormParts(8192, 1024, 132));
        assertEquals(1, FusedLaunch.layerNormParts(1, 1024, 132));
        for (int rows : new int[] {1, 5, 263, 1056, 8193}) {
            int parts = FusedLaunch.layerNormParts(rows, 192, 132);
            int total = 0;
            for (int b = 0; b < parts; b++) {
                int mine = FusedLaunch.rowsOfPart(rows, parts, b);
                assertTrue(mine >= 1, "every block has a row");
                int count = 0;
                for (int r = b; r < rows; r += parts) count++;
                assertEquals(count, mine, "rows b, b + G, ... of block " + b);
                total += mine;
            }
            assertEquals(rows, total);
        }
    }

    @Test
    void layerNormAccumulatesInSharedMemoryOnlyWhenBothVectorsFitTheDefaultLimit() {
        assertEquals(8 * 768, FusedLaunch.layerNormSharedBytes(768));
        assertEquals(8 * 6080, FusedLaunch.layerNormSharedBytes(6080));
        assertEquals(0, FusedLaunch.layerNormSharedBytes(6081));
        assertTrue(8 * 6080 + FusedLaunch.STATIC_SHARED <= 48 * 1024, "static and dynamic together fit 48 KiB");
    }

    @Test
    void elementwiseGridIsBoundedAndNeverEmpty() {
        assertEquals(1, FusedLaunch.elementwiseGrid(1, 256, 132));
        assertEquals(1, FusedLaunch.elementwiseGrid(1024, 256, 132));
        assertEquals(2, FusedLaunch.elementwiseGrid(1025, 256, 132));
        assertEquals(8 * 132, FusedLaunch.elementwiseGrid(1L << 30, 256, 132));
        assertEquals(3, FusedLaunch.columnsGrid(768, 256));
        assertEquals(1, FusedLaunch.columnsGrid(1, 256));
    }

    @Test
    void adamwTableCutsEveryTensorIntoChunksInOrder() {
        int[] sizes = {1, 7, AdamwTable.CHUNK, AdamwTable.CHUNK + 3, 3 * AdamwTable.CHUNK - 1, 0};
        long[][] addresses = new long[sizes.length][];
        long next = 0x700000000000L;
        for (int k = 0; k < sizes.length; k++) {
            addresses[k] = new long[4];
            for (int j = 0; j < 4; j++) {
                addresses[k][j] = next + (k == 3 && j == 2 ? 4 : 0); // tensor 3's m is not 16-byte aligned
                next += 4L * sizes[k] + 4096;
            }
        }
        byte[] table = AdamwTable.build(addresses, sizes);
        int expected = 1 + 1 + 1 + 2 + 3;
        assertEquals(expected * AdamwTable.ENTRY_BYTES, table.length);
        ByteBuffer b = ByteBuffer.wrap(table).order(ByteOrder.LITTLE_ENDIAN);
        int entry = 0;
        for (int k = 0; k < sizes.length; k++) {
            long covered = 0;
            while (covered < sizes[k]) {
                int at = entry * AdamwTable.ENTRY_BYTES;
                for (int j = 0; j < 4; j++) assertEquals(addresses[k][j] + 4 * covered, b.getLong(at + 8 * j));
                int n = b.getInt(at + 32);
                assertTrue(n > 0 && n <= AdamwTable.CHUNK);
                boolean aligned = true;
                for (int j = 0; j < 4; j++) aligned &= ((addresses[k][j] + 4 * covered) & 15) == 0;
                assertEquals(aligned ? 1 : 0, b.getInt(at + 36), "vec flag of tensor " + k);
                assertEquals(0L, b.getLong(at + 40));
                covered += n;
                entry++;
            }
            assertEquals(sizes[k], covered, "tensor " + k + " covered exactly");
        }
        assertEquals(expected, entry);
        assertEquals(0, b.getInt(3 * AdamwTable.ENTRY_BYTES + 36), "the misaligned tensor takes the scalar path");
    }

    @Test
    void embeddingPlanGroupsPositionsByIdInIncreasingOrder() {
        int[] ids = {5, 2, 5, 0, 2, 5, 9};
        EmbeddingPlan plan = EmbeddingPlan.of(ids, 10);
        assertEquals(7, plan.count());
        assertEquals(4, plan.runs());
        int[] runIds = {0, 2, 5, 9};
        int[][] positions = {{3}, {1, 4}, {0, 2, 5}, {6}};
        for (int r = 0; r < plan.runs(); r++) {
            assertEquals(runIds[r], plan.id(r));
            assertEquals(positions[r].length, plan.start(r + 1) - plan.start(r));
            for (int k = 0; k < positions[r].length; k++) assertEquals(positions[r][k], plan.order(plan.start(r) + k));
        }
        assertEquals(ids.length, plan.start(plan.runs()));
        assertEquals(ids.length + 2 * plan.runs() + 1, plan.words().length);
        assertThrows(IndexOutOfBoundsException.class, () -> EmbeddingPlan.of(new int[] {1, 10}, 10));
        assertThrows(IndexOutOfBoundsException.class, () -> EmbeddingPlan.of(new int[] {-1}, 10));
        assertEquals(0, EmbeddingPlan.of(new int[0], 10).runs());
    }
}
