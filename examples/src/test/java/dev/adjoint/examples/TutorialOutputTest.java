package dev.adjoint.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * {@code ./adjoint tutorial} prints what the MindSpore tutorial prints. The blocks below are copied from
 * the tutorial's output; the sens-scaling example differs there only in the last float32 digit
 * (1.4900001 here, 1.49 there: "accuracy error exists", as the tutorial says), so it is checked by value
 * in the tests module's TutorialTest instead. It lives here, beside the main job it checks, so that the
 * tests module does not depend on examples.
 */
class TutorialOutputTest {
  static String printed() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Tutorial.run(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    return bytes.toString(StandardCharsets.UTF_8);
  }

  static void contains(String out, String expected) {
    assertTrue(out.contains(expected), "missing:\n" + expected + "\n--- in:\n" + out);
  }

  @Test
  void printsTheTutorialsOutput() {
    String out = printed();
    contains(out, "[[4.5099998 2.7       3.6000001]\n [4.5099998 2.7       3.6000001]]");
    contains(out, "## Computing the Weight Derivative\n[21.536]\n");
    contains(out, "[[9.0199995 5.4       7.2000003]\n [9.0199995 5.4       7.2000003]]");
    contains(
        out,
        "(Tensor(shape=[2, 3], dtype=Float32, value=\n"
            + "[[ 1.50000000e+00,  1.60000002e+00,  1.39999998e+00],\n"
            + " [ 2.20000005e+00,  2.29999995e+00,  2.09999990e+00]]), Tensor(shape=[3, 3], dtype=Float32, value=\n"
            + "[[ 1.00999999e+00,  1.29999995e+00,  2.09999990e+00],\n"
            + " [ 1.10000002e+00,  1.20000005e+00,  2.29999995e+00],\n"
            + " [ 3.09999990e+00,  2.20000005e+00,  4.30000019e+00]]))");
    contains(out, "sin''(x) = -sin(x)\n[-0.]\n");
    contains(out, "-sin(x) - cos(x)\n[1.]\n");
    contains(out, "summed outputs\n[1.]\n[-1.]\n");
  }
}
