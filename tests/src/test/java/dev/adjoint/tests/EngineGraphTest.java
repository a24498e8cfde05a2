package dev.adjoint.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.engine.AdjointEngine;
import dev.adjoint.AdjointException;
import dev.adjoint.internal.Op;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.bytedeco.javacpp.DoublePointer;
import org.junit.jupiter.api.Test;

/**
 * The engine through its binding alone: a graph mixing matmul in every transpose combination, sin, cos
 * and broadcasting arithmetic, compiled once and run on several inputs, against plain-Java float64.
 */
class EngineGraphTest {
  static final int F64 = 1;

  static int op(String name) {
    for (int i = 0; i < AdjointEngine.opCount(); i++) if (AdjointEngine.opName(i).equals(name)) return i;
    throw new AssertionError("no op " + name);
  }

  static int node(AdjointEngine.Graph g, String op, long[] attrs, int... in) {
    return g.addNode(op(op), in, in.length, attrs, attrs.length, 0);
  }

  /** Every Java op finds its engine kernel by name (Note [Kernel ids by name] in Op: no shared order). */
  @Test
  void everyJavaOpResolvesToAnEngineKernel() {
    for (Op o : Op.values()) {
      assertTrue(o.kernelId() >= 0 && o.kernelId() < AdjointEngine.opCount(), o + ": kernel id " + o.kernelId());
      assertEquals(o.kernelName, AdjointEngine.opName(o.kernelId()), "kernel of " + o);
      if (o.isKernel()) assertEquals(o.opName, o.kernelName);
      else assertEquals("identity", o.kernelName, o + " is a Java-only marker");
      assertEquals(o.kernelId(), Op.kernelIdOf(o.kernelName));
    }
    AdjointException e = assertThrows(AdjointException.class, () -> Op.kernelIdOf("noSuchKernel"));
    assertTrue(e.getMessage().contains("no kernel named noSuchKernel"), e.getMessage());
  }

  /** ...and every engine kernel has its Java entry, so an op cannot be half-added. */
  @Test
  void everyEngineKernelHasAJavaEntry() {
    Set<String> java = new HashSet<>();
    for (Op o : Op.values()) if (o.isKernel()) java.add(o.opName);
    List<String> missing = new ArrayList<>();
    for (int i = 0; i < AdjointEngine.opCount(); i++)
      if (!java.contains(AdjointEngine.opName(i))) missing.add(AdjointEngine.opName(i));
    assertTrue(missing.isEmpty(), "engine kernels without a Java op: " + missing);
    assertEquals(AdjointEngine.opCount(), java.size(), "Java and native op tables have the same size");
  }

  @Test
  void compileOnceRunMany() {
    long[] none = new long[0];
    try (AdjointEngine.Graph g = new AdjointEngine.Graph()) {
      int a = g.addInput(F64, new long[] {2, 3}, 2);
      int at = g.addInput(F64, new long[] {3, 2}, 2);
      int b = g.addInput(F64, new long[] {3, 4}, 2);
      int bt = g.addInput(F64, new long[] {4, 3}, 2);
      int c = g.addInput(F64, new long[] {4}, 1);
      int m00 = node(g, "matmul", new long[] {0, 0}, a, b);
      int m10 = node(g, "matmul", new long[] {1, 0}, at, b);
      int m01 = node(g, "matmul", new long[] {0, 1}, a, bt);
      int m11 = node(g, "matmul", new long[] {1, 1}, at, bt);
      int o1 = node(g, "add", none, node(g, "sin", none, m00), c);                       // sin(AB) + c
      int o2 = node(g, "mul", none, node(g, "cos", none, m10), c);                       // cos(At^T B) * c
      int o3 = node(g, "sub", none, m01, c);                                               // A Bt^T - c
      int one = g.addNode(op("fill"), new int[0], 0, new long[] {F64}, 1, 1.0);
      int o4 = node(g, "div", none, node(g, "neg", none, m11), node(g, "add", none, node(g, "mul", none, c, c), one));
      for (int o : new int[] {o1, o2, o3, o4}) g.addOutput(o);
      try (AdjointEngine.Executable exe = new AdjointEngine.Executable(g, 0)) {
        Random rnd = new Random(11);
        for (int run = 0; run < 5; run++) {
          double[] A = rand(rnd, 6), B = rand(rnd, 12), C = rand(rnd, 4);
          double[] At = transpose(A, 2, 3), Bt = transpose(B, 3, 4);
          AdjointEngine.Buffer[] in = {
            buf(A, 2, 3), buf(At, 3, 2), buf(B, 3, 4), buf(Bt, 4, 3), buf(C, 4)
          };
          for (int i = 0; i < in.length; i++) exe.setInput(i, in[i]);
          exe.run();
          double[] ab = mm(A, B, 2, 3, 4);
          double[][] expect = new double[4][8];
          for (int i = 0; i < 2; i++)
            for (int j = 0; j < 4; j++) {
              int k = i * 4 + j;
              expect[0][k] = Math.sin(ab[k]) + C[j];
              expect[1][k] = Math.cos(ab[k]) * C[j];
              expect[2][k] = ab[k] - C[j];
              expect[3][k] = -ab[k] / (C[j] * C[j] + 1);
            }
          for (int o = 0; o < 4; o++) {
            AdjointEngine.Buffer out = exe.takeOutput(o);
            assertEquals(2, out.dim(0));
            assertEquals(4, out.dim(1));
            double[] got = new double[8];
            try (DoublePointer p = new DoublePointer(8)) {
              out.copyToHost(p, 64);
              p.get(got);
            }
            AdjointEngine.freeBuffer(out);
            for (int k = 0; k < 8; k++) assertEquals(expect[o][k], got[k], 1e-12, "output " + o + " element " + k);
          }
          for (AdjointEngine.Buffer x : in) AdjointEngine.freeBuffer(x);
          if (run > 0) assertEquals(0, exe.runAllocations(), "a run after the first allocates no scratch");
        }
        assertTrue(exe.numSteps() > 0);
      }
    }
  }

  static double[] rand(Random r, int n) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) v[i] = r.nextDouble() * 2 - 1;
    return v;
  }

  static double[] transpose(double[] m, int rows, int cols) {
    double[] t = new double[m.length];
    for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = m[i * cols + j];
    return t;
  }

  static double[] mm(double[] a, double[] b, int m, int k, int n) {
    double[] c = new double[m * n];
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
        c[i * n + j] = s;
      }
    return c;
  }

  static AdjointEngine.Buffer buf(double[] v, long... shape) {
    AdjointEngine.Buffer b = AdjointEngine.newBuffer(0, F64, shape, shape.length);
    try (DoublePointer p = new DoublePointer(v)) {
      b.copyFromHost(p, v.length * 8L);
    }
    return b;
  }
}
