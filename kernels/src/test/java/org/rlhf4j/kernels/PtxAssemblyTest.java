package org.rlhf4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Assembles every PTX resource (the helpers' files too, whatever they are named) with ptxas for sm_80 and sm_90,
 * so that a syntax or type error fails the build without a GPU, and prints each kernel's registers and spills.
 * Skips, saying so, when ptxas is not on the PATH.
 */
class PtxAssemblyTest {
    private static final Pattern ENTRY = Pattern.compile("Compiling entry function '(\\w+)' for '(sm_\\d+)'");
    private static final Pattern USED = Pattern.compile("Used (\\d+) registers");
    private static final Pattern SPILL = Pattern.compile("(\\d+) bytes stack frame, (\\d+) bytes spill stores, (\\d+) bytes spill loads");

    record Result(int exit, String output) {}

    private static boolean ptxasOnPath() {
        try {
            Process p = new ProcessBuilder("ptxas", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private static Result ptxas(Path ptx, String arch, Path out) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("ptxas", "-arch=" + arch, "-v", ptx.toString(), "-o", out.toString())
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(-1, "ptxas timed out\n" + output);
        }
        return new Result(p.exitValue(), output);
    }

    /** The PTX files of the resource folder, from the sources (every file, even one not yet on the class path). */
    static List<Path> ptxFiles() throws IOException {
        Path folder = Paths.get("src/main/resources/org/rlhf4j/kernels/ptx");
        if (!Files.isDirectory(folder)) folder = Paths.get("kernels").resolve(folder);
        assertTrue(Files.isDirectory(folder), "PTX folder not found: " + folder.toAbsolutePath());
        try (Stream<Path> files = Files.list(folder)) {
            return files.filter(f -> f.toString().endsWith(".ptx")).sorted().toList();
        }
    }

    @Test
    void everyPtxFileAssemblesForSm80AndSm90(@TempDir Path tmp) throws Exception {
        assumeTrue(ptxasOnPath(), "ptxas is not on the PATH: PTX files were not assembled");
        List<Path> files = ptxFiles();
        assertFalse(files.isEmpty(), "no PTX files found");
        List<String> failures = new ArrayList<>();
        StringBuilder table = new StringBuilder(String.format("%-22s %-30s %-6s %5s %6s %6s%n", "file", "kernel", "arch",
                "regs", "stack", "spills"));
        for (Path f : files) {
            for (String arch : new String[] {"sm_80", "sm_90"}) {
                Result r = ptxas(f, arch, tmp.resolve(f.getFileName() + "." + arch + ".cubin"));
                if (r.exit() != 0) {
                    failures.add(f.getFileName() + " for " + arch + ":\n" + r.output());
                    continue;
                }
                String entry = null;
                String stack = "n/a", spills = "n/a"; // not reported when ptxas inlines everything (ABI off)
                for (String line : r.output().split("\n")) {
                    Matcher m = ENTRY.matcher(line);
                    if (m.find()) {
                        entry = m.group(1);
                        stack = "n/a";
                        spills = "n/a";
                        continue;
                    }
                    Matcher sp = SPILL.matcher(line);
                    if (sp.find() && entry != null && stack.equals("n/a")) {
                        stack = sp.group(1);
                        spills = String.valueOf(Integer.parseInt(sp.group(2)) + Integer.parseInt(sp.group(3)));
                    }
                    Matcher u = USED.matcher(line);
                    if (u.find() && entry != null) {
                        table.append(String.format("%-22s %-30s %-6s %5s %6s %6s%n", f.getFileName(), entry, arch,
                                u.group(1), stack, spills));
                        entry = null;
                    }
                }
            }
        }
        System.out.println("ptxas -v: registers per thread, stack frame bytes, spill bytes (stores + loads)\n" + table);
        assertEquals(List.of(), failures, "PTX files that do not assemble");
    }

    @Test
    void aTypeErrorInPtxFailsTheAssembly(@TempDir Path tmp) throws Exception {
        assumeTrue(ptxasOnPath(), "ptxas is not on the PATH: PTX files were not assembled");
        Path bad = tmp.resolve("bad.ptx");
        Files.writeString(bad, ".version 7.8\n.target sm_80\n.address_size 64\n"
                + ".visible .entry bad(.param .u64 p)\n{\n\t.reg .f32 %f;\n\t.reg .b64 %r;\n"
                + "\tld.param.u64 %r, [p];\n\tadd.f32 %f, %f, %r;\n\tret;\n}\n");
        Result r = ptxas(bad, "sm_80", tmp.resolve("bad.cubin"));
        assertNotEquals(0, r.exit(), "ptxas accepted an f32 add of a 64-bit register:\n" + r.output());
    }
}
