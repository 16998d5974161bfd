package org.rlhf4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Launch arguments are checked against the PTX entry's parameters; the reader knows every entry we ship. */
class PtxSignatureTest {
    private static int[] sizes(List<PtxSignature.Param> params) {
        return params.stream().mapToInt(PtxSignature.Param::bytes).toArray();
    }

    @Test
    void readsTheParametersOfEveryEntryInEveryPtxFile() throws Exception {
        int entries = 0;
        for (Path f : PtxAssemblyTest.ptxFiles()) {
            String text = Files.readString(f);
            Matcher m = Pattern.compile("\\.entry\\s+(\\w+)").matcher(text);
            while (m.find()) {
                assertNotNull(PtxSignature.of(text, m.group(1)), f.getFileName() + ": cannot read " + m.group(1));
                entries++;
            }
        }
        assertTrue(entries >= 14, "entries found: " + entries);
    }

    @Test
    void theRuntimeKernelsTakeWhatCudaBackendPasses() throws Exception {
        String ew = Files.readString(PtxAssemblyTest.ptxFiles().stream()
                .filter(p -> p.getFileName().toString().equals("elementwise.ptx")).findFirst().orElseThrow());
        // ptr y, ptr x, op, n, lo, hi, geom for 2 operands (4 + 32 + 64 bytes)
        assertEquals(List.of(8, 8, 4, 4, 4, 4, 100), java.util.Arrays.stream(sizes(PtxSignature.of(ew, "ew_unary_f32"))).boxed().toList());
        KernelArgs args = KernelArgs.create().ptr(1L).ptr(2L).i32(0).i32(5).f32(0f).f32(0f)
                .ints(new int[1 + Geometry.MAX_RANK * 3]);
        PtxSignature.check("ew_unary_f32", PtxSignature.of(ew, "ew_unary_f32"), args.sizes());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PtxSignature.check("ew_binary_f32",
                PtxSignature.of(ew, "ew_binary_f32"), args.sizes()));
        assertTrue(e.getMessage().contains("ew_binary_f32"), e.getMessage());
        KernelArgs wrongGeom = KernelArgs.create().ptr(1L).ptr(2L).i32(0).i32(5).f32(0f).f32(0f).ints(new int[9]);
        e = assertThrows(IllegalArgumentException.class, () -> PtxSignature.check("ew_unary_f32",
                PtxSignature.of(ew, "ew_unary_f32"), wrongGeom.sizes()));
        assertTrue(e.getMessage().contains("parameter 6 (geom) takes 100 bytes, the argument has 36"), e.getMessage());
    }

    @Test
    void aParenthesisInAParameterCommentDoesNotEndTheList() throws Exception {
        String ptx = ".visible .entry k(\n    .param .u64 p_lse,   // [B, T], or 0 when not wanted (decoding)\n"
                + "    .param .u32 p_n     /* count (> 0) */\n)\n{\n}\n";
        assertEquals(List.of(8, 4), java.util.Arrays.stream(sizes(PtxSignature.of(ptx, "k"))).boxed().toList());
        String attention = Files.readString(PtxAssemblyTest.ptxFiles().stream()
                .filter(p -> p.getFileName().toString().equals("attention_f32.ptx")).findFirst().orElseThrow());
        assertEquals(15, PtxSignature.of(attention, "attention_fwd_f32").size());
    }

    @Test
    void unknownDeclarationsTurnTheCheckOff() {
        String ptx = ".visible .entry k(.param .u64 .ptr .global .align 16 p, .param .u32 n, .param .weird w)\n{\n}\n";
        assertNull(PtxSignature.of(ptx, "k"));
        String known = ".visible .entry k(.param .u64 .ptr .global .align 16 p, .param .u32 n)\n{\n}\n";
        assertEquals(List.of(8, 4), java.util.Arrays.stream(sizes(PtxSignature.of(known, "k"))).boxed().toList());
        assertNull(PtxSignature.of(known, "missing"));
    }
}
