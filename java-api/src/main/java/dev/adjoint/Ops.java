package dev.adjoint;

import dev.adjoint.internal.Format;
import dev.adjoint.internal.HostFunctions;
import dev.adjoint.internal.Op;
import dev.adjoint.internal.Shapes;
import dev.adjoint.internal.Trace;

/**
 * The primitive ops. Inside a trace they record graph nodes; on concrete tensors outside any trace they
 * run at once (a one-op graph, compiled once per signature and cached). Binary ops broadcast as NumPy
 * does.
 *
 * <pre>{@code
 * Tensor out = Ops.matmul(Ops.mul(x, z), y);                // (x * z) @ y
 * Tensor g   = Ops.matmul(dOut, y, false, true);            // dOut @ y^T, without materialising y^T
 * Tensor s   = Ops.sum(Ops.sin(x), false, 1);               // row sums of sin(x)
 * }</pre>
 */
public final class Ops {
  private Ops() {}

  private static final long[] NO_ATTRS = new long[0];

  private static Tensor unary(Op op, Tensor x) {
    return op.apply(NO_ATTRS, 0, x);
  }

  private static Tensor binary(Op op, Tensor a, Tensor b) {
    return op.apply(NO_ATTRS, 0, a, b);
  }

  // ---------------------------------------------------------------- elementwise

  /** Elementwise {@code -x}. */
  public static Tensor neg(Tensor x) {
    return unary(Op.NEG, x);
  }

  /** Elementwise sine of x (radians); derivative cos(x). */
  public static Tensor sin(Tensor x) {
    return unary(Op.SIN, x);
  }

  /** Elementwise cosine of x (radians); derivative -sin(x). */
  public static Tensor cos(Tensor x) {
    return unary(Op.COS, x);
  }

  /** Elementwise e^x; overflows to +inf for large x (see {@link #logSoftmax} for a stable use). */
  public static Tensor exp(Tensor x) {
    return unary(Op.EXP, x);
  }

  /** Elementwise natural logarithm; -inf at 0 and NaN below it. */
  public static Tensor log(Tensor x) {
    return unary(Op.LOG, x);
  }

  /** Elementwise hyperbolic tangent; derivative 1 - tanh(x)^2. */
  public static Tensor tanh(Tensor x) {
    return unary(Op.TANH, x);
  }

  /** The logistic function 1 / (1 + e^-x), stable for any x. */
  public static Tensor sigmoid(Tensor x) {
    return unary(Op.SIGMOID, x);
  }

  /** |x|; its derivative is sign(x), taken as 0 at x = 0. */
  public static Tensor abs(Tensor x) {
    return unary(Op.ABS, x);
  }

  /** log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|) so it never overflows; derivative sigmoid(x). */
  public static Tensor softplus(Tensor x) {
    return unary(Op.SOFTPLUS, x);
  }

  /** log(1 + x), accurate for small x; NaN below -1. */
  public static Tensor log1p(Tensor x) {
    return unary(Op.LOG1P, x);
  }

  /** e^x - 1, accurate for small x. */
  public static Tensor expm1(Tensor x) {
    return unary(Op.EXPM1, x);
  }

  /** Elementwise max(x, 0); its derivative is {@link #step}(x), 0 at x = 0. */
  public static Tensor relu(Tensor x) {
    return unary(Op.RELU, x);
  }

  /** 1 where x > 0, else 0; its derivative is zero. */
  public static Tensor step(Tensor x) {
    return unary(Op.STEP, x);
  }

  /** Elementwise x^2. */
  public static Tensor square(Tensor x) {
    return unary(Op.SQUARE, x);
  }

  /** Elementwise square root; NaN below 0, and its derivative is infinite at 0. */
  public static Tensor sqrt(Tensor x) {
    return unary(Op.SQRT, x);
  }

  /** {@code a + b} elementwise, broadcasting; both in one dtype (mixing dtypes is an {@link AdjointException}). */
  public static Tensor add(Tensor a, Tensor b) {
    return binary(Op.ADD, a, b);
  }

  /** {@code a - b} elementwise, broadcasting, in one dtype. */
  public static Tensor sub(Tensor a, Tensor b) {
    return binary(Op.SUB, a, b);
  }

  /** {@code a * b} elementwise (not the matrix product: see {@link #matmul}), broadcasting, in one dtype. */
  public static Tensor mul(Tensor a, Tensor b) {
    return binary(Op.MUL, a, b);
  }

  /** {@code a / b} elementwise, broadcasting, in one dtype (IEEE: x / 0 is inf or NaN). */
  public static Tensor div(Tensor a, Tensor b) {
    return binary(Op.DIV, a, b);
  }

  /**
   * Elementwise minimum, broadcasting; NaN if either is NaN. On a tie the result and all of the
   * gradient are a's.
   */
  public static Tensor minimum(Tensor a, Tensor b) {
    return binary(Op.MINIMUM, a, b);
  }

  /**
   * Elementwise maximum, broadcasting; NaN if either is NaN. On a tie the result and all of the
   * gradient are a's.
   */
  public static Tensor maximum(Tensor a, Tensor b) {
    return binary(Op.MAXIMUM, a, b);
  }

  /** 1 where {@code a < b}, else 0, in the inputs' dtype (broadcasting; NaN compares false); zero derivative. */
  public static Tensor lt(Tensor a, Tensor b) {
    return binary(Op.LT, a, b);
  }

  /** 1 where {@code a <= b}, else 0, in the inputs' dtype (broadcasting; NaN compares false); zero derivative. */
  public static Tensor le(Tensor a, Tensor b) {
    return binary(Op.LE, a, b);
  }

  /** 1 where {@code a > b}, else 0, in the inputs' dtype (broadcasting; NaN compares false); zero derivative. */
  public static Tensor gt(Tensor a, Tensor b) {
    return binary(Op.GT, a, b);
  }

  /** 1 where {@code a >= b}, else 0, in the inputs' dtype (broadcasting; NaN compares false); zero derivative. */
  public static Tensor ge(Tensor a, Tensor b) {
    return binary(Op.GE, a, b);
  }

  /** 1 where a == b, else 0, in the inputs' dtype (broadcasting; NaN compares false); zero derivative. */
  public static Tensor eq(Tensor a, Tensor b) {
    return binary(Op.EQ, a, b);
  }

  /**
   * a where mask != 0, else b (broadcasting), as m a + (1 - m) b with m = 1 - eq(mask, 0): the
   * gradient reaches a and b through m, none reaches the mask. Being arithmetic, an infinite or NaN
   * value in the input that is not selected still gives NaN there (0 * inf).
   */
  public static Tensor where(Tensor mask, Tensor a, Tensor b) {
    Tensor m = sub(onesLikeScalar(mask), eq(mask, scalarLike(0, mask.dtype())));
    return add(mul(m, a), mul(sub(onesLikeScalar(m), m), b));
  }

  /** x limited to [lo, hi] (broadcasting): minimum(maximum(x, lo), hi); the gradient goes to x inside, to lo / hi at the bounds. */
  public static Tensor clamp(Tensor x, Tensor lo, Tensor hi) {
    return minimum(maximum(x, lo), hi);
  }

  /**
   * a raised to b elementwise (broadcasting), as C's {@code pow} and NumPy's {@code np.power} on floats:
   * a negative base with an integral exponent is finite ({@code pow(-2, 3) = -8}), with a non-integral
   * one NaN; {@code pow(x, 0) = 1} and {@code pow(1, y) = 1} for every x and y, NaN included;
   * {@code pow(0, y < 0) = inf}. From the math library, so CPU and CUDA may differ by a few ulp.
   * Derivatives: d/da = b a^(b-1) (0 where b = 0, finite at a negative base with an integral b);
   * d/db = a^b log a where {@code a > 0} and 0 where {@code a <= 0} (as TensorFlow defines it; Note [pow derivatives]).
   *
   * <pre>{@code Tensor y = Ops.pow(x, Tensor.of(new double[] {2, 0.5}));   // [x0^2, sqrt(x1)]}</pre>
   */
  public static Tensor pow(Tensor a, Tensor b) {
    return binary(Op.POW, a, b);
  }

  /** a raised to the constant b elementwise: {@link #pow(Tensor, Tensor)} with b a scalar of a's dtype. */
  public static Tensor pow(Tensor a, double b) {
    if (a == null) throw new AdjointException("pow: input 0 is null");
    return pow(a, scalarLike(b, a.dtype()));
  }

  /** {@code a + b} for a scalar b, taken in a's dtype. */
  public static Tensor add(Tensor a, double b) {
    return add(a, scalarLike(b, a.dtype()));
  }

  /** {@code a - b} for a scalar b, taken in a's dtype. */
  public static Tensor sub(Tensor a, double b) {
    return sub(a, scalarLike(b, a.dtype()));
  }

  /** {@code a * b} for a scalar b, taken in a's dtype. */
  public static Tensor mul(Tensor a, double b) {
    return mul(a, scalarLike(b, a.dtype()));
  }

  /** {@code a / b} for a scalar b, taken in a's dtype. */
  public static Tensor div(Tensor a, double b) {
    return div(a, scalarLike(b, a.dtype()));
  }

  // ---------------------------------------------------------------- matmul

  /**
   * The matrix product {@code a @ b} over the last two axes ({@code [..., m, k] @ [..., k, n]}), leading axes
   * broadcasting; mismatched inner sizes are an {@link AdjointException} naming both shapes.
   */
  public static Tensor matmul(Tensor a, Tensor b) {
    return matmul(a, b, false, false);
  }

  /**
   * op(a) @ op(b), where op transposes the last two axes when asked; the engine passes the transposes
   * to BLAS as flags. Leading (batch) axes broadcast.
   */
  public static Tensor matmul(Tensor a, Tensor b, boolean transposeA, boolean transposeB) {
    return Op.MATMUL.apply(new long[] {transposeA ? 1 : 0, transposeB ? 1 : 0}, 0, a, b);
  }

  // ---------------------------------------------------------------- reductions

  /** Sum of all elements, as a rank-0 tensor. */
  public static Tensor sum(Tensor x) {
    return sum(x, false);
  }

  /** Sum over {@code axes} (all when none are given); negative axes count from the end. */
  public static Tensor sum(Tensor x, boolean keepdims, int... axes) {
    return Op.SUM.apply(reduceAttrs("sum", x, keepdims, axes), 0, x);
  }

  /** The mean of all elements, as a rank-0 tensor. */
  public static Tensor mean(Tensor x) {
    return mean(x, false);
  }

  /**
   * The mean over {@code axes} (all when none are given; negative axes count from the end), keeping them
   * as size 1 when {@code keepdims}; an axis out of range is an {@link AdjointException}.
   */
  public static Tensor mean(Tensor x, boolean keepdims, int... axes) {
    return Op.MEAN.apply(reduceAttrs("mean", x, keepdims, axes), 0, x);
  }

  /** Maximum over axes; not differentiable (use it under {@link #stopGradient}). */
  public static Tensor max(Tensor x, boolean keepdims, int... axes) {
    return Op.MAX.apply(reduceAttrs("max", x, keepdims, axes), 0, x);
  }

  /** Sums {@code x} down to {@code shape}: the reverse of broadcasting {@code shape} to x's shape. */
  public static Tensor sumToShape(Tensor x, long... shape) {
    Shapes.numel("sumToShape", shape);
    return Op.SUM_TO_SHAPE.apply(shape.clone(), 0, x);
  }

  private static long[] reduceAttrs(String op, Tensor x, boolean keepdims, int[] axes) {
    if (x == null) throw new AdjointException(op + ": input 0 is null");
    if (axes == null) throw new AdjointException(op + ": axes are null");
    int rank = x.rank();
    for (int ax : axes)
      if (ax < -rank || ax >= rank)
        throw new AdjointException(
            op + ": axis " + ax + " is out of range for " + x.describe() + " (rank " + rank + ": axes "
                + (rank == 0 ? "none" : -rank + " to " + (rank - 1)) + ")");
    long[] a = new long[axes.length + 1];
    a[0] = keepdims ? 1 : 0;
    for (int i = 0; i < axes.length; i++) a[i + 1] = axes[i];
    return a;
  }

  // ---------------------------------------------------------------- shapes

  /**
   * The elements of x, in row-major order, in {@code shape}; one dimension may be -1 and is inferred. A
   * different element count is an {@link AdjointException} naming both.
   */
  public static Tensor reshape(Tensor x, long... shape) {
    if (shape == null) throw new AdjointException("reshape: shape is null");
    long known = 1;
    int inferred = 0;
    for (long d : shape) {
      if (d == -1) {
        inferred++;
        continue;
      }
      if (d < 0) throw new AdjointException("reshape: dimension " + d + " in " + Format.shape(shape) + " is negative (only one -1 is allowed)");
      try {
        known = Math.multiplyExact(known, d);
      } catch (ArithmeticException e) {
        throw new AdjointException("reshape: shape " + Format.shape(shape) + " has more elements than a 64-bit count can hold");
      }
    }
    if (inferred > 1) throw new AdjointException("reshape: shape " + Format.shape(shape) + " has more than one -1");
    if (x != null && inferred == 0 && known != x.numel())
      throw new AdjointException(
          "reshape: " + x.describe() + " has " + x.numel() + " elements, shape " + Format.shape(shape) + " has " + known);
    return Op.RESHAPE.apply(shape.clone(), 0, x);
  }

  /** Permutes axes; with no perm, reverses them. */
  public static Tensor transpose(Tensor x, long... perm) {
    return Op.TRANSPOSE.apply(perm.clone(), 0, x);
  }

  /**
   * x repeated along its size-1 (or missing leading) axes to {@code shape}, as NumPy's broadcast_to; its
   * gradient is {@link #sumToShape} back to x's shape.
   */
  public static Tensor broadcastTo(Tensor x, long... shape) {
    Shapes.numel("broadcastTo", shape);
    return Op.BROADCAST_TO.apply(shape.clone(), 0, x);
  }

  // ---------------------------------------------------------------- indexing

  /** {@code x[..., start:stop, ...]} along {@code axis} (step 1); see {@link #slice(Tensor, int, long, long, long)}. */
  public static Tensor slice(Tensor x, int axis, long start, long stop) {
    return slice(x, axis, start, stop, 1);
  }

  /**
   * {@code x[..., start:stop:step, ...]} along {@code axis}, as Python slices it except that nothing is
   * clamped: negative {@code start}/{@code stop} count from the end, and after that {@code 0 <= start <=
   * stop <= dim} must hold (else an error naming the axis and shape); {@code step >= 1}. Linear: its
   * gradient writes the cotangent back into zeros of x's shape, and that is sliced again at second order.
   * Works for every dtype.
   *
   * <pre>{@code
   * Tensor evenCols = Ops.slice(x, 1, 0, x.shape()[1], 2);   // x[:, ::2]
   * Tensor last = Ops.slice(x, 0, -1, x.shape()[0]);         // x[-1:]
   * }</pre>
   */
  public static Tensor slice(Tensor x, int axis, long start, long stop, long step) {
    int a = axisOf("slice", x, axis, 0);
    long dim = x.shape()[a];
    long s0 = start < 0 ? start + dim : start, s1 = stop < 0 ? stop + dim : stop;
    if (step < 1) throw new AdjointException("slice: step " + step + " must be >= 1");
    if (s0 < 0 || s1 > dim || s0 > s1)
      throw new AdjointException(
          "slice: start " + start + " and stop " + stop + " are out of range for axis " + axis + " of " + x.describe()
              + " (after counting negative values from the end, 0 <= start <= stop <= " + dim + " must hold)");
    return Op.SLICE.apply(new long[] {a, s0, s1, step}, 0, x);
  }

  /** {@code length} elements of {@code x} from {@code start} along {@code axis} (PyTorch's narrow; a negative start counts from the end). */
  public static Tensor narrow(Tensor x, int axis, long start, long length) {
    int a = axisOf("narrow", x, axis, 0);
    long dim = x.shape()[a];
    long s0 = start < 0 ? start + dim : start;
    if (length < 0 || s0 < 0 || s0 > dim || length > dim - s0)
      throw new AdjointException(
          "narrow: start " + start + " and length " + length + " do not fit axis " + axis + " of " + x.describe() + " (size " + dim + ")");
    return Op.SLICE.apply(new long[] {a, s0, s0 + length, 1}, 0, x);
  }

  /**
   * The tensors joined along {@code axis} (same dtype and rank, equal dims elsewhere). Linear in each:
   * its gradient slices the cotangent apart.
   *
   * <pre>{@code
   * Tensor xy = Ops.concat(1, x, y);     // [n, a] and [n, b] -> [n, a + b]
   * }</pre>
   */
  public static Tensor concat(int axis, Tensor... tensors) {
    if (tensors == null || tensors.length == 0) throw new AdjointException("concat: needs at least one tensor");
    for (int i = 0; i < tensors.length; i++) if (tensors[i] == null) throw new AdjointException("concat: tensor " + i + " is null");
    int a = axisOf("concat", tensors[0], axis, 0);
    Tensor first = tensors[0];
    for (int i = 1; i < tensors.length; i++) {
      Tensor t = tensors[i];
      boolean ok = t.dtype() == first.dtype() && t.rank() == first.rank();
      for (int d = 0; ok && d < first.rank(); d++) ok = d == a || t.shape()[d] == first.shape()[d];
      if (!ok)
        throw new AdjointException(
            "concat: tensor " + i + " " + t.describe() + " does not match tensor 0 " + first.describe() + " outside axis " + axis
                + " (same dtype, rank and other dims needed)");
    }
    return Op.CONCAT.apply(new long[] {a}, 0, tensors);
  }

  /**
   * The tensors (same dtype and shape) stacked along a new axis {@code axis} (in {@code [-(rank+1), rank]}):
   * each gets a size-1 axis there, then they are concatenated.
   *
   * <pre>{@code
   * Tensor xy = Ops.stack(0, x, y);      // two [3] -> [2, 3]
   * }</pre>
   */
  public static Tensor stack(int axis, Tensor... tensors) {
    if (tensors == null || tensors.length == 0) throw new AdjointException("stack: needs at least one tensor");
    for (int i = 0; i < tensors.length; i++) if (tensors[i] == null) throw new AdjointException("stack: tensor " + i + " is null");
    long[] s = tensors[0].shape();
    int r = s.length;
    if (axis < -(r + 1) || axis > r)
      throw new AdjointException("stack: axis " + axis + " is out of range for tensors of rank " + r + " (axes " + -(r + 1) + " to " + r + ")");
    int a = axis < 0 ? axis + r + 1 : axis;
    long[] t = new long[r + 1];
    for (int d = 0, k = 0; d <= r; d++) t[d] = d == a ? 1 : s[k++];
    Tensor[] parts = new Tensor[tensors.length];
    for (int i = 0; i < parts.length; i++) {
      if (!java.util.Arrays.equals(tensors[i].shape(), s) || tensors[i].dtype() != tensors[0].dtype())
        throw new AdjointException("stack: tensor " + i + " " + tensors[i].describe() + " does not match tensor 0 " + tensors[0].describe());
      parts[i] = reshape(tensors[i], t);
    }
    return concat(a, parts);
  }

  /**
   * NumPy's {@code take(x, indices, axis)} (TensorFlow's {@code gather}, not PyTorch's elementwise
   * {@code torch.gather}): the slices of x at {@code indices} (Int32, any shape) along {@code axis}; the
   * result's shape is {@code x.shape[:axis] + indices.shape + x.shape[axis+1:]}. Every index must be in
   * {@code [0, dim)}: checked here when the indices are concrete, and by the kernel when they are traced
   * (an AdjointException from the run; nothing is read out of bounds). The gradient to x is a
   * {@link #scatterAdd} (repeated indices accumulate); none flows to the indices.
   *
   * <pre>{@code
   * Tensor rows = Ops.take(table, 0, Tensor.of(new int[] {2, 0, 2}));   // [3, dim]
   * }</pre>
   */
  public static Tensor take(Tensor x, int axis, Tensor indices) {
    return gather(x, axis, indices);
  }

  /** The same as {@link #take} (TensorFlow's name). */
  public static Tensor gather(Tensor x, int axis, Tensor indices) {
    int a = axisOf("gather", x, axis, 0);
    checkIndices("gather", indices, x.shape()[a], "axis " + axis + " of " + x.describe());
    return Op.GATHER.apply(new long[] {a}, 0, x, indices);
  }

  /**
   * The transpose of {@link #gather}: zeros of shape {@code g.shape[:axis] + [dim] + g.shape[axis+k:]}
   * ({@code k} the rank of the Int32 {@code indices}, which must equal {@code g}'s dims from {@code axis}),
   * with each slice of {@code g} added at its index; repeated indices accumulate (PyTorch's index_add
   * into zeros). Float32/Float64; its gradient is a gather.
   */
  public static Tensor scatterAdd(Tensor g, int axis, Tensor indices, long dim) {
    if (g == null) throw new AdjointException("scatterAdd: input 0 is null");
    if (indices == null) throw new AdjointException("scatterAdd: indices are null");
    if (axis < 0 || axis + indices.rank() > g.rank())
      throw new AdjointException(
          "scatterAdd: axis " + axis + " with indices " + indices.describe() + " does not fit " + g.describe());
    checkIndices("scatterAdd", indices, dim, "dim " + dim);
    return Op.SCATTER_ADD.apply(new long[] {axis, dim}, 0, g, indices);
  }

  /**
   * One-hot rows: shape {@code indices.shape + [depth]}, 1 at each index and 0 elsewhere, in
   * {@code dtype} (Float32/Float64). Indices outside {@code [0, depth)} are an error (checked here for
   * concrete indices, by the kernel for traced ones). No gradient flows through it.
   */
  public static Tensor oneHot(Tensor indices, long depth, DType dtype) {
    if (dtype == null || !dtype.isFloating()) throw new AdjointException("oneHot: dtype " + dtype + " must be Float32 or Float64");
    if (depth < 1) throw new AdjointException("oneHot: depth " + depth + " must be >= 1");
    checkIndices("oneHot", indices, depth, "depth " + depth);
    return Op.ONE_HOT.apply(new long[] {depth, dtype.code}, 0, indices);
  }

  /**
   * The Int32 position of the maximum along {@code axis} (the first one on a tie; a NaN counts as the
   * maximum, as NumPy's argmax does); not differentiable (an integer result: nothing flows through it).
   */
  public static Tensor argmax(Tensor x, int axis, boolean keepdims) {
    int a = axisOf("argmax", x, axis, 0);
    if (x.shape()[a] == 0) throw new AdjointException("argmax: axis " + axis + " of " + x.describe() + " is empty");
    return Op.ARGMAX.apply(new long[] {a, keepdims ? 1 : 0}, 0, x);
  }

  /**
   * log(sum(exp(x))) along {@code axis}, stable for any x: {@code m + log(sum(exp(x - m)))} with the
   * shift m = max(x) under stopGradient (clamped to the dtype's finite range, so all -inf gives -inf
   * and an inf gives inf, not NaN). The shift cancels in the value, so the gradient, softmax(x), is exact,
   * to any order.
   */
  public static Tensor logSumExp(Tensor x, int axis, boolean keepdims) {
    int a = axisOf("logSumExp", x, axis, 0);
    double big = x.dtype() == DType.FLOAT32 ? Float.MAX_VALUE : Double.MAX_VALUE;
    Tensor m = stopGradient(clamp(max(x, true, a), scalarLike(-big, x.dtype()), scalarLike(big, x.dtype())));
    Tensor lse = add(log(sum(exp(sub(x, m)), true, a)), m);
    if (keepdims) return lse;
    long[] s = x.shape(), t = new long[s.length - 1];
    for (int d = 0, k = 0; d < s.length; d++) if (d != a) t[k++] = s[d];
    return reshape(lse, t);
  }

  /** The axis normalised against x's rank (negative counts from the end), or an error naming op and shape. */
  private static int axisOf(String op, Tensor x, int axis, int input) {
    if (x == null) throw new AdjointException(op + ": input " + input + " is null");
    int r = x.rank();
    if (axis < -r || axis >= r)
      throw new AdjointException(
          op + ": axis " + axis + " is out of range for " + x.describe() + " (rank " + r + ": axes "
              + (r == 0 ? "none" : -r + " to " + (r - 1)) + ")");
    return axis < 0 ? axis + r : axis;
  }

  /**
   * Int32 indices in [0, dim): concrete ones are read and checked now (the error names the first bad
   * one); traced ones are checked by the kernel at run time (Note [Index errors] in backend_util.h).
   */
  private static void checkIndices(String op, Tensor indices, long dim, String what) {
    if (indices == null) throw new AdjointException(op + ": indices are null");
    if (indices.dtype() != DType.INT32) throw new AdjointException(op + ": indices " + indices.describe() + " must be Int32");
    if (indices.isSymbolic()) return;
    int[] v = indices.toIntArray();
    for (int i = 0; i < v.length; i++)
      if (v[i] < 0 || v[i] >= dim)
        throw new AdjointException(
            op + ": index " + v[i] + " at position " + i + " of the indices " + indices.describe() + " is out of range [0, " + dim
                + ") for " + what);
  }

  // ---------------------------------------------------------------- constants

  /**
   * A Float32 or Float64 tensor of {@code shape} with every element {@code value} (a constant of the graph
   * inside a trace); Int32 is an {@link AdjointException}.
   */
  public static Tensor fill(DType dtype, double value, long... shape) {
    if (dtype == null) throw new AdjointException("fill: dtype is null");
    if (!dtype.isFloating()) throw new AdjointException("fill: dtype " + dtype + " is not supported (Float32 or Float64)");
    Shapes.byteSize("fill", dtype, shape);
    long[] attrs = new long[shape.length + 1];
    attrs[0] = dtype.code;
    System.arraycopy(shape, 0, attrs, 1, shape.length);
    return Op.FILL.apply(attrs, value);
  }

  /** A rank-0 constant; broadcasts against anything. */
  public static Tensor scalarLike(double value, DType dtype) {
    return fill(dtype, value);
  }

  /** Ones with x's shape and dtype. */
  public static Tensor onesLike(Tensor x) {
    return unary(Op.ONES_LIKE, x);
  }

  /** Zeros with x's shape and dtype. */
  public static Tensor zerosLike(Tensor x) {
    return unary(Op.ZEROS_LIKE, x);
  }

  // ---------------------------------------------------------------- random numbers

  /**
   * Uniform values in [0, 1) of {@code shape}, a pure function of ({@code key}, the value of the
   * one-element {@code counter}, element index): Philox4x32-10 (Note [Philox] in adjoint/random.h),
   * the same bits on the CPU and CUDA and as {@link Tensor#rand(long, DType, long...)} for counter 0.
   * Inside a trace the counter is a graph value, so feeding it a new value each call (a call argument
   * or a {@link Parameter} the step increments) gives new numbers without recompiling. The counter's
   * value is truncated to an integer (exact up to 2^53 in Float64, 2^24 in Float32). Zero derivative.
   *
   * <pre>{@code Tensor u = Ops.randomUniform(step, 42, DType.FLOAT32, 128, 64);}</pre>
   */
  public static Tensor randomUniform(Tensor counter, long key, DType dtype, long... shape) {
    if (counter == null) throw new AdjointException("randomUniform: counter is null");
    if (dtype == null) throw new AdjointException("randomUniform: dtype is null");
    if (!dtype.isFloating()) throw new AdjointException("randomUniform: dtype " + dtype + " is not supported (Float32 or Float64)");
    if (shape == null) throw new AdjointException("randomUniform: shape is null");
    if (counter.numel() != 1)
      throw new AdjointException("randomUniform: the counter must have one element, got " + counter.describe());
    Shapes.byteSize("randomUniform", dtype, shape);
    long[] attrs = new long[shape.length + 2];
    attrs[0] = dtype.code;
    attrs[1] = key;
    System.arraycopy(shape, 0, attrs, 2, shape.length);
    return Op.RANDOM_UNIFORM.apply(attrs, 0, counter);
  }

  /**
   * An inverted-dropout mask of {@code shape}: 0 with probability p, else 1 / (1 - p), from
   * {@link #randomUniform} of ({@code key}, {@code step}) (kept where the uniform value is >= p).
   */
  public static Tensor dropoutMask(Tensor step, long key, double p, DType dtype, long... shape) {
    checkDropoutRate(p);
    if (p == 0) return fill(dtype, 1, shape);
    if (p == 1) return fill(dtype, 0, shape);
    Tensor keep = ge(randomUniform(step, key, dtype, shape), scalarLike(p, dtype));
    return mul(keep, scalarLike(1 / (1 - p), dtype));
  }

  /**
   * Inverted dropout: each element of x is zeroed with probability p and the others are scaled by
   * 1 / (1 - p), so the expectation is x. The mask is {@link #dropoutMask} of ({@code key}, {@code step}):
   * a new step (a runtime scalar: a call argument or a parameter updated in the step) gives a new mask
   * without recompiling, the same step the same mask. The gradient is the same mask times the incoming
   * gradient. p = 0 returns x; p = 1 gives zeros (and a zero gradient).
   *
   * <pre>{@code
   * Cell f = Cell.of(in -> Ops.dropout(in[0], 0.1, 7, in[1]));   // in[1]: the step, a scalar
   * for (int k = 0; k < n; k++) f.call(x, Tensor.scalar((double) k));   // compiled once
   * }</pre>
   */
  public static Tensor dropout(Tensor x, double p, long key, Tensor step) {
    if (x == null) throw new AdjointException("dropout: input 0 is null");
    checkDropoutRate(p);
    if (p == 0) return x;
    if (p == 1) return zerosLike(x);
    return mul(x, dropoutMask(step, key, p, x.dtype(), x.shape()));
  }

  /** {@link #dropout(Tensor, double, long, Tensor)} with key 0: the runtime scalar {@code seed} alone picks the mask. */
  public static Tensor dropout(Tensor x, double p, Tensor seed) {
    return dropout(x, p, 0, seed);
  }

  /**
   * Dropout with a given mask: {@code x * mask} (broadcasting), where the mask holds 0 for dropped
   * elements and the scale (1 / (1 - p) for inverted dropout) for kept ones, as {@link #dropoutMask}
   * makes it; the gradient is the incoming gradient times the same mask, and none reaches the mask.
   */
  public static Tensor dropout(Tensor x, Tensor mask) {
    if (x == null) throw new AdjointException("dropout: input 0 is null");
    if (mask == null) throw new AdjointException("dropout: mask is null");
    return mul(x, stopGradient(mask));
  }

  private static void checkDropoutRate(double p) {
    if (!(p >= 0 && p <= 1)) throw new AdjointException("dropout: p must be in [0, 1], got " + p);
  }

  // ---------------------------------------------------------------- autodiff control

  /** The value of x, through which no derivative flows (MindSpore's {@code stop_gradient}). */
  public static Tensor stopGradient(Tensor x) {
    if (Trace.current() == null) return x; // nothing is being differentiated outside a trace
    return unary(Op.STOP_GRADIENT, x);
  }

  // ---------------------------------------------------------------- in-place updates

  /**
   * Writes {@code value} into {@code parameter} in place (same shape and dtype). Inside a Cell being
   * traced, such as an optimizer's step, the write is part of the compiled graph: it happens at the end of
   * every run, atomically with respect to other runs (Note [Parameter consistency]), and reads of the
   * parameter in that graph see its value from before the step. Outside a trace it is
   * {@link Parameter#assign}.
   *
   * <pre>{@code
   * // in an Optimizer's update(grads), which is traced into the step:
   * Ops.assign(p, Ops.sub(p, Ops.mul(grads[i], lr)));
   * }</pre>
   */
  public static void assign(Parameter parameter, Tensor value) {
    if (parameter == null) throw new AdjointException("assign: parameter is null");
    if (value == null) throw new AdjointException("assign: value for parameter '" + parameter.name() + "' is null");
    Trace trace = Trace.current();
    if (trace == null) parameter.assign(value);
    else trace.update(parameter, value);
  }

  /**
   * Whether the graph being traced already writes {@code parameter} ({@link #assign}); false outside a
   * trace. A cell that updates its own state once per step however often it is called in one graph
   * (the step counter of {@code nn.Dropout}) asks this before assigning.
   */
  public static boolean assigned(Parameter parameter) {
    if (parameter == null) throw new AdjointException("assigned: parameter is null");
    Trace trace = Trace.current();
    return trace != null && trace.updated.contains(parameter);
  }

  // ---------------------------------------------------------------- host code

  /**
   * A node whose body is Java code on host arrays (for what no op expresses). It has no derivative of
   * its own: give it one with a Cell that overrides bprop.
   *
   * <pre>{@code
   * Tensor y = Ops.hostCall("cube", (in, out) -> { for (int i = 0; i < out.length; i++) out[i] = Math.pow(in[0][i], 3); },
   *                         x.dtype(), x.shape(), x);
   * }</pre>
   */
  public static Tensor hostCall(String name, HostKernel kernel, DType outDtype, long[] outShape, Tensor... in) {
    return HostFunctions.call(name, kernel, outDtype, outShape, in);
  }

  /**
   * The body of {@link #hostCall}: reads {@code inputs}, fills {@code output}, both row-major.
   *
   * <pre>{@code
   * Ops.HostKernel twice = (in, out) -> { for (int i = 0; i < out.length; i++) out[i] = 2 * in[0][i]; };
   * }</pre>
   */
  @FunctionalInterface
  public interface HostKernel {
    /** Fills {@code output} (row-major, of the node's output shape) from {@code inputs}, one array per input tensor. */
    void compute(double[][] inputs, double[] output);
  }

  // ---------------------------------------------------------------- composites

  /** log(softmax(x)) over the last axis, stable: the max shift sits under stopGradient. */
  public static Tensor logSoftmax(Tensor x) {
    Tensor shift = stopGradient(max(x, true, -1));
    Tensor z = sub(x, shift);
    return sub(z, log(sum(exp(z), true, -1)));
  }

  /** Mean over the batch of -sum(labels * logSoftmax(logits)); labels are one-hot or probabilities. */
  public static Tensor softmaxCrossEntropy(Tensor logits, Tensor labels) {
    if (logits == null) throw new AdjointException("softmaxCrossEntropy: logits are null");
    if (labels == null) throw new AdjointException("softmaxCrossEntropy: labels are null");
    if (!java.util.Arrays.equals(logits.shape(), labels.shape()) || logits.dtype() != labels.dtype())
      throw new AdjointException(
          "softmaxCrossEntropy: labels " + labels.describe() + " must match logits " + logits.describe()
              + " (one-hot or probability rows, same dtype)");
    if (logits.rank() < 1) throw new AdjointException("softmaxCrossEntropy: logits must have a class axis, got " + logits.describe());
    Tensor perRow = neg(sum(mul(labels, logSoftmax(logits)), false, -1));
    return mean(perRow);
  }

  private static Tensor onesLikeScalar(Tensor like) {
    return scalarLike(1, like.dtype());
  }
}
