package org.rlhf4j.kernels;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.rlhf4j.tensor.DeviceUnavailableException;

/**
 * A device emulated by {@code kernels/src/ptxcheck/ptxserve.py}: device memory lives in that process, and every
 * copy, fill and kernel launch of a driverless CudaContext runs there on the PTX interpreter. Slow (a few
 * thousand elements per second), exact in what it runs: the real PTX and the real host side.
 */
final class EmulatedDevice implements RawDeviceMemory, CudaContext.LaunchSink {
    private static final HexFormat HEX = HexFormat.of();
    private static final Pattern DATA = Pattern.compile("\"data\": \"([0-9a-f]*)\"");
    private static final Pattern ERROR = Pattern.compile("\"error\": \"(.*)\"");

    private final Process process;
    private final Writer in;
    private final BufferedReader out;
    private long next = 0x7100_0000_0000L;

    EmulatedDevice() {
        Path script = Paths.get("src/ptxcheck/ptxserve.py");
        if (!Files.exists(script)) script = Paths.get("kernels").resolve(script);
        try {
            Process check = new ProcessBuilder("python3", "-c", "import numpy").redirectErrorStream(true).start();
            check.getInputStream().readAllBytes();
            if (check.waitFor() != 0) throw new DeviceUnavailableException("emulated device: python3 has no NumPy");
            process = new ProcessBuilder("python3", script.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        } catch (IOException | InterruptedException e) {
            throw new DeviceUnavailableException("emulated device: cannot start python3 (" + e + ")");
        }
        in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    private synchronized String call(String json) {
        try {
            in.write(json + "\n");
            in.flush();
            String reply = out.readLine();
            if (reply == null) throw new IllegalStateException("emulated device: the interpreter exited");
            if (!reply.contains("\"ok\": true")) {
                Matcher m = ERROR.matcher(reply);
                throw new IllegalStateException("emulated device: " + (m.find() ? m.group(1) : reply) + " for " + json.substring(0, Math.min(200, json.length())));
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

    @Override
    public void launch(String kernel, int[] grid, int[] block, int sharedBytes, KernelArgs args) {
        int colon = kernel.indexOf(':');
        StringBuilder sb = new StringBuilder("{\"op\": \"launch\", \"file\": \"").append(kernel, 0, colon)
                .append("\", \"entry\": \"").append(kernel.substring(colon + 1)).append("\", \"grid\": [").append(grid[0])
                .append("], \"block\": [").append(block[0]).append("], \"args\": [");
        byte[][] values = args.values();
        for (int i = 0; i < values.length; i++) sb.append(i == 0 ? "\"" : ", \"").append(HEX.formatHex(values[i])).append('"');
        call(sb.append("]}").toString());
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
