package dev.adjoint.tests;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The Java-API fuzz tier: random op sequences through the public API with random (often invalid)
 * shapes, dtypes, closes, eager and compiled calls and thread hand-offs. A float64 reference (plain
 * Java, below) says for every case whether it is valid and what it computes; a valid case must return
 * that value (NaN and infinities included), an invalid one must throw an AdjointException with a
 * message, and nothing else may happen. CI runs a short budget; {@code tests/fuzz.sh N} runs longer
 * ({@code -Dadjoint.apifuzz.iterations=N}, {@code -Dadjoint.apifuzz.seed=S}).
 */
class ApiFuzzTest {
  /** A reference value: row-major doubles, a shape, a dtype; null data means the case is invalid. */
  record Ref(double[] data, long[] shape, DType dtype) {
    static final Ref INVALID = new Ref(null, null, null);
    /** A case the reference does not model (batched matmul): any result or an AdjointException. */
    static final Ref UNKNOWN = new Ref(new double[0], null, null);

    boolean valid() {
      return data != null;
    }

    int numel() {
      return data.length;
    }
  }

  static final class Entry {
    final Tensor t;
    final Ref ref;
    boolean closed;

    Entry(Tensor t, Ref ref) {
      this.t = t;
      this.ref = ref;
    }
  }

  final Random r = new Random(Long.getLong("adjoint.apifuzz.seed", 77));
  final List<Entry> pool = new ArrayList<>();
  int valid, invalid, closedUses, threaded, compiled;

  @Test
  void randomApiUseIsRightOrAnAdjointException() throws Exception {
    int iterations = Integer.getInteger("adjoint.apifuzz.iterations", 1500);
    ExecutorService other = Executors.newSingleThreadExecutor();
    try {
      for (int i = 0; i < iterations; i++) step(i, other);
    } finally {
      other.shutdownNow();
      for (Entry e : pool) e.t.close();
    }
    System.out.printf("api fuzz: %d iterations, %d valid, %d invalid, %d uses after close, %d on another thread, %d compiled%n",
        iterations, valid, invalid, closedUses, threaded, compiled);
    assertTrue(valid > iterations / 4, "too few valid cases: " + valid);
    assertTrue(invalid > iterations / 20, "too few invalid cases: " + invalid);
  }

  private void step(int iter, ExecutorService other) throws Exception {
    if (pool.size() < 3 || r.nextInt(6) == 0) {
      create(iter);
      return;
    }
    if (r.nextInt(12) == 0) { // close something, maybe from another thread
      Entry e = pick();
      if (r.nextBoolean()) other.submit(e.t::close).get();
      else e.t.close();
      e.closed = true;
      return;
    }
    if (pool.size() > 40) pool.remove(0).t.close();
    Entry a = pick(), b = pick();
    int kind = r.nextInt(9);
    Supplier<Ref> ref;
    java.util.function.Function<Tensor[], Tensor> op;
    Entry[] args;
    switch (kind) {
      case 0, 1 -> {
        String[] names = {"neg", "sin", "cos", "tanh", "square", "relu", "exp"};
        String name = names[r.nextInt(names.length)];
        op = in -> unaryOp(name, in[0]);
        ref = () -> unaryRef(name, a.ref);
        args = new Entry[] {a};
      }
      case 2, 3 -> {
        String name = new String[] {"add", "sub", "mul"}[r.nextInt(3)];
        op = in -> name.equals("add") ? Ops.add(in[0], in[1]) : name.equals("sub") ? Ops.sub(in[0], in[1]) : Ops.mul(in[0], in[1]);
        ref = () -> binaryRef(name, a.ref, b.ref);
        args = new Entry[] {a, b};
      }
      case 4 -> {
        int[] axes = r.nextInt(3) == 0 ? new int[0] : new int[] {r.nextInt(7) - 3};
        op = in -> Ops.sum(in[0], false, axes);
        ref = () -> sumRef(a.ref, axes);
        args = new Entry[] {a};
      }
      case 5 -> {
        long[] shape = randomReshape(a.ref);
        op = in -> Ops.reshape(in[0], shape);
        ref = () -> reshapeRef(a.ref, shape);
        args = new Entry[] {a};
      }
      case 6 -> {
        op = in -> Ops.transpose(in[0]);
        ref = () -> transposeRef(a.ref);
        args = new Entry[] {a};
      }
      default -> {
        op = in -> Ops.matmul(in[0], in[1]);
        ref = () -> matmulRef(a.ref, b.ref);
        args = new Entry[] {a, b};
      }
    }
    boolean anyClosed = false;
    for (Entry e : args) anyClosed |= e.closed;
    Ref wouldBe = ref.get();
    Ref want = anyClosed ? Ref.INVALID : wouldBe;
    boolean traced = r.nextInt(3) == 0;
    boolean elsewhere = r.nextInt(5) == 0;
    Tensor[] in = new Tensor[args.length];
    for (int k = 0; k < in.length; k++) in[k] = args[k].t;
    Supplier<Tensor> call =
        traced ? () -> Cell.of(x -> op.apply(x)).call(in).asTensor() : () -> op.apply(in);
    String what = "iteration " + iter + ": op kind " + kind + " on " + describe(args) + (traced ? " (compiled)" : " (eager)");
    Tensor got;
    try {
      if (elsewhere) {
        Future<Tensor> f = other.submit(call::get);
        try {
          got = f.get();
        } catch (java.util.concurrent.ExecutionException ee) {
          throw ee.getCause();
        }
        threaded++;
      } else {
        got = call.get();
      }
      if (traced) compiled++;
    } catch (AdjointException e) {
      if (e.getMessage() == null || e.getMessage().isEmpty()) fail(what + ": an AdjointException without a message");
      if (want.valid() && want != Ref.UNKNOWN) fail(what + ": valid per the reference, but threw " + e.getMessage(), e);
      if (anyClosed) {
        closedUses++;
        // A shape error may come first; an otherwise valid op on a closed tensor must say "closed".
        if (wouldBe.valid() && wouldBe != Ref.UNKNOWN && !e.getMessage().contains("closed")) fail(what + ": use after close said " + e.getMessage());
      }
      invalid++;
      return;
    } catch (Throwable t) {
      fail(what + ": threw " + t + " instead of an AdjointException", t);
      return;
    }
    if (!want.valid()) fail(what + ": invalid per the reference, but returned " + got.describe());
    if (want == Ref.UNKNOWN) {
      got.close();
      return;
    }
    compare(what, got, want);
    valid++;
    pool.add(new Entry(got, want));
  }

  private void compare(String what, Tensor got, Ref want) {
    if (!Arrays.equals(got.shape(), want.shape) || got.dtype() != want.dtype)
      fail(what + ": got " + got.describe() + ", reference " + want.dtype + " " + Arrays.toString(want.shape));
    double[] v = got.toDoubleArray();
    double tol = want.dtype == DType.FLOAT32 ? 2e-4 : 1e-9;
    for (int i = 0; i < v.length; i++) {
      double e = want.data[i];
      boolean same = Double.isNaN(e) ? Double.isNaN(v[i])
          : Double.isInfinite(e) || Math.abs(e) > 1e30 ? v[i] == e || Math.abs(v[i] - e) <= 1e-3 * Math.abs(e)
          : Math.abs(v[i] - e) <= tol * Math.max(1, Math.abs(e));
      if (!same) fail(what + ": element " + i + " is " + v[i] + ", reference " + e);
    }
  }

  // ------------------------------------------------------------------ creation

  private void create(int iter) {
    long[] shape = randomShape();
    DType dt = r.nextInt(6) == 0 ? DType.FLOAT32 : DType.FLOAT64;
    boolean bad = r.nextInt(10) == 0;
    if (bad) {
      long[] s = shape.length == 0 ? new long[] {-1} : shape.clone();
      boolean hasZero = Arrays.stream(s).anyMatch(d -> d == 0); // a huge dim next to a zero is a valid empty tensor
      s[r.nextInt(s.length)] = r.nextBoolean() || hasZero ? -1 - r.nextInt(3) : (1L << 40) + r.nextInt(5);
      try {
        Tensor t = r.nextBoolean() ? Tensor.zeros(dt, s) : Tensor.of(new double[4], s);
        t.close();
        fail("iteration " + iter + ": shape " + Arrays.toString(s) + " was accepted");
      } catch (AdjointException e) {
        invalid++;
      }
      return;
    }
    int n = 1;
    for (long d : shape) n *= (int) d;
    double[] data = new double[n];
    for (int i = 0; i < n; i++) data[i] = Math.round((r.nextDouble() * 4 - 2) * 64) / 64.0; // exact in float32
    Tensor t;
    if (dt == DType.FLOAT64) t = Tensor.of(data, shape);
    else {
      float[] f = new float[n];
      for (int i = 0; i < n; i++) f[i] = (float) data[i];
      t = Tensor.of(f, shape);
    }
    pool.add(new Entry(t, new Ref(data, shape, dt)));
  }

  private long[] randomShape() {
    long[] s = new long[r.nextInt(4)];
    for (int i = 0; i < s.length; i++) s[i] = r.nextInt(12) == 0 ? 0 : 1 + r.nextInt(4);
    return s;
  }

  private long[] randomReshape(Ref a) {
    if (!a.valid() || r.nextInt(4) == 0) return randomShape();
    long n = a.numel();
    List<Long> dims = new ArrayList<>();
    long rest = n;
    for (long f = 2; f <= rest && dims.size() < 3; f++) while (rest % f == 0 && dims.size() < 3) { dims.add(f); rest /= f; }
    if (rest != 1) dims.add(rest);
    if (n == 0) dims = List.of(0L, (long) (1 + r.nextInt(3)));
    long[] s = dims.stream().mapToLong(Long::longValue).toArray();
    if (s.length > 0 && n > 0 && r.nextInt(3) == 0) s[r.nextInt(s.length)] = -1;
    return s;
  }

  private Entry pick() {
    return pool.get(r.nextInt(pool.size()));
  }

  private static String describe(Entry[] args) {
    StringBuilder sb = new StringBuilder();
    for (Entry e : args) sb.append(e.ref.dtype).append(Arrays.toString(e.ref.shape)).append(e.closed ? "(closed) " : " ");
    return sb.toString().trim();
  }

  // ------------------------------------------------------------------ ops and their float64 reference

  private static Tensor unaryOp(String name, Tensor x) {
    return switch (name) {
      case "neg" -> Ops.neg(x);
      case "sin" -> Ops.sin(x);
      case "cos" -> Ops.cos(x);
      case "tanh" -> Ops.tanh(x);
      case "square" -> Ops.square(x);
      case "relu" -> Ops.relu(x);
      default -> Ops.exp(x);
    };
  }

  private static Ref unaryRef(String name, Ref a) {
    double[] out = new double[a.numel()];
    for (int i = 0; i < out.length; i++) {
      double x = a.data[i];
      double y = switch (name) {
        case "neg" -> -x;
        case "sin" -> Math.sin(x);
        case "cos" -> Math.cos(x);
        case "tanh" -> Math.tanh(x);
        case "square" -> x * x;
        case "relu" -> x > 0 ? x : (Double.isNaN(x) ? x : 0);
        default -> Math.exp(x);
      };
      out[i] = a.dtype == DType.FLOAT32 ? (float) y : y;
    }
    return new Ref(out, a.shape, a.dtype);
  }

  private static long[] strides(long[] shape) {
    long[] s = new long[shape.length];
    long st = 1;
    for (int i = shape.length - 1; i >= 0; i--) {
      s[i] = st;
      st *= shape[i];
    }
    return s;
  }

  private static Ref binaryRef(String name, Ref a, Ref b) {
    if (a.dtype != b.dtype) return Ref.INVALID;
    int rank = Math.max(a.shape.length, b.shape.length);
    long[] out = new long[rank];
    for (int i = 0; i < rank; i++) {
      long da = i < rank - a.shape.length ? 1 : a.shape[i - (rank - a.shape.length)];
      long db = i < rank - b.shape.length ? 1 : b.shape[i - (rank - b.shape.length)];
      if (da != db && da != 1 && db != 1) return Ref.INVALID;
      out[i] = da == 1 ? db : da;
    }
    int n = 1;
    for (long d : out) n *= (int) d;
    double[] v = new double[n];
    long[] os = strides(out), as = strides(a.shape), bs = strides(b.shape);
    for (int flat = 0; flat < n; flat++) {
      long ia = 0, ib = 0;
      for (int d = 0; d < rank; d++) {
        long idx = (flat / os[d]) % out[d];
        int ka = d - (rank - a.shape.length), kb = d - (rank - b.shape.length);
        if (ka >= 0 && a.shape[ka] != 1) ia += idx * as[ka];
        if (kb >= 0 && b.shape[kb] != 1) ib += idx * bs[kb];
      }
      double x = a.data[(int) ia], y = b.data[(int) ib];
      double z = name.equals("add") ? x + y : name.equals("sub") ? x - y : x * y;
      v[flat] = a.dtype == DType.FLOAT32 ? (float) z : z;
    }
    return new Ref(v, out, a.dtype);
  }

  private static Ref sumRef(Ref a, int[] axes) {
    int rank = a.shape.length;
    boolean[] fold = new boolean[rank];
    if (axes.length == 0) Arrays.fill(fold, true);
    for (int ax : axes) {
      if (ax < -rank || ax >= rank) return Ref.INVALID;
      fold[ax < 0 ? ax + rank : ax] = true;
    }
    List<Long> outShape = new ArrayList<>();
    for (int d = 0; d < rank; d++) if (!fold[d]) outShape.add(a.shape[d]);
    long[] out = outShape.stream().mapToLong(Long::longValue).toArray();
    int n = 1;
    for (long d : out) n *= (int) d;
    double[] v = new double[n];
    long[] as = strides(a.shape), os = strides(out);
    for (int flat = 0; flat < a.numel(); flat++) {
      long o = 0;
      int k = 0;
      for (int d = 0; d < rank; d++) {
        long idx = (flat / as[d]) % a.shape[d];
        if (!fold[d]) o += idx * os[k++];
      }
      v[(int) o] += a.data[flat];
    }
    return new Ref(v, out, a.dtype);
  }

  private static Ref reshapeRef(Ref a, long[] shape) {
    long known = 1;
    int infer = -1;
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] == -1) {
        if (infer >= 0) return Ref.INVALID;
        infer = i;
      } else if (shape[i] < 0) return Ref.INVALID;
      else known *= shape[i];
    }
    long[] out = shape.clone();
    if (infer >= 0) {
      if (known == 0 || a.numel() % known != 0) return Ref.INVALID;
      out[infer] = a.numel() / known;
    } else if (known != a.numel()) return Ref.INVALID;
    return new Ref(a.data, out, a.dtype);
  }

  private static Ref transposeRef(Ref a) {
    int rank = a.shape.length;
    long[] out = new long[rank];
    for (int i = 0; i < rank; i++) out[i] = a.shape[rank - 1 - i];
    double[] v = new double[a.numel()];
    long[] as = strides(a.shape), os = strides(out);
    for (int flat = 0; flat < a.numel(); flat++) {
      long o = 0;
      for (int d = 0; d < rank; d++) o += ((flat / as[d]) % a.shape[d]) * os[rank - 1 - d];
      v[(int) o] = a.data[flat];
    }
    return new Ref(v, out, a.dtype);
  }

  private static Ref matmulRef(Ref a, Ref b) {
    if (a.dtype != b.dtype || a.shape.length < 2 || b.shape.length < 2) return Ref.INVALID;
    if (a.shape.length > 2 || b.shape.length > 2) return Ref.UNKNOWN;
    if (a.shape[1] != b.shape[0]) return Ref.INVALID;
    int m = (int) a.shape[0], k = (int) a.shape[1], n = (int) b.shape[1];
    double[] v = new double[m * n];
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int p = 0; p < k; p++) s += a.data[i * k + p] * b.data[p * n + j];
        v[i * n + j] = a.dtype == DType.FLOAT32 ? (float) s : s;
      }
    return new Ref(v, new long[] {m, n}, a.dtype);
  }
}
