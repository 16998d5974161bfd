package org.rlhf4j.cli;

import java.io.PrintStream;

/** The output streams of the running command (System.out and System.err, or a test's). */
final class Streams {
    private static PrintStream out = System.out, err = System.err;

    private Streams() {}

    static synchronized void set(PrintStream o, PrintStream e) {
        out = o;
        err = e;
    }

    static synchronized void clear() {
        out = System.out;
        err = System.err;
    }

    static synchronized PrintStream out() {
        return out;
    }

    static synchronized PrintStream err() {
        return err;
    }
}
