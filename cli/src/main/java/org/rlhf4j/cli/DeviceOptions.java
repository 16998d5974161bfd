package org.rlhf4j.cli;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.rlhf4j.autograd.Precision;
import org.rlhf4j.tensor.Device;
import org.rlhf4j.tensor.DeviceUnavailableException;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * Where a command's models run and in what arithmetic: {@code --device cpu|cuda|cuda:N} and
 * {@code --precision f32|bf16}. A value that is not one of these is a usage error (exit 2); a CUDA device that this
 * machine or class path cannot provide is a failed run (exit 1), reported before any model or data is loaded and
 * before anything is written.
 */
final class DeviceOptions {
    private static final Pattern CUDA = Pattern.compile("cuda(?::(\\d{1,9}))?");

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "DEVICE",
            description = "cpu, cuda (= cuda:0) or cuda:N: a GPU with its driver and the CUDA 13 libraries, see the README"
                    + " (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--precision", defaultValue = "f32", paramLabel = "NAME",
            description = "f32, or bf16: matrix products and attention on BF16 copies, accumulated in F32, weights kept F32"
                    + " (default: ${DEFAULT-VALUE}).")
    String precision;

    private Device resolved;

    /** The precision asked for; a usage error unless f32 or bf16 (the names training_args.json records). */
    Precision precision(CommandSpec spec) {
        if (!precision.equals("f32") && !precision.equals("bf16")) {
            throw new ParameterException(spec.commandLine(), "--precision must be f32 or bf16, found '" + precision + "'");
        }
        return Precision.parse(precision);
    }

    /** Checks the syntax of both options (usage errors) without touching a device. */
    void check(CommandSpec spec) {
        precision(spec);
        if (!device.equals("cpu") && !CUDA.matcher(device).matches()) {
            throw new ParameterException(spec.commandLine(), "--device must be cpu, cuda or cuda:N, found '" + device + "'");
        }
    }

    /** Opens the device (once): the CPU, or the CUDA device, failing with the reason it cannot be used. */
    Device resolve(CommandSpec spec) {
        if (resolved != null) return resolved;
        check(spec);
        if (device.equals("cpu")) return resolved = Device.CPU;
        Matcher m = CUDA.matcher(device);
        m.matches();
        int index = m.group(1) == null ? 0 : Integer.parseInt(m.group(1));
        try {
            resolved = Device.cuda(index);
        } catch (DeviceUnavailableException e) {
            throw new CliException("--device " + device + ": " + e.getMessage(), e);
        } catch (RuntimeException | LinkageError | java.util.ServiceConfigurationError e) {
            // the backend was found but opening the device failed (a context, a library, a provider): the same for the user
            throw new CliException("--device " + device + ": cuda:" + index + " could not be opened ("
                    + e.getClass().getSimpleName() + ": " + e.getMessage() + ")", e);
        }
        return resolved;
    }

    /** The device {@link #resolve} opened. */
    Device device() {
        if (resolved == null) throw new IllegalStateException("DeviceOptions: resolve() first");
        return resolved;
    }
}
