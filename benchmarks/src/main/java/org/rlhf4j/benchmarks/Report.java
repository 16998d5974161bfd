package org.rlhf4j.benchmarks;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs the JMH benchmarks of this package and prints one markdown table per benchmark class: a row per
 * combination of {@code @Param}s, a rate column for rlhf4j and for each peer, and the ratio rlhf4j / peer.
 * Any benchmark class that implements {@link Reported} shows up without changes here.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar [options]
 *   --quick                 2 warm-up + 3 measured iterations of 0.5 s (default 3 + 5 of 1 s)
 *   --filter REGEX          benchmarks to run (JMH include regex; repeatable), default: all of this package
 *   --exclude REGEX         benchmarks to skip (repeatable), default: the EJML peer (.*\.ejml$)
 *   --all                   drop the default exclusion
 *   --best                  sample every call and report the fastest one instead of the mean throughput
 *   -p NAME=V1,V2           override a @Param, e.g. -p shape=1024x1024x1024 -p layout=NN
 *   --threads N             threads for rlhf4j and the peers (default: one per core)
 *   --forks N               JMH forks per benchmark (default 1)
 *   --rounds N              run everything N times, rlhf4j and its peers in alternating order, and report the
 *                           median over the rounds (default 1)
 *   --pair-by NAME          with --rounds, measure rlhf4j and its peers back to back for each value of the
 *                           {@code @Param} NAME given with -p (repeatable: each combination), instead of all
 *                           of rlhf4j and then all of the peers, so that a row's two numbers are minutes closer
 *   --json FILE             also write JMH's JSON results to FILE (with --rounds, one file per round and part:
 *                           FILE-r1-ours.json, FILE-r1-peers.json, ...; with --pair-by, FILE-r1-c1-ours.json, ...)
 * </pre>
 */
public final class Report {
    private Report() {}

    public static void main(String[] args) throws RunnerException {
        ChainedOptionsBuilder options = new OptionsBuilder();
        List<String> includes = new ArrayList<>();
        List<String> excludes = new ArrayList<>();
        boolean all = false;
        boolean quick = false;
        boolean best = false;
        int threads = 0;
        int rounds = 1;
        String json = null;
        Map<String, List<String>> overrides = new LinkedHashMap<>();
        List<String> pairBy = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--quick" -> quick = true;
                case "--all" -> all = true;
                case "--best" -> best = true;
                case "--filter" -> includes.add(value(args, ++i, arg));
                case "--exclude" -> excludes.add(value(args, ++i, arg));
                case "--threads" -> threads = Integer.parseInt(value(args, ++i, arg));
                case "--forks" -> options.forks(Integer.parseInt(value(args, ++i, arg)));
                case "--rounds" -> {
                    rounds = Integer.parseInt(value(args, ++i, arg));
                    if (rounds < 1) throw new IllegalArgumentException("--rounds must be >= 1, found " + rounds);
                }
                case "--json" -> json = value(args, ++i, arg);
                case "--pair-by" -> pairBy.add(value(args, ++i, arg));
                case "-p" -> {
                    String p = value(args, ++i, arg);
                    int eq = p.indexOf('=');
                    if (eq <= 0) throw new IllegalArgumentException("-p expects NAME=V1,V2, found " + p);
                    options.param(p.substring(0, eq), p.substring(eq + 1).split(","));
                    overrides.put(p.substring(0, eq), List.of(p.substring(eq + 1).split(",")));
                }
                case "-h", "--help" -> {
                    System.out.println("usage: Report [--quick] [--best] [--filter REGEX] [--exclude REGEX] [--all]"
                            + " [-p NAME=V1,V2] [--threads N] [--forks N] [--rounds N] [--pair-by NAME] [--json FILE]");
                    return;
                }
                default -> throw new IllegalArgumentException("unknown option " + arg + " (try --help)");
            }
        }
        for (String name : pairBy) {
            if (!overrides.containsKey(name)) {
                throw new IllegalArgumentException("--pair-by " + name + " needs the values as -p " + name + "=V1,V2");
            }
        }
        if (!pairBy.isEmpty() && rounds == 1) throw new IllegalArgumentException("--pair-by needs --rounds N >= 2");
        if (includes.isEmpty()) includes.add(Report.class.getPackageName() + "\\..*");
        if (excludes.isEmpty() && !all) excludes.add(".*\\.ejml$");
        includes.forEach(options::include);
        excludes.forEach(options::exclude);
        if (threads > 0) options.param("threads", Integer.toString(threads));
        if (quick) {
            options.warmupIterations(2).warmupTime(TimeValue.milliseconds(500))
                    .measurementIterations(3).measurementTime(TimeValue.milliseconds(500));
        }
        if (best) options.mode(Mode.SampleTime).timeUnit(TimeUnit.MICROSECONDS);
        String loadBefore = loadAverage();
        List<RunResult> results = new ArrayList<>();
        if (rounds == 1) {
            if (json != null) options.resultFormat(ResultFormatType.JSON).result(json);
            results.addAll(new Runner(options.build()).run());
        } else {
            // Other tenants of the machine make its speed drift over minutes, and every forked JVM draws its own
            // memory placement: measuring all of rlhf4j and then all of a peer would compare different machines.
            // So each round runs both, in the opposite order to the round before, and each number is a median.
            // With --pair-by, each round goes through the combinations one by one, both sides of each back to back.
            List<Map<String, String>> combinations = combinations(pairBy, overrides);
            for (int round = 0; round < rounds; round++) {
                boolean oursFirst = round % 2 == 0;
                for (int c = 0; c < combinations.size(); c++) {
                    ChainedOptionsBuilder combination = new OptionsBuilder().parent(options.build());
                    combinations.get(c).forEach(combination::param);
                    String tag = combinations.size() == 1 ? "" : "-c" + (c + 1);
                    results.addAll(runPart(combination, oursFirst, jsonOfPart(json, round, tag, oursFirst)));
                    results.addAll(runPart(combination, !oursFirst, jsonOfPart(json, round, tag, !oursFirst)));
                }
            }
        }
        System.out.println();
        if (rounds > 1) System.out.println("Each number is the median of " + rounds + " rounds.");
        System.out.print(markdown(results, best));
        // Other processes on the machine lower every number, and the peers' thread pools suffer most.
        System.out.println("Load average (1 min) before the run: " + loadBefore + ", after: " + loadAverage());
    }

    /** Every combination of the values of the named parameters (one empty combination for no names). */
    static List<Map<String, String>> combinations(List<String> names, Map<String, List<String>> values) {
        List<Map<String, String>> out = new ArrayList<>();
        out.add(new LinkedHashMap<>());
        for (String name : names) {
            List<Map<String, String>> next = new ArrayList<>();
            for (Map<String, String> partial : out) {
                for (String value : values.get(name)) {
                    Map<String, String> extended = new LinkedHashMap<>(partial);
                    extended.put(name, value);
                    next.add(extended);
                }
            }
            out = next;
        }
        return out;
    }

    /**
     * With --rounds, each part of each round writes its own JSON file: {@code x.json} becomes
     * {@code x-r1-ours.json}, or {@code x-r1-c2-ours.json} for the second --pair-by combination.
     */
    private static String jsonOfPart(String json, int round, String tag, boolean ours) {
        if (json == null) return null;
        int dot = json.lastIndexOf('.');
        String stem = dot > json.lastIndexOf('/') ? json.substring(0, dot) : json;
        String ext = dot > json.lastIndexOf('/') ? json.substring(dot) : "";
        return stem + "-r" + (round + 1) + tag + (ours ? "-ours" : "-peers") + ext;
    }

    /** Runs only the rlhf4j methods ({@code ours}) or only their peers; nothing if none matches. */
    private static Collection<RunResult> runPart(ChainedOptionsBuilder options, boolean ours, String json)
            throws RunnerException {
        ChainedOptionsBuilder part = new OptionsBuilder().parent(options.build());
        if (json != null) part.resultFormat(ResultFormatType.JSON).result(json);
        // JMH's excludes are regular expressions over Class.method; a benchmark is skipped if any matches.
        part.exclude(ours ? ".*\\.(?!rlhf4j$)[^.]+$" : ".*\\.rlhf4j$");
        try {
            return new Runner(part.build()).run();
        } catch (RunnerException e) {
            if (e.getMessage() != null && e.getMessage().contains("No matching benchmarks")) return List.of();
            throw e;
        }
    }

    /**
     * Calls per second: JMH's mean throughput, or with {@code best} the fastest sampled call, which is what
     * the code does when nothing else competes for the cores.
     */
    private static double opsPerSecond(RunResult result, boolean best) {
        var primary = result.getPrimaryResult();
        String unit = primary.getScoreUnit();
        if (!best) {
            if (!unit.equals("ops/s")) throw new IllegalStateException("expected ops/s, found " + unit);
            return primary.getScore();
        }
        if (!unit.equals("us/op")) throw new IllegalStateException("expected us/op, found " + unit);
        return 1e6 / primary.getStatistics().getMin();
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) throw new IllegalArgumentException(option + " needs a value");
        return args[i];
    }

    /** One table per benchmark class, rows keyed by the {@code @Param} values other than threads. */
    static String markdown(Collection<RunResult> results, boolean best) {
        // class -> row key -> method -> scores (ops/s), one per round
        Map<String, Map<String, Map<String, List<Double>>>> samples = new LinkedHashMap<>();
        Map<String, Map<String, Map<String, String>>> rowParams = new LinkedHashMap<>();
        Map<String, String> threadsByClass = new LinkedHashMap<>();
        for (RunResult result : results) {
            BenchmarkParams params = result.getParams();
            String benchmark = params.getBenchmark();
            int dot = benchmark.lastIndexOf('.');
            String className = benchmark.substring(0, dot);
            String method = benchmark.substring(dot + 1);
            Map<String, String> values = new LinkedHashMap<>();
            List<String> keys = new ArrayList<>(paramOrder(className));
            for (String key : params.getParamsKeys()) if (!keys.contains(key)) keys.add(key);
            for (String key : keys) if (params.getParam(key) != null) values.put(key, params.getParam(key));
            String threads = values.remove("threads");
            if (threads != null) threadsByClass.put(className, threads);
            String row = String.join(" | ", values.values());
            samples.computeIfAbsent(className, x -> new LinkedHashMap<>())
                    .computeIfAbsent(row, x -> new LinkedHashMap<>())
                    .computeIfAbsent(method, x -> new ArrayList<>())
                    .add(opsPerSecond(result, best));
            rowParams.computeIfAbsent(className, x -> new LinkedHashMap<>()).put(row, values);
        }
        // class -> row key -> method -> median score (ops/s)
        Map<String, Map<String, Map<String, Double>>> tables = new LinkedHashMap<>();
        samples.forEach((className, rowsOfClass) -> rowsOfClass.forEach((row, methods) -> methods.forEach(
                (method, scores) -> tables.computeIfAbsent(className, x -> new LinkedHashMap<>())
                        .computeIfAbsent(row, x -> new LinkedHashMap<>()).put(method, median(scores)))));
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "Machine: %d cores, %s %s, Java %s%n%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("os.name"),
                System.getProperty("os.arch"), System.getProperty("java.version")));
        for (var table : tables.entrySet()) {
            String className = table.getKey();
            Reported reported = reportedOf(className);
            String unit = reported == null ? "ops/s" : reported.unit();
            String ours = reported == null ? "rlhf4j" : reported.ours();
            List<String> methods = new ArrayList<>();
            for (var row : table.getValue().values()) {
                for (String method : row.keySet()) if (!methods.contains(method)) methods.add(method);
            }
            methods.sort((x, y) -> x.equals(ours) ? -1 : y.equals(ours) ? 1 : 0);
            List<String> peers = methods.stream().filter(x -> !x.equals(ours)).toList();
            Map<String, String> firstParams = rowParams.get(className).values().iterator().next();

            String simpleName = className.substring(className.lastIndexOf('.') + 1);
            String threads = threadsByClass.get(className);
            out.append("### ").append(simpleName).append(" (").append(unit)
                    .append(best ? " of the fastest call" : " from mean throughput").append(", higher is better")
                    .append(threads == null ? "" : ", threads " + ("0".equals(threads) ? "= cores" : threads))
                    .append(")\n\n|");
            for (String key : firstParams.keySet()) out.append(' ').append(key).append(" |");
            for (String method : methods) out.append(' ').append(method).append(' ').append(unit).append(" |");
            if (methods.contains(ours)) for (String peer : peers) out.append(' ').append(ours).append(" / ").append(peer).append(" |");
            out.append("\n|");
            int columns = firstParams.size() + methods.size() + (methods.contains(ours) ? peers.size() : 0);
            out.append(" --- |".repeat(columns)).append('\n');
            List<Map.Entry<String, Map<String, Double>>> rows = new ArrayList<>(table.getValue().entrySet());
            Map<String, List<String>> declared = declaredValues(className);
            rows.sort((x, y) -> {
                Map<String, String> px = rowParams.get(className).get(x.getKey());
                Map<String, String> py = rowParams.get(className).get(y.getKey());
                for (String key : px.keySet()) {
                    List<String> order = declared.getOrDefault(key, List.of());
                    int cmp = Integer.compare(order.indexOf(px.get(key)), order.indexOf(py.get(key)));
                    if (cmp != 0) return cmp;
                }
                return 0;
            });
            for (var row : rows) {
                Map<String, String> params = rowParams.get(className).get(row.getKey());
                double work = reported == null ? 1.0 : reported.workPerOp(params);
                out.append("| ").append(row.getKey()).append(" |");
                for (String method : methods) {
                    Double score = row.getValue().get(method);
                    out.append(score == null ? " - |" : String.format(Locale.ROOT, " %.1f |", score * work));
                }
                Double mine = row.getValue().get(ours);
                if (methods.contains(ours)) {
                    for (String peer : peers) {
                        Double theirs = row.getValue().get(peer);
                        out.append(mine == null || theirs == null ? " - |"
                                : String.format(Locale.ROOT, " %.2f |", mine / theirs));
                    }
                }
                out.append('\n');
            }
            out.append('\n');
        }
        return out.toString();
    }

    /** The middle value, or the mean of the two middle values of an even count. */
    static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        sorted.sort(null);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    /** Each {@code @Param}'s values as declared, so rows come out in the order the class lists them. */
    private static Map<String, List<String>> declaredValues(String className) {
        Map<String, List<String>> values = new LinkedHashMap<>();
        try {
            for (Field field : Class.forName(className).getDeclaredFields()) {
                Param param = field.getAnnotation(Param.class);
                if (param != null) values.put(field.getName(), List.of(param.value()));
            }
        } catch (ClassNotFoundException | LinkageError e) {
            // Keep JMH's order.
        }
        return values;
    }

    /** The class's {@code @Param} fields in declaration order (JMH itself sorts them by name). */
    private static List<String> paramOrder(String className) {
        List<String> names = new ArrayList<>();
        try {
            for (Field field : Class.forName(className).getDeclaredFields()) {
                if (field.isAnnotationPresent(Param.class)) names.add(field.getName());
            }
        } catch (ClassNotFoundException | LinkageError e) {
            // Fall back to JMH's order.
        }
        return names;
    }

    private static Reported reportedOf(String className) {
        try {
            Object instance = Class.forName(className).getDeclaredConstructor().newInstance();
            return instance instanceof Reported r ? r : null;
        } catch (ReflectiveOperationException | LinkageError e) {
            return null;
        }
    }
}
