package dev.adjoint.internal;

import dev.adjoint.AdjointException;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.engine.AdjointEngine;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * Host callbacks: graph nodes whose body is a Java function on host arrays, run by the engine at their
 * place in the graph through one JavaCPP FunctionPointer. An exception thrown by the function is kept
 * and rethrown to the caller of the run; the engine stays usable.
 */
public final class HostFunctions {
  private HostFunctions() {}

  record Entry(String name, Ops.HostKernel kernel, RawKernel raw, DType[] inDtypes, long[] inNumel, DType outDtype, long outNumel) {}

  /**
   * A callback body on the engine's host buffers themselves, without the float64 copies of {@link Ops.HostKernel}
   * (internal: the in-graph all-reduce of dev.adjoint.Communicator). It must not keep the pointers.
   */
  public interface RawKernel {
    void compute(Pointer[] inputs, Pointer output);
  }

  private static final Map<Integer, Entry> ENTRIES = new ConcurrentHashMap<>();
  private static final AtomicInteger NEXT = new AtomicInteger(1);
  // The engine runs graphs with host callbacks on the thread that called run() (executor.cpp), so the
  // failure is kept per thread and reaches the caller that ran the graph, not another thread.
  private static final ThreadLocal<Throwable> FAILURE = new ThreadLocal<>();

  private static final AdjointEngine.HostCallback CALLBACK =
      new AdjointEngine.HostCallback() {
        @Override
        public int call(int id, int numInputs, PointerPointer<?> inputs, Pointer output) {
          try {
            Entry e = ENTRIES.get(id);
            if (e == null) throw new AdjointException("unknown host callback id " + id);
            if (e.raw != null) {
              Pointer[] raw = new Pointer[numInputs];
              for (int i = 0; i < numInputs; i++) raw[i] = inputs.get(i);
              e.raw.compute(raw, output);
              return 0;
            }
            double[][] in = new double[numInputs][];
            for (int i = 0; i < numInputs; i++) in[i] = read(inputs.get(i), e.inDtypes[i], e.inNumel[i]);
            double[] out = new double[Math.toIntExact(e.outNumel)];
            e.kernel.compute(in, out);
            write(e.name, output, e.outDtype, out);
            return 0;
          } catch (Throwable t) {
            FAILURE.set(t);
            return 1;
          }
        }
      };

  static {
    Engine.init();
    AdjointEngine.setHostCallback(CALLBACK);
  }

  // The same kernel object with the same signature reuses its id, so eager host calls in a loop hit
  // the eager cache instead of registering (and compiling) a new callback per call.
  private static final Map<java.util.List<Object>, Integer> IDS = new ConcurrentHashMap<>();

  public static Tensor call(String name, Ops.HostKernel kernel, DType outDtype, long[] outShape, Tensor... in) {
    if (kernel == null) throw new AdjointException("hostCall '" + name + "': kernel is null");
    return register(name, kernel, null, outDtype, outShape, in);
  }

  /** A callback node whose body reads and writes the engine's host buffers directly (see RawKernel). */
  public static Tensor callRaw(String name, RawKernel kernel, DType outDtype, long[] outShape, Tensor... in) {
    if (kernel == null) throw new AdjointException("hostCall '" + name + "': kernel is null");
    return register(name, null, kernel, outDtype, outShape, in);
  }

  private static Tensor register(String name, Ops.HostKernel kernel, RawKernel raw, DType outDtype, long[] outShape, Tensor... in) {
    if (name == null) throw new AdjointException("hostCall: name is null");
    if (outDtype == null) throw new AdjointException("hostCall '" + name + "': output dtype is null");
    if (in == null) throw new AdjointException("hostCall '" + name + "': inputs are null");
    DType[] dt = new DType[in.length];
    long[] numel = new long[in.length];
    for (int i = 0; i < in.length; i++) {
      if (in[i] == null) throw new AdjointException("hostCall '" + name + "': input " + i + " is null");
      dt[i] = in[i].dtype();
      numel[i] = Shapes.arrayLength("hostCall '" + name + "' input " + i, dt[i], in[i].shape());
    }
    long outNumel = Shapes.arrayLength("hostCall '" + name + "' output", outDtype, outShape);
    java.util.List<Object> key =
        java.util.List.of(kernel != null ? kernel : raw, name, java.util.Arrays.asList(dt), java.util.Arrays.toString(numel), outDtype, outNumel);
    int id =
        IDS.computeIfAbsent(
            key,
            k -> {
              int fresh = NEXT.getAndIncrement();
              ENTRIES.put(fresh, new Entry(name, kernel, raw, dt, numel, outDtype, outNumel));
              return fresh;
            });
    long[] attrs = new long[outShape.length + 2];
    attrs[0] = id;
    attrs[1] = Access.code(outDtype);
    System.arraycopy(outShape, 0, attrs, 2, outShape.length);
    return Op.CALLBACK.apply(attrs, 0, in);
  }

  static String name(Node n) {
    Entry e = ENTRIES.get((int) n.attrs[0]);
    return e == null ? "#" + n.attrs[0] : e.name;
  }

  /** The exception a callback threw during the last failed run, if any (cleared). */
  static Throwable takeFailure() {
    Throwable t = FAILURE.get();
    FAILURE.remove();
    return t;
  }

  private static double[] read(Pointer p, DType dtype, long numel) {
    int n = Math.toIntExact(numel);
    double[] out = new double[n];
    if (dtype == DType.FLOAT64) new DoublePointer(p).get(out);
    else if (dtype == DType.INT32) {
      int[] v = new int[n];
      new IntPointer(p).get(v);
      for (int i = 0; i < n; i++) out[i] = v[i];
    } else {
      float[] f = new float[n];
      new FloatPointer(p).get(f);
      for (int i = 0; i < n; i++) out[i] = f[i];
    }
    return out;
  }

  /**
   * Writes a callback's output. Int32 outputs are rounded to the nearest integer; a NaN, an infinity or
   * a value outside the Int32 range is an error naming the callback and the element, never a silent
   * -1 or 0.
   */
  private static void write(String name, Pointer p, DType dtype, double[] v) {
    if (dtype == DType.FLOAT64) new DoublePointer(p).put(v);
    else if (dtype == DType.INT32) {
      int[] iv = new int[v.length];
      for (int i = 0; i < v.length; i++) {
        double r = Math.rint(v[i]);
        if (!(r >= Integer.MIN_VALUE && r <= Integer.MAX_VALUE))
          throw new AdjointException(
              "host callback '" + name + "': output element " + i + " is " + v[i]
                  + ", which an Int32 output cannot hold");
        iv[i] = (int) r;
      }
      new IntPointer(p).put(iv);
    } else {
      float[] f = new float[v.length];
      for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
      new FloatPointer(p).put(f);
    }
  }
}
