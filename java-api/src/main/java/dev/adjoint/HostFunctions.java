package dev.adjoint;

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
final class HostFunctions {
  private HostFunctions() {}

  /** The body of a host callback: reads the inputs, fills {@code output} (row-major). */
  @FunctionalInterface
  public interface Kernel {
    void compute(double[][] inputs, double[] output);
  }

  record Entry(String name, Kernel kernel, DType[] inDtypes, long[] inNumel, DType outDtype, long outNumel) {}

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
            double[][] in = new double[numInputs][];
            for (int i = 0; i < numInputs; i++) in[i] = read(inputs.get(i), e.inDtypes[i], e.inNumel[i]);
            double[] out = new double[Math.toIntExact(e.outNumel)];
            e.kernel.compute(in, out);
            write(output, e.outDtype, out);
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

  static Tensor call(String name, Kernel kernel, DType outDtype, long[] outShape, Tensor... in) {
    DType[] dt = new DType[in.length];
    long[] numel = new long[in.length];
    for (int i = 0; i < in.length; i++) {
      dt[i] = in[i].dtype();
      numel[i] = in[i].numel();
    }
    int id = NEXT.getAndIncrement();
    ENTRIES.put(id, new Entry(name, kernel, dt, numel, outDtype, Tensor.numel(outShape)));
    long[] attrs = new long[outShape.length + 2];
    attrs[0] = id;
    attrs[1] = outDtype.code;
    System.arraycopy(outShape, 0, attrs, 2, outShape.length);
    return Ops.apply(Op.CALLBACK, attrs, 0, in);
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

  private static void write(Pointer p, DType dtype, double[] v) {
    if (dtype == DType.FLOAT64) new DoublePointer(p).put(v);
    else if (dtype == DType.INT32) {
      int[] iv = new int[v.length];
      for (int i = 0; i < v.length; i++) iv[i] = (int) Math.round(v[i]);
      new IntPointer(p).put(iv);
    } else {
      float[] f = new float[v.length];
      for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
      new FloatPointer(p).put(f);
    }
  }
}
