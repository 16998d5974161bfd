package org.rlhf4j.tensor;

import java.util.Arrays;
import org.rlhf4j.tensor.cpu.CpuStorage;

/**
 * An n-dimensional array: a {@link Storage} seen through a shape, strides and an offset. Views (reshape,
 * permute, transpose, narrow, expand, squeeze, unsqueeze) share storage; {@link #contiguous()} copies only when
 * needed. Every op checks its inputs first and fails with a message naming the op, what it expected and what it
 * found, before anything is written; then it runs on the tensor's device's {@link Backend}.
 *
 * <p>Shapes are written {@code [B, T, C]} in comments. Axes may be negative, counting from the last.
 * Operands of an elementwise op broadcast as in NumPy and must share dtype and device; nothing is promoted
 * implicitly.
 */
public final class Tensor {
    private final Storage storage;
    private final int[] shape;
    private final int[] strides;
    private final int offset;

    private Tensor(Storage storage, int[] shape, int[] strides, int offset) {
        this.storage = storage;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
    }

    // =====================================================================================================
    // creation
    // =====================================================================================================

    /** A new tensor with unspecified contents on {@code device}. */
    public static Tensor empty(DType dtype, Device device, int... shape) {
        int[] s = shape.clone();
        int n = Shapes.numel(s);
        Storage storage = Backends.forDevice(device).allocate(dtype, n);
        return new Tensor(storage, s, Shapes.contiguousStrides(s), 0);
    }

    /** A new CPU tensor with unspecified contents. */
    public static Tensor empty(DType dtype, int... shape) {
        return empty(dtype, Device.CPU, shape);
    }

    public static Tensor zeros(DType dtype, Device device, int... shape) {
        return full(0, dtype, device, shape);
    }

    public static Tensor zeros(DType dtype, int... shape) {
        return full(0, dtype, Device.CPU, shape);
    }

    /** F32 zeros on the CPU. */
    public static Tensor zeros(int... shape) {
        return zeros(DType.F32, shape);
    }

    public static Tensor ones(DType dtype, int... shape) {
        return full(1, dtype, Device.CPU, shape);
    }

    /** F32 ones on the CPU. */
    public static Tensor ones(int... shape) {
        return ones(DType.F32, shape);
    }

    public static Tensor full(double value, DType dtype, Device device, int... shape) {
        Tensor t = empty(dtype, device, shape);
        t.backend().fill(t, value);
        return t;
    }

    public static Tensor full(double value, DType dtype, int... shape) {
        return full(value, dtype, Device.CPU, shape);
    }

    /** A 0-d tensor. */
    public static Tensor scalar(double value, DType dtype) {
        return full(value, dtype, Device.CPU);
    }

    /** A 0-d F32 tensor. */
    public static Tensor scalar(double value) {
        return scalar(value, DType.F32);
    }

    /** {@code [start, start + step, ...]} up to but excluding {@code end}, as in NumPy. */
    public static Tensor arange(double start, double end, double step, DType dtype) {
        if (step == 0 || Double.isNaN(step)) throw new IllegalArgumentException("arange: step must be non-zero, found " + step);
        long n = (long) Math.max(0, Math.ceil((end - start) / step));
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("arange: " + n + " elements is too many");
        Tensor t = empty(dtype, (int) n);
        CpuStorage s = (CpuStorage) t.storage;
        for (int i = 0; i < n; i++) {
            double v = start + i * step;
            switch (dtype) {
                case F32: s.floats()[i] = (float) v; break;
                case F64: s.doubles()[i] = v; break;
                case BF16: s.bf16()[i] = BFloat16.fromFloat((float) v); break;
                default: s.ints()[i] = (int) v; break;
            }
        }
        return t;
    }

    /** {@code [0, 1, ..., end - 1]}. */
    public static Tensor arange(int end, DType dtype) {
        return arange(0, end, 1, dtype);
    }

    private static void checkData(String op, int length, int[] shape) {
        int n = Shapes.numel(shape);
        if (n != length) {
            throw new IllegalArgumentException(op + ": " + length + " values do not fill shape "
                    + Shapes.str(shape) + " (" + n + " elements)");
        }
    }

    /** An F32 tensor holding a copy of {@code data}, row-major. With no shape, a 1-d tensor. */
    public static Tensor of(float[] data, int... shape) {
        int[] s = shape.length == 0 ? new int[] {data.length} : shape.clone();
        checkData("of", data.length, s);
        return new Tensor(CpuStorage.wrap(data.clone()), s, Shapes.contiguousStrides(s), 0);
    }

    /** An F64 tensor holding a copy of {@code data}, row-major. With no shape, a 1-d tensor. */
    public static Tensor of(double[] data, int... shape) {
        int[] s = shape.length == 0 ? new int[] {data.length} : shape.clone();
        checkData("of", data.length, s);
        return new Tensor(CpuStorage.wrap(data.clone()), s, Shapes.contiguousStrides(s), 0);
    }

    /** An I32 tensor holding a copy of {@code data}, row-major. With no shape, a 1-d tensor. */
    public static Tensor ofInts(int[] data, int... shape) {
        int[] s = shape.length == 0 ? new int[] {data.length} : shape.clone();
        checkData("ofInts", data.length, s);
        return new Tensor(CpuStorage.wrap(data.clone()), s, Shapes.contiguousStrides(s), 0);
    }

    /** An F32 tensor over {@code data} without copying: writes through the tensor show in the array. */
    public static Tensor wrap(float[] data, int... shape) {
        int[] s = shape.length == 0 ? new int[] {data.length} : shape.clone();
        checkData("wrap", data.length, s);
        return new Tensor(CpuStorage.wrap(data), s, Shapes.contiguousStrides(s), 0);
    }

    /** An F64 tensor over {@code data} without copying. */
    public static Tensor wrap(double[] data, int... shape) {
        int[] s = shape.length == 0 ? new int[] {data.length} : shape.clone();
        checkData("wrap", data.length, s);
        return new Tensor(CpuStorage.wrap(data), s, Shapes.contiguousStrides(s), 0);
    }

    /** Uniform numbers in [0, 1) from the Philox stream of {@code generator}. */
    public static Tensor rand(Generator generator, DType dtype, int... shape) {
        return empty(dtype, shape).fillUniform(generator, 0, 1);
    }

    /** Standard normal numbers from the Philox stream of {@code generator}. */
    public static Tensor randn(Generator generator, DType dtype, int... shape) {
        return empty(dtype, shape).fillNormal(generator, 0, 1);
    }

    /** Fills this tensor, in place, with uniform numbers in [lo, hi); returns this. */
    public Tensor fillUniform(Generator generator, double lo, double hi) {
        requireFloat("fillUniform");
        if (!(lo <= hi)) throw new IllegalArgumentException("fillUniform: lo " + lo + " > hi " + hi);
        backend().uniform(this, generator.seed(), generator.nextOffset(), lo, hi);
        return this;
    }

    /** Fills this tensor, in place, with normal numbers of the given mean and standard deviation; returns this. */
    public Tensor fillNormal(Generator generator, double mean, double std) {
        requireFloat("fillNormal");
        if (!(std >= 0)) throw new IllegalArgumentException("fillNormal: std must be >= 0, found " + std);
        backend().normal(this, generator.seed(), generator.nextOffset(), mean, std);
        return this;
    }

    public static Tensor zerosLike(Tensor t) {
        return zeros(t.dtype(), t.device(), t.shape);
    }

    public static Tensor onesLike(Tensor t) {
        return full(1, t.dtype(), t.device(), t.shape);
    }

    public static Tensor emptyLike(Tensor t) {
        return empty(t.dtype(), t.device(), t.shape);
    }

    // =====================================================================================================
    // properties
    // =====================================================================================================

    public Storage storage() {
        return storage;
    }

    public DType dtype() {
        return storage.dtype();
    }

    public Device device() {
        return storage.device();
    }

    public Backend backend() {
        return Backends.forDevice(storage.device());
    }

    /** A copy of the shape. */
    public int[] shape() {
        return shape.clone();
    }

    /** A copy of the strides, in elements. */
    public int[] strides() {
        return strides.clone();
    }

    /** Size of dimension {@code d} (negative counts from the last). */
    public int size(int d) {
        return shape[Shapes.axis("size", d, shape.length)];
    }

    /** Stride of dimension {@code d}, in elements. */
    public int stride(int d) {
        return strides[Shapes.axis("stride", d, shape.length)];
    }

    /** Offset of the first element in the storage, in elements. */
    public int offset() {
        return offset;
    }

    /** Rank. */
    public int dim() {
        return shape.length;
    }

    public int numel() {
        int n = 1;
        for (int s : shape) n *= s;
        return n;
    }

    /** True when the elements lie in row-major order with no gaps (size-1 dimensions' strides ignored). */
    public boolean isContiguous() {
        int expected = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] == 0) return true;
            if (shape[d] != 1) {
                if (strides[d] != expected) return false;
                expected *= shape[d];
            }
        }
        return true;
    }

    // =====================================================================================================
    // views
    // =====================================================================================================

    /**
     * This tensor's geometry (shape, strides, offset) over another storage of the same dtype and at least its size:
     * for a backend that hands its storage's contents to another backend under that one's device.
     */
    public Tensor withStorage(Storage other) {
        if (other.dtype() != dtype() || other.size() != storage.size()) {
            throw new IllegalArgumentException("withStorage: expected a " + dtype() + " storage of " + storage.size()
                    + " elements, found " + other.dtype() + " of " + other.size());
        }
        return new Tensor(other, shape, strides, offset);
    }

    /**
     * A view with explicit geometry over the same storage. Checks that every element it can reach lies inside
     * the storage.
     */
    public Tensor asStrided(int[] newShape, int[] newStrides, int newOffset) {
        if (newShape.length != newStrides.length) {
            throw new IllegalArgumentException("asStrided: shape " + Shapes.str(newShape) + " and strides "
                    + Shapes.str(newStrides) + " differ in rank");
        }
        long lo = newOffset, hi = newOffset;
        boolean empty = false;
        for (int d = 0; d < newShape.length; d++) {
            if (newShape[d] < 0) throw new IllegalArgumentException("asStrided: negative size in " + Shapes.str(newShape));
            if (newShape[d] == 0) empty = true;
            long reach = (long) (newShape[d] - 1) * newStrides[d];
            if (reach < 0) lo += reach; else hi += reach;
        }
        if (!empty && (lo < 0 || hi >= storage.size())) {
            throw new IllegalArgumentException("asStrided: shape " + Shapes.str(newShape) + ", strides "
                    + Shapes.str(newStrides) + ", offset " + newOffset + " reach outside a storage of "
                    + storage.size() + " elements");
        }
        return new Tensor(storage, newShape.clone(), newStrides.clone(), newOffset);
    }

    private int[] inferShape(String op, int[] newShape) {
        int[] s = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int d = 0; d < s.length; d++) {
            if (s[d] == -1) {
                if (infer >= 0) throw new IllegalArgumentException(op + ": only one dimension can be -1, found " + Shapes.str(newShape));
                infer = d;
            } else if (s[d] < 0) {
                throw new IllegalArgumentException(op + ": invalid size " + s[d] + " in " + Shapes.str(newShape));
            } else {
                known *= s[d];
            }
        }
        int n = numel();
        if (infer >= 0) {
            if (known == 0 || n % known != 0) {
                throw new IllegalArgumentException(op + ": cannot reshape " + Shapes.str(shape) + " (" + n
                        + " elements) into " + Shapes.str(newShape));
            }
            s[infer] = (int) (n / known);
        } else if (known != n) {
            throw new IllegalArgumentException(op + ": cannot reshape " + Shapes.str(shape) + " (" + n
                    + " elements) into " + Shapes.str(newShape) + " (" + known + " elements)");
        }
        return s;
    }

    /** Strides that let this tensor be seen as {@code newShape} without copying, or null when none exist. */
    private int[] viewStrides(int[] newShape) {
        int[] newStrides = new int[newShape.length];
        if (numel() == 0 || shape.length == 0) return Shapes.contiguousStrides(newShape);
        int viewD = newShape.length - 1;
        long chunkBaseStride = strides[shape.length - 1];
        long tensorNumel = 1, viewNumel = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            tensorNumel *= shape[d];
            // a chunk of dimensions that are laid out contiguously with respect to each other ends here
            if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensorNumel * chunkBaseStride)) {
                while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] == 1)) {
                    newStrides[viewD] = (int) (viewNumel * chunkBaseStride);
                    viewNumel *= newShape[viewD];
                    viewD--;
                }
                if (viewNumel != tensorNumel) return null;
                if (d > 0) {
                    chunkBaseStride = strides[d - 1];
                    tensorNumel = 1;
                    viewNumel = 1;
                }
            }
        }
        return viewD == -1 ? newStrides : null;
    }

    /** A view with the new shape (one entry may be -1); fails when the layout cannot be seen that way. */
    public Tensor view(int... newShape) {
        int[] s = inferShape("view", newShape);
        int[] st = viewStrides(s);
        if (st == null) {
            throw new IllegalArgumentException("view: a tensor of shape " + Shapes.str(shape) + " and strides "
                    + Shapes.str(strides) + " cannot be viewed as " + Shapes.str(s) + "; use reshape (which copies)");
        }
        return new Tensor(storage, s, st, offset);
    }

    /** The same elements in a new shape (one entry may be -1): a view when possible, otherwise a copy. */
    public Tensor reshape(int... newShape) {
        int[] s = inferShape("reshape", newShape);
        int[] st = viewStrides(s);
        if (st != null) return new Tensor(storage, s, st, offset);
        return contiguousCopy().view(s);
    }

    /** All elements as a 1-d tensor (a view when possible). */
    public Tensor flatten() {
        return reshape(-1);
    }

    /** Reorders the dimensions: dimension i of the result is dimension {@code order[i]} of this. */
    public Tensor permute(int... order) {
        if (order.length != shape.length) {
            throw new IllegalArgumentException("permute: order " + Shapes.str(order) + " has " + order.length
                    + " axes, the tensor has rank " + shape.length);
        }
        int[] s = new int[order.length], st = new int[order.length];
        boolean[] seen = new boolean[order.length];
        for (int i = 0; i < order.length; i++) {
            int a = Shapes.axis("permute", order[i], shape.length);
            if (seen[a]) throw new IllegalArgumentException("permute: axis " + a + " repeats in " + Shapes.str(order));
            seen[a] = true;
            s[i] = shape[a];
            st[i] = strides[a];
        }
        return new Tensor(storage, s, st, offset);
    }

    /** Swaps two dimensions (a view). */
    public Tensor transpose(int d0, int d1) {
        int a = Shapes.axis("transpose", d0, shape.length), b = Shapes.axis("transpose", d1, shape.length);
        int[] s = shape.clone(), st = strides.clone();
        s[a] = shape[b];
        s[b] = shape[a];
        st[a] = strides[b];
        st[b] = strides[a];
        return new Tensor(storage, s, st, offset);
    }

    /** The transpose of a matrix (a view). */
    public Tensor t() {
        if (shape.length != 2) throw new IllegalArgumentException("t: expected a 2-d tensor, found shape " + Shapes.str(shape));
        return transpose(0, 1);
    }

    /** Elements {@code [start, start + length)} along dimension d (a view). */
    public Tensor narrow(int d, int start, int length) {
        int a = Shapes.axis("narrow", d, shape.length);
        if (start < 0 || length < 0 || (long) start + length > shape[a]) {
            throw new IllegalArgumentException("narrow: range [" + start + ", " + ((long) start + length)
                    + ") is outside dimension " + a + " of size " + shape[a] + " (shape " + Shapes.str(shape) + ")");
        }
        int[] s = shape.clone();
        s[a] = length;
        return new Tensor(storage, s, strides.clone(), length == 0 ? offset : offset + start * strides[a]);
    }

    /** Elements {@code start, start + step, ...} below {@code end} along dimension d (a view); step > 0. */
    public Tensor slice(int d, int start, int end, int step) {
        int a = Shapes.axis("slice", d, shape.length);
        if (step <= 0) throw new IllegalArgumentException("slice: step must be > 0, found " + step);
        int n = shape[a];
        int lo = Math.max(0, Math.min(n, start < 0 ? start + n : start));
        int hi = Math.max(lo, Math.min(n, end < 0 ? end + n : end));
        int count = (hi - lo + step - 1) / step;
        int[] s = shape.clone(), st = strides.clone();
        s[a] = count;
        st[a] = strides[a] * step;
        return new Tensor(storage, s, st, count == 0 ? offset : offset + lo * strides[a]);
    }

    /** Elements {@code [start, end)} along dimension d; negative bounds count from the end, as in Python. */
    public Tensor slice(int d, int start, int end) {
        return slice(d, start, end, 1);
    }

    /** The slice at {@code index} along dimension d, with that dimension removed (a view). */
    public Tensor select(int d, int index) {
        int a = Shapes.axis("select", d, shape.length);
        int i = index < 0 ? index + shape[a] : index;
        if (i < 0 || i >= shape[a]) {
            throw new IllegalArgumentException("select: index " + index + " is out of range for dimension " + a
                    + " of size " + shape[a]);
        }
        return narrow(a, i, 1).squeeze(a);
    }

    /**
     * Broadcasts to {@code newShape} (a view with zero strides along expanded dimensions). New leading
     * dimensions may be added; -1 keeps a size.
     */
    public Tensor expand(int... newShape) {
        if (newShape.length < shape.length) {
            throw new IllegalArgumentException("expand: cannot expand shape " + Shapes.str(shape) + " to fewer dimensions "
                    + Shapes.str(newShape));
        }
        int lead = newShape.length - shape.length;
        int[] s = new int[newShape.length], st = new int[newShape.length];
        for (int d = 0; d < newShape.length; d++) {
            int want = newShape[d];
            if (d < lead) {
                if (want < 0) throw new IllegalArgumentException("expand: size -1 is not allowed for a new dimension " + d);
                s[d] = want;
                st[d] = 0;
                continue;
            }
            int have = shape[d - lead];
            if (want == -1 || want == have) {
                s[d] = have;
                st[d] = strides[d - lead];
            } else if (have == 1) {
                if (want < 0) throw new IllegalArgumentException("expand: invalid size " + want);
                s[d] = want;
                st[d] = 0;
            } else {
                throw new IllegalArgumentException("expand: cannot expand shape " + Shapes.str(shape) + " to "
                        + Shapes.str(newShape) + ": dimension " + d + " is " + have + ", not 1");
            }
        }
        return new Tensor(storage, s, st, offset);
    }

    /** Removes dimension d, which must have size 1 (a view). */
    public Tensor squeeze(int d) {
        int a = Shapes.axis("squeeze", d, shape.length);
        if (shape[a] != 1) {
            throw new IllegalArgumentException("squeeze: dimension " + a + " has size " + shape[a] + ", not 1 (shape "
                    + Shapes.str(shape) + ")");
        }
        int[] s = new int[shape.length - 1], st = new int[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) {
            if (i == a) continue;
            s[j] = shape[i];
            st[j++] = strides[i];
        }
        return new Tensor(storage, s, st, offset);
    }

    /** Removes every dimension of size 1 (a view). */
    public Tensor squeeze() {
        int n = 0;
        for (int v : shape) if (v != 1) n++;
        int[] s = new int[n], st = new int[n];
        for (int i = 0, j = 0; i < shape.length; i++) {
            if (shape[i] == 1) continue;
            s[j] = shape[i];
            st[j++] = strides[i];
        }
        return new Tensor(storage, s, st, offset);
    }

    /** Inserts a dimension of size 1 at position d, in [-(rank+1), rank] (a view). */
    public Tensor unsqueeze(int d) {
        int a = Shapes.axis("unsqueeze", d, shape.length + 1);
        int[] s = new int[shape.length + 1], st = new int[shape.length + 1];
        for (int i = 0, j = 0; i < s.length; i++) {
            if (i == a) {
                s[i] = 1;
                st[i] = a < shape.length ? strides[a] * shape[a] : 1;
            } else {
                s[i] = shape[j];
                st[i] = strides[j++];
            }
        }
        return new Tensor(storage, s, st, offset);
    }

    /** This tensor when its elements already lie in row-major order, otherwise a row-major copy. */
    public Tensor contiguous() {
        return isContiguous() ? this : contiguousCopy();
    }

    private Tensor contiguousCopy() {
        Tensor out = empty(dtype(), device(), shape);
        backend().copy(out, this);
        return out;
    }

    /** A fresh copy with its own storage. */
    public Tensor copy() {
        return contiguousCopy();
    }

    /** This tensor converted to {@code dtype} (this tensor itself when it already has it). */
    public Tensor to(DType dtype) {
        if (dtype == dtype()) return this;
        Tensor out = empty(dtype, device(), shape);
        backend().copy(out, this);
        return out;
    }

    /** This tensor on {@code device} (this tensor itself when it is already there). */
    public Tensor to(Device device) {
        if (device.equals(device())) return this;
        Tensor out = empty(dtype(), device, shape);
        if (device.isCpu()) backend().copyToHost(out, this);
        else out.backend().copyFromHost(out, this.device().isCpu() ? this : this.to(Device.CPU));
        return out;
    }

    // =====================================================================================================
    // element access (CPU)
    // =====================================================================================================

    private int elementOffset(String op, int[] index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException(op + ": " + index.length + " indices for a tensor of rank " + shape.length);
        }
        int o = offset;
        for (int d = 0; d < index.length; d++) {
            int i = index[d];
            if (i < 0 || i >= shape[d]) {
                throw new IndexOutOfBoundsException(op + ": index " + i + " is out of range for dimension " + d
                        + " of size " + shape[d]);
            }
            o += i * strides[d];
        }
        return o;
    }

    private CpuStorage host(String op) {
        if (!device().isCpu()) {
            throw new IllegalStateException(op + ": element access needs a CPU tensor, this one is on " + device()
                    + "; call to(Device.CPU) first");
        }
        return (CpuStorage) storage;
    }

    /** One element, as a double. */
    public double get(int... index) {
        CpuStorage s = host("get");
        int o = elementOffset("get", index);
        switch (dtype()) {
            case F32: return s.floats()[o];
            case F64: return s.doubles()[o];
            case BF16: return BFloat16.toFloat(s.bf16()[o]);
            default: return s.ints()[o];
        }
    }

    /** Sets one element (I32 tensors take the value truncated toward zero). */
    public void set(double value, int... index) {
        CpuStorage s = host("set");
        int o = elementOffset("set", index);
        switch (dtype()) {
            case F32: s.floats()[o] = (float) value; break;
            case F64: s.doubles()[o] = value; break;
            case BF16: s.bf16()[o] = BFloat16.fromFloat((float) value); break;
            default: s.ints()[o] = (int) value; break;
        }
    }

    /** The only element of a one-element tensor. */
    public double item() {
        if (numel() != 1) throw new IllegalStateException("item: tensor of shape " + Shapes.str(shape) + " has " + numel() + " elements, not 1");
        Tensor c = device().isCpu() ? this : to(Device.CPU);
        return c.get(new int[c.dim()]);
    }

    /** The elements in row-major order, as floats. */
    public float[] toFloatArray() {
        Tensor c = to(Device.CPU).to(DType.F32).contiguous();
        float[] all = ((CpuStorage) c.storage).floats();
        return Arrays.copyOfRange(all, c.offset, c.offset + c.numel());
    }

    /** The elements in row-major order, as doubles. */
    public double[] toDoubleArray() {
        Tensor c = to(Device.CPU).to(DType.F64).contiguous();
        double[] all = ((CpuStorage) c.storage).doubles();
        return Arrays.copyOfRange(all, c.offset, c.offset + c.numel());
    }

    /** The elements in row-major order, as ints (floats truncated toward zero). */
    public int[] toIntArray() {
        Tensor c = to(Device.CPU).to(DType.I32).contiguous();
        int[] all = ((CpuStorage) c.storage).ints();
        return Arrays.copyOfRange(all, c.offset, c.offset + c.numel());
    }

    // =====================================================================================================
    // checks
    // =====================================================================================================

    private void requireFloat(String op) {
        if (!dtype().isFloatingPoint()) {
            throw new IllegalArgumentException(op + ": expected an F32 or F64 tensor, found " + dtype());
        }
    }

    private void requireCompatible(String op, Tensor other) {
        if (other.dtype() != dtype()) {
            throw new IllegalArgumentException(op + ": dtypes " + dtype() + " and " + other.dtype() + " differ");
        }
        if (!other.device().equals(device())) {
            throw new IllegalArgumentException(op + ": devices " + device() + " and " + other.device() + " differ");
        }
    }

    private static void requireIndex(String op, Tensor index, Device device) {
        if (index.dtype() != DType.I32) {
            throw new IllegalArgumentException(op + ": index must be I32, found " + index.dtype());
        }
        if (!index.device().equals(device)) {
            throw new IllegalArgumentException(op + ": index is on " + index.device() + ", the tensor on " + device);
        }
    }

    /** Fails when any index lies outside [0, bound) (checked on the CPU before anything is written). */
    private static void requireIndicesInRange(String op, Tensor index, int bound, int axis) {
        if (!index.device().isCpu()) return; // device backends check on the device
        int[] values = index.toIntArray();
        for (int i = 0; i < values.length; i++) {
            if (values[i] < 0 || values[i] >= bound) {
                throw new IndexOutOfBoundsException(op + ": index " + values[i] + " (at flat position " + i
                        + ") is out of range for axis " + axis + " of size " + bound);
            }
        }
    }

    // =====================================================================================================
    // elementwise
    // =====================================================================================================

    /** {@code op} applied to every element, into a new tensor. */
    public Tensor map(UnaryOp op) {
        requireFloat(op.name().toLowerCase());
        Tensor out = emptyLike(this);
        backend().unary(op, out, this);
        return out;
    }

    /** {@code op(this, other)} with broadcasting, into a new tensor. */
    public Tensor zip(BinaryOp op, Tensor other) {
        String name = op.name().toLowerCase();
        requireCompatible(name, other);
        if (!op.isComparison()) requireFloat(name);
        int[] outShape = Shapes.broadcast(name, shape, other.shape);
        Tensor out = empty(dtype(), device(), outShape);
        backend().binary(op, out, expand(outShape), other.expand(outShape));
        return out;
    }

    /** {@code op(this, scalar)}, into a new tensor. */
    public Tensor zip(BinaryOp op, double scalar) {
        if (!op.isComparison()) requireFloat(op.name().toLowerCase());
        Tensor out = emptyLike(this);
        backend().binaryScalar(op, out, this, scalar);
        return out;
    }

    /** {@code op(a, b, c)} with broadcasting, into a new tensor. */
    public static Tensor zip(TernaryOp op, Tensor a, Tensor b, Tensor c) {
        String name = op.name().toLowerCase();
        if (op == TernaryOp.WHERE) {
            if (!a.device().equals(b.device())) throw new IllegalArgumentException(name + ": devices " + a.device() + " and " + b.device() + " differ");
        } else {
            a.requireCompatible(name, b);
            a.requireFloat(name);
        }
        b.requireCompatible(name, c);
        int[] outShape = Shapes.broadcast(name, Shapes.broadcast(name, a.shape, b.shape), c.shape);
        Tensor out = empty(b.dtype(), b.device(), outShape);
        b.backend().ternary(op, out, a.expand(outShape), b.expand(outShape), c.expand(outShape));
        return out;
    }

    public Tensor add(Tensor o) { return zip(BinaryOp.ADD, o); }
    public Tensor sub(Tensor o) { return zip(BinaryOp.SUB, o); }
    public Tensor mul(Tensor o) { return zip(BinaryOp.MUL, o); }
    public Tensor div(Tensor o) { return zip(BinaryOp.DIV, o); }
    public Tensor pow(Tensor o) { return zip(BinaryOp.POW, o); }
    public Tensor maximum(Tensor o) { return zip(BinaryOp.MAX, o); }
    public Tensor minimum(Tensor o) { return zip(BinaryOp.MIN, o); }
    public Tensor eq(Tensor o) { return zip(BinaryOp.EQ, o); }
    public Tensor ne(Tensor o) { return zip(BinaryOp.NE, o); }
    public Tensor lt(Tensor o) { return zip(BinaryOp.LT, o); }
    public Tensor le(Tensor o) { return zip(BinaryOp.LE, o); }
    public Tensor gt(Tensor o) { return zip(BinaryOp.GT, o); }
    public Tensor ge(Tensor o) { return zip(BinaryOp.GE, o); }

    public Tensor add(double s) { return zip(BinaryOp.ADD, s); }
    public Tensor sub(double s) { return zip(BinaryOp.SUB, s); }
    public Tensor mul(double s) { return zip(BinaryOp.MUL, s); }
    public Tensor div(double s) { return zip(BinaryOp.DIV, s); }
    public Tensor pow(double s) { return zip(BinaryOp.POW, s); }
    public Tensor maximum(double s) { return zip(BinaryOp.MAX, s); }
    public Tensor minimum(double s) { return zip(BinaryOp.MIN, s); }
    public Tensor eq(double s) { return zip(BinaryOp.EQ, s); }
    public Tensor ne(double s) { return zip(BinaryOp.NE, s); }
    public Tensor lt(double s) { return zip(BinaryOp.LT, s); }
    public Tensor le(double s) { return zip(BinaryOp.LE, s); }
    public Tensor gt(double s) { return zip(BinaryOp.GT, s); }
    public Tensor ge(double s) { return zip(BinaryOp.GE, s); }

    public Tensor neg() { return map(UnaryOp.NEG); }
    public Tensor abs() { return map(UnaryOp.ABS); }
    public Tensor exp() { return map(UnaryOp.EXP); }
    public Tensor log() { return map(UnaryOp.LOG); }
    public Tensor sqrt() { return map(UnaryOp.SQRT); }
    public Tensor rsqrt() { return map(UnaryOp.RSQRT); }
    public Tensor tanh() { return map(UnaryOp.TANH); }
    public Tensor sigmoid() { return map(UnaryOp.SIGMOID); }
    public Tensor relu() { return map(UnaryOp.RELU); }
    public Tensor gelu() { return map(UnaryOp.GELU); }
    public Tensor softplus() { return map(UnaryOp.SOFTPLUS); }
    public Tensor logSigmoid() { return map(UnaryOp.LOG_SIGMOID); }
    public Tensor square() { return map(UnaryOp.SQUARE); }
    public Tensor reciprocal() { return map(UnaryOp.RECIPROCAL); }
    public Tensor sign() { return map(UnaryOp.SIGN); }

    /** Elements limited to [min, max]; either bound may be infinite. */
    public Tensor clamp(double min, double max) {
        requireFloat("clamp");
        if (min > max) throw new IllegalArgumentException("clamp: min " + min + " > max " + max);
        Tensor out = emptyLike(this);
        backend().clamp(out, this, min, max);
        return out;
    }

    /** {@code condition != 0 ? a : b}, elementwise with broadcasting; the condition may have any dtype. */
    public static Tensor where(Tensor condition, Tensor a, Tensor b) {
        return zip(TernaryOp.WHERE, condition, a, b);
    }

    /** {@code a * b + c}, elementwise with broadcasting. */
    public static Tensor fma(Tensor a, Tensor b, Tensor c) {
        return zip(TernaryOp.FMA, a, b, c);
    }

    /** {@code a + weight * (b - a)}, elementwise with broadcasting. */
    public static Tensor lerp(Tensor a, Tensor b, Tensor weight) {
        return zip(TernaryOp.LERP, a, b, weight);
    }

    // ---- in place: the result has this tensor's shape, other operands broadcast to it ----

    /** An in-place destination must not be an expanded view: one stored element would take several results. */
    private void requireWritable(String op) {
        for (int d = 0; d < shape.length; d++) {
            if (strides[d] == 0 && shape[d] > 1) {
                throw new IllegalArgumentException(op + ": the destination is an expanded view (dimension " + d + " of "
                        + Shapes.str(shape) + " has stride 0), so one element would receive " + shape[d]
                        + " results; write into a contiguous() copy instead");
            }
        }
    }

    private Tensor broadcastOperand(String op, Tensor other) {
        requireWritable(op);
        requireCompatible(op, other);
        int[] outShape = Shapes.broadcast(op, shape, other.shape);
        if (!Arrays.equals(outShape, shape)) {
            throw new IllegalArgumentException(op + ": in-place result has shape " + Shapes.str(shape)
                    + ", but broadcasting with " + Shapes.str(other.shape) + " gives " + Shapes.str(outShape));
        }
        return other.expand(shape);
    }

    /** {@code this = op(this, other)}; returns this. */
    public Tensor zipInPlace(BinaryOp op, Tensor other) {
        String name = op.name().toLowerCase() + "InPlace";
        Tensor b = broadcastOperand(name, other);
        if (!op.isComparison()) requireFloat(name);
        backend().binary(op, this, this, b);
        return this;
    }

    /** {@code this = op(this, scalar)}; returns this. */
    public Tensor zipInPlace(BinaryOp op, double scalar) {
        requireWritable(op.name().toLowerCase() + "InPlace");
        if (!op.isComparison()) requireFloat(op.name().toLowerCase() + "InPlace");
        backend().binaryScalar(op, this, this, scalar);
        return this;
    }

    /** {@code this = op(this)}; returns this. */
    public Tensor mapInPlace(UnaryOp op) {
        requireWritable(op.name().toLowerCase() + "InPlace");
        requireFloat(op.name().toLowerCase() + "InPlace");
        backend().unary(op, this, this);
        return this;
    }

    public Tensor addInPlace(Tensor o) { return zipInPlace(BinaryOp.ADD, o); }
    public Tensor subInPlace(Tensor o) { return zipInPlace(BinaryOp.SUB, o); }
    public Tensor mulInPlace(Tensor o) { return zipInPlace(BinaryOp.MUL, o); }
    public Tensor divInPlace(Tensor o) { return zipInPlace(BinaryOp.DIV, o); }
    public Tensor addInPlace(double s) { return zipInPlace(BinaryOp.ADD, s); }
    public Tensor mulInPlace(double s) { return zipInPlace(BinaryOp.MUL, s); }

    /** {@code this += alpha * other} (an axpy, for optimizers and gradient accumulation); returns this. */
    public Tensor addScaledInPlace(Tensor other, double alpha) {
        Tensor b = broadcastOperand("addScaledInPlace", other);
        requireFloat("addScaledInPlace");
        Tensor a = full(alpha, dtype(), device()).expand(shape);
        backend().ternary(TernaryOp.FMA, this, b, a, this);
        return this;
    }

    /** {@code this = clamp(this, min, max)}; returns this. */
    public Tensor clampInPlace(double min, double max) {
        requireWritable("clampInPlace");
        requireFloat("clampInPlace");
        if (min > max) throw new IllegalArgumentException("clampInPlace: min " + min + " > max " + max);
        backend().clamp(this, this, min, max);
        return this;
    }

    /** Sets every element to {@code value}; returns this. */
    public Tensor fill(double value) {
        backend().fill(this, value);
        return this;
    }

    /** Copies {@code src} (broadcast to this shape, any dtype) into this tensor; returns this. */
    public Tensor copyFrom(Tensor src) {
        requireWritable("copyFrom");
        if (!src.device().equals(device())) {
            throw new IllegalArgumentException("copyFrom: devices " + device() + " and " + src.device() + " differ");
        }
        int[] outShape = Shapes.broadcast("copyFrom", shape, src.shape);
        if (!Arrays.equals(outShape, shape)) {
            throw new IllegalArgumentException("copyFrom: cannot copy shape " + Shapes.str(src.shape) + " into "
                    + Shapes.str(shape));
        }
        backend().copy(this, src.expand(shape));
        return this;
    }

    // =====================================================================================================
    // reductions
    // =====================================================================================================

    private Tensor reduce(ReduceOp op, int axis, boolean keepDim) {
        String name = op.name().toLowerCase();
        requireFloat(name);
        int a = Shapes.axis(name, axis, shape.length);
        if ((op == ReduceOp.MAX || op == ReduceOp.MIN) && shape[a] == 0) {
            throw new IllegalArgumentException(name + ": axis " + a + " of shape " + Shapes.str(shape) + " is empty");
        }
        int[] kept = shape.clone();
        kept[a] = 1;
        Tensor out = empty(dtype(), device(), kept);
        backend().reduce(op, out, this, a);
        return keepDim ? out : out.squeeze(a);
    }

    private Tensor reduceAll(ReduceOp op) {
        if (shape.length == 0) return reduce(op, 0, false, this.unsqueeze(0));
        return reduce(op, 0, false, this.reshape(-1));
    }

    private static Tensor reduce(ReduceOp op, int axis, boolean keepDim, Tensor flat) {
        return flat.reduce(op, axis, keepDim);
    }

    /** Sum of all elements, as a 0-d tensor. */
    public Tensor sum() { return reduceAll(ReduceOp.SUM); }
    public Tensor mean() { return reduceAll(ReduceOp.MEAN); }
    public Tensor max() { return reduceAll(ReduceOp.MAX); }
    public Tensor min() { return reduceAll(ReduceOp.MIN); }

    /** Sum along an axis; keepDim leaves it in place with size 1. */
    public Tensor sum(int axis, boolean keepDim) { return reduce(ReduceOp.SUM, axis, keepDim); }
    public Tensor mean(int axis, boolean keepDim) { return reduce(ReduceOp.MEAN, axis, keepDim); }
    public Tensor max(int axis, boolean keepDim) { return reduce(ReduceOp.MAX, axis, keepDim); }
    public Tensor min(int axis, boolean keepDim) { return reduce(ReduceOp.MIN, axis, keepDim); }

    /** Index (I32) of the first maximum along an axis; NaN counts as the maximum. */
    public Tensor argmax(int axis, boolean keepDim) {
        requireFloat("argmax");
        int a = Shapes.axis("argmax", axis, shape.length);
        if (shape[a] == 0) throw new IllegalArgumentException("argmax: axis " + a + " of shape " + Shapes.str(shape) + " is empty");
        int[] kept = shape.clone();
        kept[a] = 1;
        Tensor out = empty(DType.I32, device(), kept);
        backend().argmax(out, this, a);
        return keepDim ? out : out.squeeze(a);
    }

    /** Flat index of the first maximum over all elements, as a 0-d I32 tensor. */
    public Tensor argmax() {
        return (shape.length == 0 ? unsqueeze(0) : reshape(-1)).argmax(0, false);
    }

    // =====================================================================================================
    // indexing
    // =====================================================================================================

    /**
     * {@code out[..., i, ...] = this[..., index[..., i, ...], ...]} along {@code axis} (PyTorch's gather): index
     * has this tensor's rank, is no larger along the other axes, and gives the output's shape.
     */
    public Tensor gather(int axis, Tensor index) {
        int a = Shapes.axis("gather", axis, shape.length);
        requireIndex("gather", index, device());
        checkAlongAxis("gather", index, this, a);
        requireIndicesInRange("gather", index, shape[a], a);
        Tensor out = empty(dtype(), device(), index.shape);
        backend().gather(out, this, a, index);
        return out;
    }

    private static void checkAlongAxis(String op, Tensor index, Tensor t, int axis) {
        if (index.dim() != t.dim()) {
            throw new IllegalArgumentException(op + ": index has rank " + index.dim() + " (shape " + Shapes.str(index.shape)
                    + "), expected rank " + t.dim() + " like " + Shapes.str(t.shape));
        }
        for (int d = 0; d < t.dim(); d++) {
            if (d != axis && index.shape[d] > t.shape[d]) {
                throw new IllegalArgumentException(op + ": index shape " + Shapes.str(index.shape) + " exceeds "
                        + Shapes.str(t.shape) + " in dimension " + d);
            }
        }
    }

    /** A copy of this tensor with {@code src} added at the positions {@code index} along {@code axis}. */
    public Tensor scatterAdd(int axis, Tensor index, Tensor src) {
        Tensor out = copy();
        return out.scatterAddInPlace(axis, index, src);
    }

    /**
     * {@code this[..., index[..., i, ...], ...] += src[..., i, ...]} along {@code axis} (PyTorch's scatter_add_);
     * repeated indices accumulate. Returns this.
     */
    public Tensor scatterAddInPlace(int axis, Tensor index, Tensor src) {
        int a = Shapes.axis("scatterAdd", axis, shape.length);
        requireWritable("scatterAdd");
        requireIndex("scatterAdd", index, device());
        requireCompatible("scatterAdd", src);
        requireFloat("scatterAdd");
        checkAlongAxis("scatterAdd", index, this, a);
        if (src.dim() != index.dim()) {
            throw new IllegalArgumentException("scatterAdd: src has rank " + src.dim() + ", index rank " + index.dim());
        }
        for (int d = 0; d < index.dim(); d++) {
            if (index.shape[d] > src.shape[d]) {
                throw new IllegalArgumentException("scatterAdd: index shape " + Shapes.str(index.shape) + " exceeds src shape "
                        + Shapes.str(src.shape) + " in dimension " + d);
            }
        }
        requireIndicesInRange("scatterAdd", index, shape[a], a);
        Tensor srcPart = src;
        for (int d = 0; d < src.dim(); d++) srcPart = srcPart.narrow(d, 0, index.shape[d]);
        backend().scatterAdd(this, a, index, srcPart);
        return this;
    }

    /** The slices {@code index[0], index[1], ...} (a 1-d I32 tensor) of this tensor along {@code axis}. */
    public Tensor indexSelect(int axis, Tensor index) {
        int a = Shapes.axis("indexSelect", axis, shape.length);
        requireIndex("indexSelect", index, device());
        if (index.dim() != 1) {
            throw new IllegalArgumentException("indexSelect: index must be 1-d, found shape " + Shapes.str(index.shape));
        }
        requireIndicesInRange("indexSelect", index, shape[a], a);
        int[] outShape = shape.clone();
        outShape[a] = index.shape[0];
        Tensor out = empty(dtype(), device(), outShape);
        backend().indexSelect(out, this, a, index);
        return out;
    }

    /** Joins tensors of equal shape except along {@code axis}. */
    public static Tensor concat(int axis, Tensor... tensors) {
        if (tensors.length == 0) throw new IllegalArgumentException("concat: no tensors");
        Tensor first = tensors[0];
        int a = Shapes.axis("concat", axis, first.dim());
        int total = 0;
        for (int i = 0; i < tensors.length; i++) {
            Tensor t = tensors[i];
            first.requireCompatible("concat", t);
            if (t.dim() != first.dim()) {
                throw new IllegalArgumentException("concat: tensor " + i + " has shape " + Shapes.str(t.shape)
                        + ", expected rank " + first.dim() + " like " + Shapes.str(first.shape));
            }
            for (int d = 0; d < t.dim(); d++) {
                if (d != a && t.shape[d] != first.shape[d]) {
                    throw new IllegalArgumentException("concat: tensor " + i + " has shape " + Shapes.str(t.shape)
                            + ", which differs from " + Shapes.str(first.shape) + " in dimension " + d);
                }
            }
            total += t.shape[a];
        }
        int[] outShape = first.shape.clone();
        outShape[a] = total;
        Tensor out = empty(first.dtype(), first.device(), outShape);
        int at = 0;
        for (Tensor t : tensors) {
            first.backend().copy(out.narrow(a, at, t.shape[a]), t);
            at += t.shape[a];
        }
        return out;
    }

    /** Stacks tensors of one shape along a new axis. */
    public static Tensor stack(int axis, Tensor... tensors) {
        if (tensors.length == 0) throw new IllegalArgumentException("stack: no tensors");
        int a = Shapes.axis("stack", axis, tensors[0].dim() + 1);
        Tensor[] parts = new Tensor[tensors.length];
        for (int i = 0; i < tensors.length; i++) {
            tensors[0].requireCompatible("stack", tensors[i]);
            if (!Arrays.equals(tensors[i].shape, tensors[0].shape)) {
                throw new IllegalArgumentException("stack: tensor " + i + " has shape " + Shapes.str(tensors[i].shape)
                        + ", expected " + Shapes.str(tensors[0].shape));
            }
            parts[i] = tensors[i].unsqueeze(a);
        }
        return concat(a, parts);
    }

    // =====================================================================================================
    // linear algebra
    // =====================================================================================================

    /**
     * Matrix product of the last two dimensions, {@code [..., M, K] x [..., K, N] -> [..., M, N]}, with the
     * leading (batch) dimensions broadcast. A transposed operand may be passed as a view
     * ({@code x.transpose(-1, -2)}): no copy is made.
     */
    public Tensor matmul(Tensor other) {
        return matmul(other, dtype());
    }

    /**
     * {@link #matmul(Tensor)} with an output of {@code outType}: the operands' dtype, or F32 for BF16 operands
     * (a mixed-precision product: BF16 inputs, F32 accumulation and output).
     */
    public Tensor matmul(Tensor other, DType outType) {
        requireCompatible("matmul", other);
        requireFloat("matmul");
        requireGemmOutput("matmul", dtype(), outType);
        if (dim() < 2 || other.dim() < 2) {
            throw new IllegalArgumentException("matmul: " + Shapes.str(shape) + " x " + Shapes.str(other.shape)
                    + ": both operands need at least 2 dimensions");
        }
        int m = shape[dim() - 2], k = shape[dim() - 1], k2 = other.shape[other.dim() - 2], n = other.shape[other.dim() - 1];
        if (k != k2) {
            throw new IllegalArgumentException("matmul: " + Shapes.str(shape) + " x " + Shapes.str(other.shape)
                    + ": inner dimensions " + k + " and " + k2 + " differ");
        }
        int[] batchShape = Shapes.broadcast("matmul", Arrays.copyOf(shape, dim() - 2), Arrays.copyOf(other.shape, other.dim() - 2));
        int batch = Shapes.numel(batchShape);
        int[] outShape = Arrays.copyOf(batchShape, batchShape.length + 2);
        outShape[batchShape.length] = m;
        outShape[batchShape.length + 1] = n;
        Tensor out = empty(outType, device(), outShape);
        Tensor a3 = asBatch(this, batchShape, batch, m, k);
        Tensor b3 = asBatch(other, batchShape, batch, k, n);
        backend().gemm(out.view(batch, m, n), a3, b3, 1.0, 0.0);
        return out;
    }

    /** A product's output has its operands' dtype, or F32 or BF16 when they are BF16. */
    private static void requireGemmOutput(String op, DType operands, DType out) {
        if (out != operands && !(operands == DType.BF16 && out == DType.F32)) {
            throw new IllegalArgumentException(op + ": " + operands + " operands cannot give a " + out + " output (the "
                    + "output has the operands' dtype, or F32 for BF16 operands)");
        }
    }

    private static Tensor asBatch(Tensor t, int[] batchShape, int batch, int rows, int cols) {
        int[] full = Arrays.copyOf(batchShape, batchShape.length + 2);
        full[batchShape.length] = rows;
        full[batchShape.length + 1] = cols;
        return t.expand(full).reshape(batch, rows, cols);
    }

    /**
     * In place: {@code c = alpha * a · b + beta * c}, with {@code a [M,K]}, {@code b [K,N]}, {@code c [M,N]}, or
     * batched {@code [B,M,K] x [B,K,N] -> [B,M,N]}. Either operand may be a transposed view. When beta is 0, c's
     * old contents are ignored (NaN included). Returns c.
     */
    public static Tensor gemm(Tensor c, Tensor a, Tensor b, double alpha, double beta) {
        a.requireCompatible("gemm", b);
        if (!c.device().equals(a.device())) {
            throw new IllegalArgumentException("gemm: devices " + a.device() + " and " + c.device() + " differ");
        }
        a.requireFloat("gemm");
        requireGemmOutput("gemm", a.dtype(), c.dtype());
        boolean batched = a.dim() == 3;
        int r = batched ? 3 : 2;
        if (a.dim() != r || b.dim() != r || c.dim() != r || (a.dim() != 2 && a.dim() != 3)) {
            throw new IllegalArgumentException("gemm: expected 2-d or 3-d operands of one rank, found " + Shapes.str(a.shape)
                    + ", " + Shapes.str(b.shape) + " and " + Shapes.str(c.shape));
        }
        Tensor a3 = batched ? a : a.unsqueeze(0), b3 = batched ? b : b.unsqueeze(0), c3 = batched ? c : c.unsqueeze(0);
        int batch = c3.shape[0], m = a3.shape[1], k = a3.shape[2], n = b3.shape[2];
        if (b3.shape[1] != k) {
            throw new IllegalArgumentException("gemm: " + Shapes.str(a.shape) + " x " + Shapes.str(b.shape)
                    + ": inner dimensions " + k + " and " + b3.shape[1] + " differ");
        }
        if (c3.shape[1] != m || c3.shape[2] != n || a3.shape[0] != batch || b3.shape[0] != batch) {
            throw new IllegalArgumentException("gemm: " + Shapes.str(a.shape) + " x " + Shapes.str(b.shape)
                    + " does not fit the output " + Shapes.str(c.shape));
        }
        a.backend().gemm(c3, a3, b3, alpha, beta);
        return c;
    }

    // =====================================================================================================
    // comparison and printing
    // =====================================================================================================

    /** True when shapes match and every element satisfies |a - b| <= atol + rtol * |b| (NaN never matches). */
    public boolean allClose(Tensor other, double rtol, double atol) {
        if (!Arrays.equals(shape, other.shape)) return false;
        double[] x = toDoubleArray(), y = other.toDoubleArray();
        for (int i = 0; i < x.length; i++) {
            if (!(Math.abs(x[i] - y[i]) <= atol + rtol * Math.abs(y[i]))) return false;
        }
        return true;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Tensor").append(Shapes.str(shape)).append(' ').append(dtype());
        if (!device().isCpu()) sb.append(" on ").append(device());
        int n = numel();
        if (n <= 16) {
            sb.append(' ').append(Arrays.toString(toDoubleArray()));
        } else {
            double[] v = toDoubleArray();
            sb.append(" [").append(v[0]).append(", ").append(v[1]).append(", ..., ").append(v[n - 1]).append(']');
        }
        return sb.toString();
    }
}
