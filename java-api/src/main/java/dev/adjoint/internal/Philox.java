package dev.adjoint.internal;

/**
 * Philox4x32-10 on the host, bit for bit the engine's (Note [Philox] in adjoint/random.h): the keyed
 * bijection of a 128-bit counter (block index, step) that {@code randomUniform} and the host
 * generators {@code Tensor.rand/uniform/randn/normal} draw from. Element i of a float32 tensor is word
 * i % 4 of block i / 4 (its top 24 bits times 2^-24), of a float64 tensor words 2 (i % 2) and
 * 2 (i % 2) + 1 of block i / 2 (the top 53 of those 64 bits times 2^-53): both in [0, 1).
 */
public final class Philox {
  private Philox() {}

  /** The four 32-bit words of block {@code block} under ({@code key}, {@code step}). */
  public static void block(long key, long step, long block, int[] out) {
    int c0 = (int) block, c1 = (int) (block >>> 32), c2 = (int) step, c3 = (int) (step >>> 32);
    int k0 = (int) key, k1 = (int) (key >>> 32);
    for (int r = 0; r < 10; r++) {
      if (r > 0) {
        k0 += 0x9E3779B9;
        k1 += 0xBB67AE85;
      }
      long p0 = 0xD2511F53L * (c0 & 0xFFFFFFFFL), p1 = 0xCD9E8D57L * (c2 & 0xFFFFFFFFL);
      int hi0 = (int) (p0 >>> 32), lo0 = (int) p0, hi1 = (int) (p1 >>> 32), lo1 = (int) p1;
      int n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
      c0 = n0;
      c1 = lo1;
      c2 = n2;
      c3 = lo0;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
  }

  /** A word's top 24 bits as a float in [0, 1). */
  public static float uniformFloat(int w) {
    return (w >>> 8) * 0x1p-24f;
  }

  /** Two words' top 53 bits as a double in [0, 1). */
  public static double uniformDouble(int hi, int lo) {
    long bits = ((hi & 0xFFFFFFFFL) << 32) | (lo & 0xFFFFFFFFL);
    return (bits >>> 11) * 0x1p-53;
  }

  /** randomUniform's float32 values 0..n-1 for ({@code key}, {@code step}). */
  public static float[] uniformFloats(long key, long step, int n) {
    float[] v = new float[n];
    int[] w = new int[4];
    for (int b = 0; 4L * b < n; b++) {
      block(key, step, b, w);
      for (int j = 0; j < 4 && 4 * b + j < n; j++) v[4 * b + j] = uniformFloat(w[j]);
    }
    return v;
  }

  /** randomUniform's float64 values 0..n-1 for ({@code key}, {@code step}). */
  public static double[] uniformDoubles(long key, long step, int n) {
    double[] v = new double[n];
    int[] w = new int[4];
    for (int b = 0; 2L * b < n; b++) {
      block(key, step, b, w);
      for (int j = 0; j < 2 && 2 * b + j < n; j++) v[2 * b + j] = uniformDouble(w[2 * j], w[2 * j + 1]);
    }
    return v;
  }

  /**
   * n standard normal values by Box-Muller, one per element: element i takes block i (float64: u1 from
   * words 0-1, u2 from words 2-3, 53 bits each) or block i / 2 (float32: words 2 (i % 2) and
   * 2 (i % 2) + 1, 24 bits each), z = sqrt(-2 ln(1 - u1)) cos(2 pi u2), computed in double.
   */
  public static double[] normals(long key, long step, int n, boolean float32) {
    double[] v = new double[n];
    int[] w = new int[4];
    for (int i = 0; i < n; i++) {
      double u1, u2;
      if (float32) {
        if ((i & 1) == 0) block(key, step, i >>> 1, w);
        int j = (i & 1) * 2;
        u1 = uniformFloat(w[j]);
        u2 = uniformFloat(w[j + 1]);
      } else {
        block(key, step, i, w);
        u1 = uniformDouble(w[0], w[1]);
        u2 = uniformDouble(w[2], w[3]);
      }
      v[i] = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }
    return v;
  }
}
