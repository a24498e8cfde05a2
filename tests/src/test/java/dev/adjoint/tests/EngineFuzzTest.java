package dev.adjoint.tests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.adjoint.engine.AdjointEngine;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Random, mostly invalid, input to the engine through its binding: unknown ops, wrong arity, random
 * attributes, dangling node ids, odd shapes, mismatched buffers. Every call must either work or throw a
 * Java exception with a message; nothing may crash the JVM. Graphs that do build are compiled and run.
 */
class EngineFuzzTest {
  static long[] randomShape(Random r) {
    int rank = r.nextInt(4);
    long[] s = new long[rank];
    for (int i = 0; i < rank; i++) s[i] = r.nextInt(10) == 0 ? 0 : 1 + r.nextInt(3);
    return s;
  }

  static long[] randomAttrs(Random r) {
    long[] a = new long[r.nextInt(5)];
    for (int i = 0; i < a.length; i++) a[i] = r.nextInt(9) - 3;
    return a;
  }

  @Test
  void randomGraphsNeverCrash() {
    // -Dadjoint.fuzz.seed / -Dadjoint.fuzz.iterations widen a local search; CI runs the defaults.
    Random r = new Random(Long.getLong("adjoint.fuzz.seed", 1234));
    int iterations = Integer.getInteger("adjoint.fuzz.iterations", 1500);
    int ops = AdjointEngine.opCount();
    int callback = -1; // excluded: a callback node needs a registered Java function
    for (int i = 0; i < ops; i++) if ("callback".equals(AdjointEngine.opName(i))) callback = i;
    int built = 0, ran = 0, rejected = 0;
    for (int iter = 0; iter < iterations; iter++) {
      try (AdjointEngine.Graph g = new AdjointEngine.Graph()) {
        List<long[]> inputShapes = new ArrayList<>();
        List<Integer> inputDtypes = new ArrayList<>();
        int nIn = 1 + r.nextInt(3);
        List<Integer> nodes = new ArrayList<>();
        for (int i = 0; i < nIn; i++) {
          long[] s = randomShape(r);
          int dt = r.nextInt(10) == 0 ? 2 : r.nextInt(2);
          try {
            nodes.add(g.addInput(dt, s, s.length));
            inputShapes.add(s);
            inputDtypes.add(dt);
          } catch (RuntimeException e) {
            rejected++;
            assertTrue(e.getMessage() != null && !e.getMessage().isEmpty());
          }
        }
        for (int k = 0; k < 6; k++) {
          int op = r.nextInt(20) == 0 ? ops + r.nextInt(5) - 1 : r.nextInt(ops - 1); // rarely: bad ids
          if (op == callback) op = ops - 1 == callback ? 0 : ops - 1;
          int arity = r.nextInt(3);
          int[] in = new int[arity];
          for (int j = 0; j < arity; j++)
            in[j] = nodes.isEmpty() || r.nextInt(15) == 0 ? r.nextInt(50) - 5 : nodes.get(r.nextInt(nodes.size()));
          long[] attrs = randomAttrs(r);
          try {
            nodes.add(g.addNode(op, in, in.length, attrs, attrs.length, r.nextDouble()));
          } catch (RuntimeException e) {
            rejected++;
            assertTrue(e.getMessage() != null && !e.getMessage().isEmpty(), "an error without a message");
          }
        }
        if (nodes.size() <= inputShapes.size()) continue;
        try {
          g.addOutput(nodes.get(nodes.size() - 1));
          if (r.nextBoolean()) g.addOutput(nodes.get(r.nextInt(nodes.size())));
        } catch (RuntimeException e) {
          rejected++;
          continue;
        }
        try (AdjointEngine.Executable exe = new AdjointEngine.Executable(g, 0)) {
          built++;
          List<AdjointEngine.Buffer> buffers = new ArrayList<>();
          try {
            for (int i = 0; i < inputShapes.size(); i++) {
              long[] s = r.nextInt(10) == 0 ? randomShape(r) : inputShapes.get(i); // sometimes the wrong shape
              AdjointEngine.Buffer b = AdjointEngine.newBuffer(0, inputDtypes.get(i), s, s.length);
              buffers.add(b);
              if (r.nextInt(20) != 0) exe.setInput(i, b); // sometimes leave one unset
            }
            exe.run();
            ran++;
            for (int o = 0; o < exe.numOutputs(); o++) AdjointEngine.freeBuffer(exe.takeOutput(o));
          } catch (RuntimeException e) {
            rejected++;
            assertTrue(e.getMessage() != null && !e.getMessage().isEmpty());
          } finally {
            for (AdjointEngine.Buffer b : buffers) AdjointEngine.freeBuffer(b);
          }
        } catch (RuntimeException e) {
          rejected++;
          assertTrue(e.getMessage() != null && !e.getMessage().isEmpty());
        }
      }
    }
    assertTrue(built > 50 && ran > 20 && rejected > 500, "fuzz coverage: built " + built + ", ran " + ran + ", rejected " + rejected);
  }
}
