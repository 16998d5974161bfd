package org.rlhf4j.transformer.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Whole-file writes that a crash cannot leave half done: the bytes go to a temporary file next to the target
 * ({@code .<name>.<random>.tmp}, so readers that open the target by name never see it), are flushed to the
 * disk, and the temporary file is renamed over the target in one atomic step. On any failure the temporary file
 * is deleted and the target is untouched.
 */
final class AtomicFiles {
    private AtomicFiles() {}

    /** Fills the file through a channel positioned at 0; it may seek and write anywhere. */
    interface ChannelWriter {
        void write(FileChannel channel) throws IOException;
    }

    static void write(Path target, ChannelWriter writer) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path dir = absolute.getParent();
        if (dir == null) throw new IOException(target + ": has no parent directory");
        if (Files.isDirectory(absolute)) throw new IOException(target + ": is a directory");
        Path temp = createTemp(dir, absolute.getFileName().toString());
        boolean moved = false;
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                writer.write(channel);
                channel.force(true);
            }
            Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            moved = true;
        } finally {
            if (!moved) Files.deleteIfExists(temp);
        }
        syncDirectory(dir);
    }

    static void write(Path target, byte[] bytes) throws IOException {
        write(target, channel -> writeFully(channel, ByteBuffer.wrap(bytes)));
    }

    static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) channel.write(buffer);
    }

    static void writeFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        long p = position;
        while (buffer.hasRemaining()) p += channel.write(buffer, p);
    }

    /** True for the temporary names this class makes, so that directory listings can skip leftovers. */
    static boolean isTemporary(Path file) {
        String name = file.getFileName().toString();
        return name.startsWith(".") && name.endsWith(".tmp");
    }

    private static Path createTemp(Path dir, String name) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path temp = dir.resolve("." + name + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
            try {
                // CREATE_NEW with default permissions (not Files.createTempFile's owner-only ones): the renamed file
                // must be as readable as any other file the user writes
                FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
                return temp;
            } catch (FileAlreadyExistsException e) {
                if (attempt == 16) throw e;
            }
        }
    }

    /** Makes the rename itself durable; file systems that cannot open a directory (Windows) are skipped. */
    private static void syncDirectory(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // best effort: the data itself is already on disk
        }
    }
}
