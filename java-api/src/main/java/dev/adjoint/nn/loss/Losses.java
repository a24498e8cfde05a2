package dev.adjoint.nn.loss;

import dev.adjoint.AdjointException;
import dev.adjoint.DType;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import java.util.Arrays;

/**
 * Loss functions, each a composite of public ops (so they trace, fuse and differentiate to any order) and
 * each numerically stable. All reduce to the mean over every element (PyTorch's default
 * {@code reduction='mean'}) unless said otherwise.
 *
 * <pre>{@code
 * Tensor loss = Losses.mse(net.apply(x), target);
 * Tensor ce = Losses.softmaxCrossEntropy(logits, oneHotLabels);   // mean over the batch
 * }</pre>
 */
public final class Losses {
  private Losses() {}

  private static void same(String loss, String what, Tensor a, Tensor b) {
    if (a == null || b == null) throw new AdjointException(loss + ": " + what + " is null");
    if (!Arrays.equals(a.shape(), b.shape()) || a.dtype() != b.dtype())
      throw new AdjointException(loss + ": " + what + " " + b.describe() + " must match the prediction " + a.describe());
  }

  /** Mean of (prediction - target)^2. */
  public static Tensor mse(Tensor prediction, Tensor target) {
    same("mse", "target", prediction, target);
    return Ops.mean(Ops.square(Ops.sub(prediction, target)));
  }

  /** |x| as relu(x) + relu(-x): derivative sign(x), 0 at 0. */
  static Tensor abs(Tensor x) {
    return Ops.add(Ops.relu(x), Ops.relu(Ops.neg(x)));
  }

  /** Mean of |prediction - target|. */
  public static Tensor l1(Tensor prediction, Tensor target) {
    same("l1", "target", prediction, target);
    return Ops.mean(abs(Ops.sub(prediction, target)));
  }

  /**
   * Huber loss with threshold {@code delta} (PyTorch's HuberLoss): 0.5 d^2 where {@code |d| <= delta}, else
   * delta (|d| - 0.5 delta), written as 0.5 m^2 + delta (|d| - m) with m = min(|d|, delta), which is smooth
   * where the pieces meet.
   */
  public static Tensor huber(Tensor prediction, Tensor target, double delta) {
    same("huber", "target", prediction, target);
    if (!(delta > 0)) throw new AdjointException("huber: delta must be > 0, got " + delta);
    Tensor a = abs(Ops.sub(prediction, target));
    Tensor m = Ops.sub(a, Ops.relu(Ops.sub(a, delta)));
    return Ops.mean(Ops.add(Ops.mul(Ops.square(m), 0.5), Ops.mul(Ops.sub(a, m), delta)));
  }

  /**
   * Mean over the batch of -sum(labels * logSoftmax(logits)) over the last axis; labels are one-hot rows
   * or probabilities, or Int32 class indices shaped like logits without its last axis (then this is
   * {@link #sparseSoftmaxCrossEntropy}, as PyTorch's CrossEntropyLoss accepts either). The max shift of
   * logSoftmax is under stopGradient, so it is stable for any logits.
   */
  public static Tensor softmaxCrossEntropy(Tensor logits, Tensor labels) {
    if (labels != null && labels.dtype() == DType.INT32) return sparseSoftmaxCrossEntropy(logits, labels);
    return Ops.softmaxCrossEntropy(logits, labels);
  }

  /**
   * Softmax cross-entropy with Int32 class labels, computed in the graph: mean over the batch of
   * {@code -logSoftmax(logits)[label]}, the label picked by an in-graph {@link Ops#oneHot} (so the labels
   * may be a traced argument; one outside {@code [0, classes)} is an AdjointException, from the host for
   * concrete labels and from the kernel for traced ones). {@code labels.shape} is {@code logits.shape}
   * without its last (class) axis. No gradient flows to the labels.
   *
   * <pre>{@code
   * Tensor loss = Losses.sparseSoftmaxCrossEntropy(logits, Tensor.of(new int[] {2, 0, 1}, 3));   // logits [3, classes]
   * }</pre>
   */
  public static Tensor sparseSoftmaxCrossEntropy(Tensor logits, Tensor labels) {
    if (logits == null) throw new AdjointException("sparseSoftmaxCrossEntropy: logits are null");
    if (labels == null) throw new AdjointException("sparseSoftmaxCrossEntropy: labels are null");
    long[] s = logits.shape();
    if (s.length < 1 || !logits.dtype().isFloating())
      throw new AdjointException("sparseSoftmaxCrossEntropy: logits must be float with a class axis, got " + logits.describe());
    if (labels.dtype() != DType.INT32 || !Arrays.equals(labels.shape(), Arrays.copyOf(s, s.length - 1)))
      throw new AdjointException(
          "sparseSoftmaxCrossEntropy: labels " + labels.describe() + " must be Int32 of shape " + Arrays.toString(Arrays.copyOf(s, s.length - 1))
              + " (logits " + logits.describe() + " without the class axis)");
    Tensor picked = Ops.oneHot(labels, s[s.length - 1], logits.dtype());
    return Ops.mean(Ops.neg(Ops.sum(Ops.mul(picked, Ops.logSoftmax(logits)), false, -1)));
  }

  /**
   * Binary cross-entropy on logits x with targets z in [0, 1] (PyTorch's BCEWithLogitsLoss): the mean of
   * max(x, 0) - x z + log(1 + exp(-|x|)), which never overflows.
   */
  public static Tensor binaryCrossEntropyWithLogits(Tensor logits, Tensor targets) {
    same("binaryCrossEntropyWithLogits", "targets", logits, targets);
    Tensor softplusNegAbs = Ops.log(Ops.add(Ops.exp(Ops.neg(abs(logits))), 1));
    return Ops.mean(Ops.add(Ops.sub(Ops.relu(logits), Ops.mul(logits, targets)), softplusNegAbs));
  }

  /** One-hot float rows of {@code classes} columns for integer labels (host side, for batches). */
  public static Tensor oneHot(int[] labels, int classes, dev.adjoint.DType dtype) {
    if (labels == null) throw new AdjointException("oneHot: labels are null");
    if (classes < 1) throw new AdjointException("oneHot: classes must be >= 1, got " + classes);
    double[] v = new double[Math.multiplyExact(labels.length, classes)];
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] < 0 || labels[i] >= classes)
        throw new AdjointException("oneHot: label " + labels[i] + " at " + i + " is outside [0, " + classes + ")");
      v[i * classes + labels[i]] = 1;
    }
    if (dtype == dev.adjoint.DType.FLOAT64) return Tensor.of(v, labels.length, classes);
    float[] f = new float[v.length];
    for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
    return Tensor.of(f, labels.length, classes);
  }
}
