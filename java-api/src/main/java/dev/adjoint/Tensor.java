package dev.adjoint;

import dev.adjoint.internal.Format;
import dev.adjoint.internal.Node;
import dev.adjoint.internal.ParameterLock;
import dev.adjoint.internal.Shapes;
import dev.adjoint.internal.Storage;
import java.util.Arrays;
import java.util.Random;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * A dense, row-major array of float32, float64 or int32 in engine memory, or, while a Cell is being
 * traced, a symbolic stand-in for a value of the graph being recorded.
 *
 * <pre>{@code
 * Tensor x = Tensor.of(new float[][] {{0.8f, 0.6f, 0.2f}, {1.8f, 1.3f, 1.1f}});   // Float32 [2, 3]
 * Tensor y = Tensor.of(new double[] {1, 2, 3, 4}, 2, 2);                          // Float64 [2, 2]
 * System.out.println(x);   // Tensor(shape=[2, 3], dtype=Float32, value=
 *                          // [[0.8 0.6 0.2]
 *                          //  [1.8 1.3 1.1]])
 * try (Tensor s = x.sin()) { float[] v = s.toFloatArray(); }
 * }</pre>
 *
 * A concrete tensor owns native memory: {@link #close()} frees it at once (a Cleaner frees it otherwise).
 */
public sealed class Tensor implements Value, AutoCloseable permits Parameter {
  private final DType dtype;
  private final long[] shape;
  private final Node node;
  volatile Storage storage;
  private static final java.lang.invoke.VarHandle STORAGE;

  static {
    try {
      STORAGE = java.lang.invoke.MethodHandles.lookup().findVarHandle(Tensor.class, "storage", Storage.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** A concrete tensor owning {@code storage}. */
  Tensor(Storage storage) {
    // A release store: the volatile write's fence is a per-call cost, and what it would order (the
    // publication of this new tensor) is the publisher's business as for any object.
    STORAGE.setRelease(this, storage);
    this.dtype = storage.dtype;
    this.shape = storage.shape;
    this.node = null;
  }

  /** A symbolic tensor standing for {@code node} of an open trace. */
  Tensor(Node node) {
    this.node = node;
    this.dtype = node.dtype;
    this.shape = node.shape;
  }

  // ---------------------------------------------------------------- factories

  /** A Float32 vector {@code [data.length]} holding a copy of {@code data}. */
  public static Tensor of(float[] data) {
    if (data == null) throw new AdjointException("Tensor.of: data is null");
    return of(data, data.length);
  }

  /** A Float64 vector {@code [data.length]} holding a copy of {@code data}. */
  public static Tensor of(double[] data) {
    if (data == null) throw new AdjointException("Tensor.of: data is null");
    return of(data, data.length);
  }

  /** An Int32 vector {@code [data.length]} holding a copy of {@code data}. */
  public static Tensor of(int[] data) {
    if (data == null) throw new AdjointException("Tensor.of: data is null");
    return of(data, data.length);
  }

  /**
   * A Float32 matrix {@code [rows.length, rows[0].length]} copied from {@code rows}; ragged or null rows are an {@link AdjointException}.
   */
  public static Tensor of(float[][] rows) {
    if (rows == null) throw new AdjointException("Tensor.of: rows is null");
    for (int i = 0; i < rows.length; i++) if (rows[i] == null) throw new AdjointException("Tensor.of: row " + i + " is null");
    int cols = rows.length == 0 ? 0 : rows[0].length;
    float[] flat = new float[Shapes.arrayLength("Tensor.of", DType.FLOAT32, new long[] {rows.length, cols})];
    for (int i = 0; i < rows.length; i++) {
      if (rows[i].length != cols)
        throw new AdjointException("ragged rows: row 0 has " + cols + " values, row " + i + " has " + rows[i].length);
      System.arraycopy(rows[i], 0, flat, i * cols, cols);
    }
    return of(flat, rows.length, cols);
  }

  /**
   * A Float64 matrix {@code [rows.length, rows[0].length]} copied from {@code rows}; ragged or null rows are an {@link AdjointException}.
   */
  public static Tensor of(double[][] rows) {
    if (rows == null) throw new AdjointException("Tensor.of: rows is null");
    for (int i = 0; i < rows.length; i++) if (rows[i] == null) throw new AdjointException("Tensor.of: row " + i + " is null");
    int cols = rows.length == 0 ? 0 : rows[0].length;
    double[] flat = new double[Shapes.arrayLength("Tensor.of", DType.FLOAT32, new long[] {rows.length, cols})];
    for (int i = 0; i < rows.length; i++) {
      if (rows[i].length != cols)
        throw new AdjointException("ragged rows: row 0 has " + cols + " values, row " + i + " has " + rows[i].length);
      System.arraycopy(rows[i], 0, flat, i * cols, cols);
    }
    return of(flat, rows.length, cols);
  }

  /**
   * A Float32 tensor of {@code shape} holding a copy of {@code data} in row-major order; a count that does not
   * match the shape is an {@link AdjointException}. No shape gives a rank-0 (scalar) tensor of one value.
   */
  public static Tensor of(float[] data, long... shape) {
    checkCount(data, data.length, shape);
    Tensor t = empty(DType.FLOAT32, shape);
    new FloatPointer(t.storage.unsafeBuffer().data()).put(data);
    return t;
  }

  /** A Float64 tensor of {@code shape} holding a copy of {@code data}, row-major; the count must match the shape. */
  public static Tensor of(double[] data, long... shape) {
    checkCount(data, data.length, shape);
    Tensor t = empty(DType.FLOAT64, shape);
    new DoublePointer(t.storage.unsafeBuffer().data()).put(data);
    return t;
  }

  /** An Int32 tensor of {@code shape} holding a copy of {@code data}, row-major; the count must match the shape. */
  public static Tensor of(int[] data, long... shape) {
    checkCount(data, data.length, shape);
    Tensor t = empty(DType.INT32, shape);
    new IntPointer(t.storage.unsafeBuffer().data()).put(data);
    return t;
  }

  /** A rank-0 Float32 tensor holding {@code v}. */
  public static Tensor scalar(float v) {
    return of(new float[] {v}, new long[0]);
  }

  /** A rank-0 Float64 tensor holding {@code v}. */
  public static Tensor scalar(double v) {
    return of(new double[] {v}, new long[0]);
  }

  /** A Float32 or Float64 tensor of {@code shape} filled with 0 (Int32 is an {@link AdjointException}). */
  public static Tensor zeros(DType dtype, long... shape) {
    return full(dtype, 0, shape);
  }

  /** A Float32 or Float64 tensor of {@code shape} filled with 1 (Int32 is an {@link AdjointException}). */
  public static Tensor ones(DType dtype, long... shape) {
    return full(dtype, 1, shape);
  }

  /** A Float32 or Float64 tensor of {@code shape} with every element {@code value}, made by the engine's fill op. */
  public static Tensor full(DType dtype, double value, long... shape) {
    return Ops.fill(dtype, value, shape);
  }

  /** Uniform values in [lo, hi) from {@code random}: reproducible initial weights. */
  public static Tensor uniform(Random random, DType dtype, double lo, double hi, long... shape) {
    if (random == null) throw new AdjointException("uniform: random is null");
    if (dtype == null) throw new AdjointException("uniform: dtype is null");
    if (!dtype.isFloating()) throw new AdjointException("uniform: dtype must be Float32 or Float64, got " + dtype);
    if (!(lo <= hi) || !Double.isFinite(lo) || !Double.isFinite(hi))
      throw new AdjointException("uniform: bounds [" + lo + ", " + hi + ") are not a finite range");
    int n = Shapes.arrayLength("uniform", dtype, shape);
    if (dtype == DType.FLOAT64) {
      double[] v = new double[n];
      for (int i = 0; i < n; i++) v[i] = lo + (hi - lo) * random.nextDouble();
      return of(v, shape);
    }
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) (lo + (hi - lo) * random.nextDouble());
    return of(v, shape);
  }

  // ---------------------------------------------------------------- seeded random tensors
  //
  // Note [Host random]: Philox4x32-10 keyed by the seed at step 0 (internal/Philox.java; the engine's
  // Note [Philox]): element i is a pure function of (seed, i), the same in every run, on every JVM and
  // thread, and equal, bit for bit, to Ops.randomUniform(counter 0, key seed) for rand. Any two seeds
  // give independent streams.

  /**
   * Uniform values in [0, 1) from {@code seed}: {@code Ops.randomUniform} of (seed, counter 0) on the
   * host, bit for bit (Note [Host random]).
   *
   * <pre>{@code Tensor u = Tensor.rand(42, DType.FLOAT32, 3, 4);}</pre>
   */
  public static Tensor rand(long seed, DType dtype, long... shape) {
    return uniform(seed, dtype, 0, 1, shape);
  }

  /**
   * Uniform values in [lo, hi) from {@code seed}: lo + (hi - lo) u with u from {@link #rand}, in double,
   * then rounded to dtype (a float32 value that would round up to hi is the largest float below it).
   */
  public static Tensor uniform(long seed, DType dtype, double lo, double hi, long... shape) {
    checkRandom("uniform", dtype, shape);
    if (!(lo < hi) || !Double.isFinite(lo) || !Double.isFinite(hi))
      throw new AdjointException("uniform: bounds [" + lo + ", " + hi + ") are not a finite, non-empty range");
    int n = Shapes.arrayLength("uniform", dtype, shape);
    if (dtype == DType.FLOAT64) {
      double[] v = dev.adjoint.internal.Philox.uniformDoubles(seed, 0, n);
      for (int i = 0; i < n; i++) {
        double x = lo + (hi - lo) * v[i];
        v[i] = x < hi ? x : Math.nextDown(hi);
      }
      return of(v, shape);
    }
    float[] v = dev.adjoint.internal.Philox.uniformFloats(seed, 0, n);
    float fh = (float) hi, top = fh < hi ? fh : Math.nextDown(fh);   // the largest float below hi
    for (int i = 0; i < n; i++) {
      float x = (float) (lo + (hi - lo) * v[i]);
      v[i] = x < hi ? x : top;
    }
    return of(v, shape);
  }

  /** Standard normal values from {@code seed} (Box-Muller over Philox, Note [Host random]). */
  public static Tensor randn(long seed, DType dtype, long... shape) {
    return normal(seed, dtype, 0, 1, shape);
  }

  /** Normal values with the given mean and standard deviation from {@code seed}: mean + std z, z from {@link #randn}. */
  public static Tensor normal(long seed, DType dtype, double mean, double std, long... shape) {
    checkRandom("normal", dtype, shape);
    if (!Double.isFinite(mean) || !(std >= 0) || Double.isInfinite(std))
      throw new AdjointException("normal: mean " + mean + " and std " + std + " must be finite, std >= 0");
    int n = Shapes.arrayLength("normal", dtype, shape);
    double[] z = dev.adjoint.internal.Philox.normals(seed, 0, n, dtype == DType.FLOAT32);
    for (int i = 0; i < n; i++) z[i] = mean + std * z[i];
    if (dtype == DType.FLOAT64) return of(z, shape);
    float[] f = new float[n];
    for (int i = 0; i < n; i++) f[i] = (float) z[i];
    return of(f, shape);
  }

  private static void checkRandom(String what, DType dtype, long[] shape) {
    if (dtype == null) throw new AdjointException(what + ": dtype is null");
    if (!dtype.isFloating()) throw new AdjointException(what + ": dtype must be Float32 or Float64, got " + dtype);
    if (shape == null) throw new AdjointException(what + ": shape is null");
  }

  static Tensor empty(DType dtype, long[] shape) {
    return new Tensor(Storage.allocate(Device.CPU, dtype, shape.clone()));
  }

  private static void checkCount(Object data, int have, long[] shape) {
    if (data == null) throw new AdjointException("Tensor.of: data is null");
    long n = Shapes.numel("Tensor.of", shape);
    if (n != have)
      throw new AdjointException(
          "Tensor.of: shape " + Format.shape(shape) + " needs " + n + " values, got " + have);
  }

  // ---------------------------------------------------------------- properties

  /** The dimensions, outermost first (a copy; empty for a scalar). */
  public long[] shape() {
    return shape.clone();
  }

  /** The number of dimensions (0 for a scalar). */
  public int rank() {
    return shape.length;
  }

  /** The number of elements: the product of the shape (1 for a scalar). */
  public long numel() {
    return Shapes.numel("tensor", shape);
  }

  /** The element type. */
  public DType dtype() {
    return dtype;
  }

  /** Where the memory lives (for a symbolic tensor: the device of the graph being traced). */
  public Device device() {
    return node != null ? node.trace.device : storage().device;
  }

  /** Whether this tensor stands for a value of a graph being traced. */
  public boolean isSymbolic() {
    return node != null;
  }

  Node node() {
    return node;
  }

  /** The shape array itself, not a copy: for the call path's signature check only (never modified). */
  long[] shapeRef() {
    return shape;
  }

  Storage storage() {
    if (node != null)
      throw new AdjointException(
          "tensor " + describe() + " is symbolic (it belongs to a Cell being traced) and has no value yet");
    return storage;
  }

  /** "Float32 [2, 3]". */
  public String describe() {
    return dtype + " " + Format.shape(shape);
  }

  // ---------------------------------------------------------------- data out

  /**
   * A copy of the values of a Float32 tensor, row-major (copied from the device if needed); another dtype
   * or a symbolic tensor is an {@link AdjointException}.
   */
  public float[] toFloatArray() {
    requireHostable(DType.FLOAT32);
    float[] out = new float[Shapes.arrayLength("toFloatArray", dtype, shape)];
    try (FloatPointer p = new FloatPointer(out.length)) {
      copyOut(p, (long) out.length * 4);
      p.get(out);
    }
    return out;
  }

  /** A copy of the values, row-major, widened to double from any dtype. */
  public double[] toDoubleArray() {
    if (dtype == DType.FLOAT32) {
      float[] f = toFloatArray();
      double[] d = new double[f.length];
      for (int i = 0; i < f.length; i++) d[i] = f[i];
      return d;
    }
    if (dtype == DType.INT32) {
      int[] v = toIntArray();
      return Arrays.stream(v).asDoubleStream().toArray();
    }
    double[] out = new double[Shapes.arrayLength("toDoubleArray", dtype, shape)];
    try (DoublePointer p = new DoublePointer(out.length)) {
      copyOut(p, (long) out.length * 8);
      p.get(out);
    }
    return out;
  }

  /** A copy of the values of an Int32 tensor, row-major; another dtype is an {@link AdjointException}. */
  public int[] toIntArray() {
    requireHostable(DType.INT32);
    int[] out = new int[Shapes.arrayLength("toIntArray", dtype, shape)];
    try (IntPointer p = new IntPointer(out.length)) {
      copyOut(p, (long) out.length * 4);
      p.get(out);
    }
    return out;
  }

  /** The single value of a one-element tensor. */
  public double item() {
    if (numel() != 1) throw new AdjointException("item() needs one element, tensor is " + describe());
    return toDoubleArray()[0];
  }

  private void requireHostable(DType wanted) {
    if (dtype != wanted) throw new AdjointException("tensor is " + describe() + ", not " + wanted);
  }

  private void copyOut(Pointer dst, long bytes) {
    Storage s = storage();
    if (this instanceof Parameter) ParameterLock.lockRead();
    try {
      s.use(b -> b.copyToHost(dst, bytes));
    } finally {
      if (this instanceof Parameter) ParameterLock.unlockRead();
    }
  }

  /** A copy of this tensor on {@code device}. */
  public Tensor to(Device device) {
    if (device == null) throw new AdjointException("to: device is null");
    Storage s = storage();
    Storage out = Storage.allocate(device, dtype, shape);
    if (this instanceof Parameter) ParameterLock.lockRead();
    try {
      out.copyFrom(s);
    } catch (RuntimeException e) {
      out.close();
      throw e;
    } finally {
      if (this instanceof Parameter) ParameterLock.unlockRead();
    }
    return new Tensor(out);
  }

  /**
   * Frees the native memory now; idempotent. A run that is using the tensor keeps it until it returns
   * (the memory is freed then). Using the tensor afterwards throws {@link AdjointException}.
   */
  @Override
  public void close() {
    if (storage != null) storage.close();
  }

  /** Whether {@link #close()} has freed this tensor's memory (always false for a symbolic tensor). */
  public boolean isClosed() {
    return storage != null && storage.isClosed();
  }

  // ---------------------------------------------------------------- fluent ops

  /** {@code this + o}, broadcasting: {@link Ops#add(Tensor, Tensor)}. */
  public Tensor add(Tensor o) {
    return Ops.add(this, o);
  }

  /** {@code this - o}, broadcasting: {@link Ops#sub(Tensor, Tensor)}. */
  public Tensor sub(Tensor o) {
    return Ops.sub(this, o);
  }

  /** {@code this * o} elementwise, broadcasting: {@link Ops#mul(Tensor, Tensor)}. */
  public Tensor mul(Tensor o) {
    return Ops.mul(this, o);
  }

  /** {@code this / o} elementwise, broadcasting: {@link Ops#div(Tensor, Tensor)}. */
  public Tensor div(Tensor o) {
    return Ops.div(this, o);
  }

  /** The matrix product {@code this @ o}: {@link Ops#matmul(Tensor, Tensor)}. */
  public Tensor matmul(Tensor o) {
    return Ops.matmul(this, o);
  }

  /** {@code -this}: {@link Ops#neg}. */
  public Tensor neg() {
    return Ops.neg(this);
  }

  /** Elementwise sine: {@link Ops#sin}. */
  public Tensor sin() {
    return Ops.sin(this);
  }

  /** Elementwise cosine: {@link Ops#cos}. */
  public Tensor cos() {
    return Ops.cos(this);
  }

  /** The sum of all elements as a rank-0 tensor: {@link Ops#sum(Tensor)}. */
  public Tensor sum() {
    return Ops.sum(this);
  }

  /** The same elements in {@code newShape} (one -1 is inferred): {@link Ops#reshape}. */
  public Tensor reshape(long... newShape) {
    return Ops.reshape(this, newShape);
  }

  /** The values alone, in NumPy's {@code str} layout: what MindSpore's {@code print(tensor)} shows. */
  public String valueString() {
    return Format.values(this);
  }

  /**
   * MindSpore's {@code repr}: {@code Tensor(shape=[2, 3], dtype=Float32, value=\n[[ 1.50000000e+00, ...]])},
   * what printing a tuple of tensors shows there.
   */
  @Override
  public String repr() {
    return "Tensor(shape=" + Format.shape(shape) + ", dtype=" + dtype + ", value=\n" + Format.reprValues(this) + ")";
  }

  @Override
  public String toString() {
    if (node != null) return "Tensor(shape=" + Format.shape(shape) + ", dtype=" + dtype + ", symbolic " + node + ")";
    if (storage.isClosed()) return "Tensor(shape=" + Format.shape(shape) + ", dtype=" + dtype + ", released)";
    return "Tensor(shape=" + Format.shape(shape) + ", dtype=" + dtype + ", value=\n" + Format.values(this) + ")";
  }
}
