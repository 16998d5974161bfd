package org.rlhf4j.kernels;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.rlhf4j.tensor.DeviceUnavailableException;

/**
 * A device emulated by {@code kernels/src/ptxcheck/ptxserve.py}: device memory lives in that process, and every
 * copy, fill, kernel launch and cuBLAS call of a driverless CudaContext runs there, kernels on the vectorized PTX
 * interpreter {@code simt.py} (the BF16 tensor-core attention on {@code ptxemu.py}; the PTX text is the classpath
 * resource the driver would load), GEMM in NumPy by cuBLAS's column-major definition of the call CudaGemm planned.
 * Millions of elements per second through a large kernel, milliseconds of overhead per launch; exact in what it
 * runs: the real PTX and the real host side.
 *
 * <p>The scripts are found, in order: in the folder named by the system property {@value #PTXCHECK_PROPERTY}
 * (the {@code ptxcheck} folder, with {@code ptxgen} beside it); under {@code src/ptxcheck},
 * {@code kernels/src/ptxcheck} or {@code ../kernels/src/ptxcheck} of the working directory; else copied out of
 * the test classpath (the kernels test-jar carries them), so another module's tests find them too.
 */
final class EmulatedDevice implements RawDeviceMemory, CudaContext.LaunchSink, CudaContext.GemmExecutor {
    /** System property: the folder holding ptxserve.py. */
    static final String PTXCHECK_PROPERTY = "rlhf4j.kernels.ptxcheck";
    /**
     * System property: {@code scalar} runs every kernel on the per-thread interpreters instead of the vectorized
     * one (tens of times slower; to tell an interpreter's fault from a kernel's).
     */
    static final String INTERPRETER_PROPERTY = "rlhf4j.kernels.ptxInterpreter";
    /** Where the test-jar carries the scripts: folder -> files. */
    private static final String RESOURCES = "/org/rlhf4j/kernels/";
    private static final String[][] SCRIPTS = {{"ptxcheck", "ptxserve.py", "ptxrun.py", "simt.py"},
            {"ptxgen", "fused_ptxsim.py", "ptxemu.py"}};
    private static final HexFormat HEX = HexFormat.of();
    private static final Pattern DATA = Pattern.compile("\"data\": \"([0-9a-f]*)\"");
    private static final Pattern ERROR = Pattern.compile("\"error\": \"(.*)\"");

    private final Process process;
    private final Writer in;
    private final BufferedReader out;
    private final Set<String> modulesSent = new HashSet<>();
    private long next = 0x7100_0000_0000L;

    EmulatedDevice() {
        Path folder = scriptFolder();
        try {
            Process check = new ProcessBuilder("python3", "-c", "import numpy").redirectErrorStream(true).start();
            check.getInputStream().readAllBytes();
            if (!check.waitFor(60, TimeUnit.SECONDS) || check.exitValue() != 0) {
                throw new DeviceUnavailableException("emulated device: python3 has no NumPy");
            }
            ProcessBuilder serve = new ProcessBuilder("python3", folder.resolve("ptxserve.py").toString())
                    .redirectError(ProcessBuilder.Redirect.INHERIT);
            if ("scalar".equals(System.getProperty(INTERPRETER_PROPERTY))) {
                serve.environment().put("RLHF4J_PTX_INTERPRETER", "scalar");
            }
            process = serve.start();
        } catch (IOException | InterruptedException e) {
            throw new DeviceUnavailableException("emulated device: cannot start python3 (" + e + ")");
        }
        Runtime.getRuntime().addShutdownHook(new Thread(process::destroy));
        in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    /** The folder of ptxserve.py (see the class comment for the search order). */
    static Path scriptFolder() {
        String named = System.getProperty(PTXCHECK_PROPERTY);
        if (named != null) {
            Path p = Paths.get(named);
            if (!Files.isRegularFile(p.resolve("ptxserve.py"))) {
                // a misnamed folder is a mistake to fix, not a reason to skip
                throw new IllegalArgumentException("emulated device: -D" + PTXCHECK_PROPERTY + "=" + named
                        + " names no folder holding ptxserve.py");
            }
            return p;
        }
        List<Path> tried = new ArrayList<>();
        for (String c : new String[] {"src/ptxcheck", "kernels/src/ptxcheck", "../kernels/src/ptxcheck"}) {
            Path p = Paths.get(c);
            tried.add(p.toAbsolutePath().normalize());
            if (Files.isRegularFile(p.resolve("ptxserve.py")) && Files.isRegularFile(p.resolve("../ptxgen/ptxemu.py"))) {
                return p;
            }
        }
        return fromClasspath(tried);
    }

    /** The scripts copied from the test classpath into a temporary folder (once per JVM). */
    static synchronized Path fromClasspath(List<Path> tried) {
        try {
            Path root = Files.createTempDirectory("rlhf4j-ptxcheck");
            root.toFile().deleteOnExit();
            for (String[] group : SCRIPTS) {
                Path dir = Files.createDirectories(root.resolve(group[0]));
                dir.toFile().deleteOnExit();
                for (int i = 1; i < group.length; i++) {
                    String name = RESOURCES + group[0] + "/" + group[i];
                    try (InputStream s = EmulatedDevice.class.getResourceAsStream(name)) {
                        if (s == null) {
                            throw new DeviceUnavailableException("emulated device: ptxserve.py is not under " + tried
                                    + ", -D" + PTXCHECK_PROPERTY + " is not set, and " + name
                                    + " is not on the classpath (the rlhf4j-kernels test-jar has it)");
                        }
                        Path file = dir.resolve(group[i]);
                        Files.write(file, s.readAllBytes());
                        file.toFile().deleteOnExit();
                    }
                }
            }
            return root.resolve("ptxcheck");
        } catch (IOException e) {
            throw new DeviceUnavailableException("emulated device: cannot unpack its scripts (" + e + ")");
        }
    }

    private synchronized String call(String json) {
        try {
            in.write(json + "\n");
            in.flush();
            String reply = out.readLine();
            if (reply == null) throw new IllegalStateException("emulated device: the interpreter exited");
            if (!reply.contains("\"ok\": true")) {
                Matcher m = ERROR.matcher(reply);
                throw new IllegalStateException("emulated device: " + (m.find() ? m.group(1) : reply) + " for "
                        + json.substring(0, Math.min(200, json.length())));
            }
            return reply;
        } catch (IOException e) {
            throw new IllegalStateException("emulated device: " + e, e);
        }
    }

    @Override
    public synchronized long allocate(long bytes) {
        long address = next;
        next += (bytes + 0xFFFF) / 0x10000 * 0x10000 + 0x10000;
        call("{\"op\": \"alloc\", \"addr\": " + address + ", \"bytes\": " + bytes + "}");
        return address;
    }

    @Override
    public void free(long address) {
        call("{\"op\": \"free\", \"addr\": " + address + "}");
    }

    /** Sends a PTX module's text (the classpath resource the driver would load) before its first launch. */
    private synchronized void sendModule(String file) {
        if (!modulesSent.add(file)) return;
        byte[] text;
        try (InputStream s = EmulatedDevice.class.getResourceAsStream(CudaContext.PTX_FOLDER + file)) {
            if (s == null) throw new IllegalArgumentException("no PTX resource " + CudaContext.PTX_FOLDER + file);
            text = s.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("emulated device: cannot read " + file, e);
        }
        call("{\"op\": \"module\", \"file\": \"" + file + "\", \"text\": \"" + HEX.formatHex(text) + "\"}");
    }

    @Override
    public void launch(String kernel, int[] grid, int[] block, int sharedBytes, KernelArgs args) {
        int colon = kernel.indexOf(':');
        String file = kernel.substring(0, colon);
        sendModule(file);
        StringBuilder sb = new StringBuilder("{\"op\": \"launch\", \"file\": \"").append(file)
                .append("\", \"entry\": \"").append(kernel.substring(colon + 1))
                .append("\", \"grid\": [").append(grid[0]).append(", ").append(grid[1]).append(", ").append(grid[2])
                .append("], \"block\": [").append(block[0]).append(", ").append(block[1]).append(", ").append(block[2])
                .append("], \"shared\": ").append(sharedBytes).append(", \"args\": [");
        byte[][] values = args.values();
        for (int i = 0; i < values.length; i++) sb.append(i == 0 ? "\"" : ", \"").append(HEX.formatHex(values[i])).append('"');
        call(sb.append("]}").toString());
    }

    @Override
    public void gemm(GemmCall c) {
        c.validate();
        call("{\"op\": \"gemm\", \"transA\": " + c.transA() + ", \"transB\": " + c.transB() + ", \"m\": " + c.m()
                + ", \"n\": " + c.n() + ", \"k\": " + c.k() + ", \"alpha\": " + json(c.alpha())
                + ", \"a\": " + c.a() + ", \"aType\": \"" + c.aType() + "\", \"lda\": " + c.lda() + ", \"strideA\": " + c.strideA()
                + ", \"b\": " + c.b() + ", \"bType\": \"" + c.bType() + "\", \"ldb\": " + c.ldb() + ", \"strideB\": " + c.strideB()
                + ", \"beta\": " + json(c.beta())
                + ", \"c\": " + c.c() + ", \"cType\": \"" + c.cType() + "\", \"ldc\": " + c.ldc() + ", \"strideC\": " + c.strideC()
                + ", \"batch\": " + c.batch() + ", \"compute\": \"" + c.compute() + "\"}");
    }

    /** A finite double as JSON (exact: Java's shortest repr reads back as the same double in Python). */
    private static String json(double v) {
        if (!Double.isFinite(v)) throw new IllegalArgumentException("emulated device: gemm scalar " + v);
        return Double.toString(v);
    }

    @Override
    public void copy(long dst, long src, long bytes) {
        call("{\"op\": \"copy\", \"dst\": " + dst + ", \"src\": " + src + ", \"bytes\": " + bytes + "}");
    }

    @Override
    public void memset(long dst, long value, int elementBytes, long count) {
        call("{\"op\": \"memset\", \"dst\": " + dst + ", \"value\": " + value + ", \"esize\": " + elementBytes
                + ", \"count\": " + count + "}");
    }

    @Override
    public void upload(long dst, byte[] data) {
        call("{\"op\": \"upload\", \"dst\": " + dst + ", \"data\": \"" + HEX.formatHex(data) + "\"}");
    }

    @Override
    public byte[] download(long src, int bytes) {
        String reply = call("{\"op\": \"download\", \"src\": " + src + ", \"bytes\": " + bytes + "}");
        Matcher m = DATA.matcher(reply);
        if (!m.find()) throw new IllegalStateException("emulated device: no data in " + reply);
        return HEX.parseHex(m.group(1));
    }
}
