package org.rlhf4j.tensor;

/**
 * A source of random tensors: a 64-bit seed and a 64-bit offset into the {@link Philox} streams of that seed.
 * Each random fill takes the current offset with {@link #nextOffset()}, which advances it by exactly one: the
 * fill's element index lives in Philox counter words 0-1 and the offset in words 2-3, so consecutive fills never
 * share a counter, whatever their sizes. A fill is therefore fully named by {@code (seed, offset)} and gives the
 * same numbers on every device and thread count.
 *
 * <p>Saving {@link #state()} with a checkpoint and restoring it with {@link #setState(State)} replays the same
 * numbers from that point on. All methods are thread-safe; fills that race on one generator get distinct
 * offsets, in whatever order the threads arrive.
 */
public final class Generator {
    /** System property that seeds {@link #defaultGenerator()}; decimal, or hexadecimal with a 0x prefix. */
    public static final String SEED_PROPERTY = "rlhf4j.seed";

    /** The seed of {@link #defaultGenerator()} when {@value #SEED_PROPERTY} is not set. */
    public static final long DEFAULT_SEED = 0L;

    /** A generator's whole state, for checkpoints. The offset is an unsigned 64-bit count of fills. */
    public record State(long seed, long offset) {}

    private static Generator defaultGenerator;

    private long seed;
    private long offset;

    /** A generator at offset 0 of {@code seed}. */
    public Generator(long seed) {
        this.seed = seed;
    }

    /**
     * The process-wide generator that random ops use when given none. It is created on first use, seeded from
     * {@code -Drlhf4j.seed} or with {@link #DEFAULT_SEED}, so that runs are reproducible unless a caller
     * chooses otherwise (as PyTorch's default generator starts from a fixed seed).
     *
     * @throws IllegalArgumentException if the property is set but is not a 64-bit integer
     */
    public static synchronized Generator defaultGenerator() {
        if (defaultGenerator == null) defaultGenerator = new Generator(parseSeed(System.getProperty(SEED_PROPERTY)));
        return defaultGenerator;
    }

    /** The seed a value of {@value #SEED_PROPERTY} names; {@link #DEFAULT_SEED} when null or blank. */
    static long parseSeed(String configured) {
        if (configured == null || configured.isBlank()) return DEFAULT_SEED;
        try {
            return Long.decode(configured.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(SEED_PROPERTY + " must be a 64-bit integer (decimal or 0x-hex), found '"
                    + configured + "'", e);
        }
    }

    public synchronized long seed() {
        return seed;
    }

    /** The offset the next fill will use. */
    public synchronized long offset() {
        return offset;
    }

    /** Returns the offset for one fill and advances past it. */
    public synchronized long nextOffset() {
        return offset++;
    }

    /** Restarts the streams of {@code seed} from offset 0. */
    public synchronized void manualSeed(long seed) {
        this.seed = seed;
        this.offset = 0;
    }

    public synchronized State state() {
        return new State(seed, offset);
    }

    public synchronized void setState(State state) {
        this.seed = state.seed();
        this.offset = state.offset();
    }

    @Override
    public synchronized String toString() {
        return "Generator[seed=" + seed + ", offset=" + Long.toUnsignedString(offset) + "]";
    }
}
