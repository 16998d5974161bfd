package org.rlhf4j.cli;

import java.io.PrintStream;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A progress bar on stderr with the latest key metrics, or nothing at all under --quiet. */
final class Progress implements AutoCloseable {
    private final ProgressBar bar; // null when quiet

    private Progress(ProgressBar bar) {
        this.bar = bar;
    }

    static Progress start(String task, long total, long done, boolean quiet, PrintStream err) {
        if (quiet) return new Progress(null);
        ProgressBar bar = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(total)
                .startsFrom(done, Duration.ZERO)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(250)
                .setSpeedUnit(ChronoUnit.SECONDS)
                .showSpeed()
                .setConsumer(new ConsoleProgressBarConsumer(err))
                .clearDisplayOnFinish()
                .build();
        return new Progress(bar);
    }

    void stepTo(long step, String metrics) {
        if (bar == null) return;
        bar.stepTo(step);
        bar.setExtraMessage(" " + metrics);
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }
}
