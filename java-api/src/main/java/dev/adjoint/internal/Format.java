package dev.adjoint.internal;

import dev.adjoint.DType;
import dev.adjoint.Tensor;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * Printing in MindSpore's layout, which is NumPy's: {@code [[4.5099998 2.7       3.6000001]]}. Each value
 * gets the fewest digits that identify it in its dtype (at most 8 after the point), columns are aligned
 * on the point, and very large, very small or widely spread values switch to exponent notation.
 */
public final class Format {
  private Format() {}

  public static String shape(long[] shape) {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < shape.length; i++) sb.append(i == 0 ? "" : ", ").append(shape[i]);
    return sb.append(']').toString();
  }

  /** NumPy's print threshold: past this many elements, each axis shows EDGE items at either end. */
  static final int THRESHOLD = 1000, EDGE = 3;

  /**
   * The values to print, in row-major order of the shown indices: all of them, or, for a tensor of more
   * than {@link #THRESHOLD} elements, only the first and last {@link #EDGE} along every longer axis
   * (NumPy's summarisation; the rest prints as {@code ...}). {@code shown[axis]} receives the indices.
   */
  private static double[] shownValues(Tensor t, int[][] shown) {
    long[] shape = t.shape();
    boolean summarise = t.numel() > THRESHOLD;
    for (int a = 0; a < shape.length; a++) {
      long n = shape[a];
      if (summarise && n > 2 * EDGE) {
        shown[a] = new int[2 * EDGE + 1];
        for (int i = 0; i < EDGE; i++) {
          shown[a][i] = i;
          shown[a][EDGE + 1 + i] = (int) (n - EDGE + i);
        }
        shown[a][EDGE] = -1; // the ellipsis
      } else {
        shown[a] = new int[(int) n];
        for (int i = 0; i < n; i++) shown[a][i] = i;
      }
    }
    double[] all = t.toDoubleArray();
    if (!summarise) return all;
    long[] strides = new long[shape.length];
    long st = 1;
    for (int a = shape.length - 1; a >= 0; a--) {
      strides[a] = st;
      st *= shape[a];
    }
    java.util.List<Double> out = new java.util.ArrayList<>();
    gather(all, shown, strides, 0, 0, out);
    double[] v = new double[out.size()];
    for (int i = 0; i < v.length; i++) v[i] = out.get(i);
    return v;
  }

  private static void gather(double[] all, int[][] shown, long[] strides, int axis, long base, java.util.List<Double> out) {
    if (axis == shown.length) {
      out.add(all[(int) base]);
      return;
    }
    for (int i : shown[axis]) if (i >= 0) gather(all, shown, strides, axis + 1, base + i * strides[axis], out);
  }

  public static String values(Tensor t) {
    int[][] shown = new int[t.rank()][];
    double[] v = shownValues(t, shown);
    boolean single = t.dtype() == DType.FLOAT32;
    boolean integer = t.dtype() == DType.INT32;
    String[] s = new String[v.length];
    if (integer) {
      for (int i = 0; i < v.length; i++) s[i] = Long.toString((long) v[i]);
      padLeft(s);
    } else if (useExponent(v)) {
      for (int i = 0; i < v.length; i++) s[i] = exponent(v[i], single);
      alignOnPoint(s);
    } else {
      for (int i = 0; i < v.length; i++) s[i] = positional(v[i], single);
      alignOnPoint(s);
    }
    StringBuilder sb = new StringBuilder();
    long[] shape = t.shape();
    if (shape.length == 0) return s.length == 0 ? "[]" : s[0].strip();
    nest(sb, s, shown, 0, 0, 1, false);
    return sb.toString();
  }

  /**
   * MindSpore's {@code repr} layout (what printing a tuple of tensors shows): every value in exponent
   * notation with 8 digits after the point, a sign column, comma separated:
   * {@code [[ 1.50000000e+00,  1.60000002e+00]]}.
   */
  public static String reprValues(Tensor t) {
    int[][] shown = new int[t.rank()][];
    double[] v = shownValues(t, shown);
    String[] s = new String[v.length];
    for (int i = 0; i < v.length; i++) {
      if (t.dtype() == DType.INT32) s[i] = Long.toString((long) v[i]);
      else if (!Double.isFinite(v[i])) s[i] = Double.isNaN(v[i]) ? " nan" : (v[i] > 0 ? " inf" : "-inf");
      else s[i] = (v[i] < 0 || (v[i] == 0 && 1 / v[i] < 0) ? "-" : " ") + String.format(java.util.Locale.ROOT, "%.8e", Math.abs(v[i]));
    }
    long[] shape = t.shape();
    if (shape.length == 0) return s.length == 0 ? "[]" : s[0];
    StringBuilder sb = new StringBuilder();
    nest(sb, s, shown, 0, 0, 1, true);
    return sb.toString();
  }

  /**
   * Lays out row-major strings as nested brackets; {@code comma} gives NumPy's repr separators
   * ({@code "a, b"} and {@code "],\n ["}) instead of its str ones ({@code "a b"}, {@code "]\n ["}).
   */
  private static int nest(StringBuilder sb, String[] s, int[][] shown, int axis, int offset, int indent, boolean comma) {
    sb.append('[');
    int rank = shown.length;
    for (int k = 0; k < shown[axis].length; k++) {
      boolean ellipsis = shown[axis][k] < 0;
      if (axis == rank - 1) {
        if (k > 0) sb.append(comma ? ", " : " ");
        if (ellipsis) sb.append("...");
        else sb.append(s[offset++]);
      } else {
        if (k > 0) sb.append(comma ? "," : "").append("\n".repeat(rank - 1 - axis)).append(" ".repeat(indent));
        if (ellipsis) sb.append("...");
        else offset = nest(sb, s, shown, axis + 1, offset, indent + 1, comma);
      }
    }
    sb.append(']');
    return offset;
  }

  private static boolean useExponent(double[] v) {
    double max = 0, min = Double.MAX_VALUE;
    boolean any = false;
    for (double x : v) {
      if (!Double.isFinite(x) || x == 0) continue;
      double a = Math.abs(x);
      max = Math.max(max, a);
      min = Math.min(min, a);
      any = true;
    }
    return any && (max >= 1e8 || min < 1e-4 || max / min > 1e3);
  }

  /** The shortest decimal that reads back as the same value in its dtype. */
  static BigDecimal shortest(double v, boolean single) {
    BigDecimal exact = new BigDecimal(v);
    int maxDigits = single ? 9 : 17;
    for (int p = 1; p < maxDigits; p++) {
      BigDecimal r = exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
      if (single ? r.floatValue() == (float) v : r.doubleValue() == v) return r;
    }
    return exact.round(new MathContext(maxDigits, RoundingMode.HALF_EVEN));
  }

  static String positional(double v, boolean single) {
    if (Double.isNaN(v)) return "nan";
    if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
    if (v == 0) return (1 / v < 0) ? "-0." : "0.";
    BigDecimal d = shortest(v, single);
    if (d.scale() > 8) d = d.setScale(8, RoundingMode.HALF_EVEN);
    d = d.stripTrailingZeros();
    String s = d.toPlainString();
    if (!s.contains(".")) s = s + ".";
    if (s.startsWith("-0.") && d.signum() == 0) return "-0.";
    return s;
  }

  static String exponent(double v, boolean single) {
    if (!Double.isFinite(v)) return positional(v, single);
    if (v == 0) return "0.e+00";
    BigDecimal d = shortest(v, single).stripTrailingZeros();
    int exp = d.precision() - d.scale() - 1;
    BigDecimal mant = d.movePointLeft(exp);
    String m = mant.toPlainString();
    if (!m.contains(".")) m = m + ".";
    return m + (exp < 0 ? "e-" : "e+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
  }

  private static void alignOnPoint(String[] s) {
    int left = 0, right = 0;
    for (String x : s) {
      int p = point(x);
      left = Math.max(left, p);
      right = Math.max(right, x.length() - p);
    }
    for (int i = 0; i < s.length; i++) {
      int p = point(s[i]);
      s[i] = " ".repeat(left - p) + s[i] + " ".repeat(right - (s[i].length() - p));
    }
  }

  private static int point(String x) {
    int p = x.indexOf('.');
    return p < 0 ? x.length() : p;
  }

  private static void padLeft(String[] s) {
    int w = 0;
    for (String x : s) w = Math.max(w, x.length());
    for (int i = 0; i < s.length; i++) s[i] = " ".repeat(w - s[i].length()) + s[i];
  }
}
