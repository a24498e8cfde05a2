package dev.adjoint.tests;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.adjoint.Adjoint;
import dev.adjoint.Cell;
import dev.adjoint.Device;
import dev.adjoint.Ops;
import dev.adjoint.Tensor;
import dev.adjoint.Value;
import dev.adjoint.autodiff.GradOperation;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The same computations on CUDA and on the CPU, first and second order, for every op case of the
 * gradcheck table and the tutorial. Skipped, with the reason, where no GPU is usable.
 */
class CudaConformanceTest {
  static String reason;

  @BeforeAll
  static void probe() {
    reason = Adjoint.cudaUnavailableReason();
    if (reason != null) System.out.println("[CudaConformanceTest] skipped: " + reason);
  }

  static void requireGpu() {
    // The GPU check kit sets ADJOINT_REQUIRE_CUDA=1 on a machine with a GPU: there a skip is a failure.
    if ("1".equals(System.getenv("ADJOINT_REQUIRE_CUDA")) && reason != null)
      throw new AssertionError("ADJOINT_REQUIRE_CUDA=1 but CUDA is unavailable: " + reason);
    assumeTrue(reason == null, "CUDA unavailable: " + reason);
  }

  @Test
  void everyOpFirstAndSecondOrderMatchesCpu() {
    requireGpu();
    Device gpu = Device.cuda(0);
    for (Map.Entry<dev.adjoint.internal.Op, GradcheckTest.Case> e : GradcheckTest.CASES.entrySet()) {
      Random rnd = new Random(e.getKey().ordinal());
      Tensor[] cpu = e.getValue().inputs().make(rnd);
      Tensor[] onGpu = new Tensor[cpu.length];
      for (int i = 0; i < cpu.length; i++) onGpu[i] = cpu[i].to(gpu);
      int n = cpu.length; // a case may ignore an input on purpose: declare the arity
      Cell f = Cell.of(n, e.getValue().fn());
      GradOperation all = GradOperation.builder().getAll(true).build();
      Cell sumF = Cell.of(n, in -> Ops.sum(f.call(in).asTensor()));
      for (Cell c : new Cell[] {f, all.of(sumF), all.of(Cell.of(n, in -> Ops.sum(all.of(sumF).call(in).asTuple().tensor(0))))}) {
        Value a = c.call(cpu), b = c.call(onGpu);
        for (int k = 0; k < a.leaves().size(); k++)
          Check.close(b.leaves().get(k).to(Device.CPU), 1e-9, a.leaves().get(k).toDoubleArray());
      }
    }
  }

  @Test
  void tutorialOnGpu() {
    requireGpu();
    Device gpu = Device.cuda(0);
    Tensor x = Tensor.of(new float[][] {{0.8f, 0.6f, 0.2f}, {1.8f, 1.3f, 1.1f}}).to(gpu);
    Tensor y = Tensor.of(new float[][] {{0.11f, 3.3f, 1.1f}, {1.1f, 0.2f, 1.4f}, {1.1f, 2.2f, 0.3f}}).to(gpu);
    Value dx = new GradOperation().of(new TutorialTest.StopNet(false)).call(x, y);
    Check.close(dx.asTensor().to(Device.CPU), 1e-5, 9.02, 5.4, 7.2, 9.02, 5.4, 7.2);
  }

  @Test
  void higherOrderBpropAndMixedPartialsMatchCpu() {
    requireGpu();
    Device gpu = Device.cuda(0);
    Tensor x = GradcheckTest.rand(new Random(1), -2, 2, 5, 7), y = GradcheckTest.rand(new Random(2), -2, 2, 5, 7);
    Cell sin = Cell.of(in -> Ops.sin(in[0]));
    Cell fourth = HigherOrderTest.nest(sin, 4);
    Check.close(fourth.call(x.to(gpu)).asTensor().to(Device.CPU), 1e-12, fourth.call(x).asTensor().toDoubleArray());
    Cell cube = HigherOrderTest.nest(new HigherOrderTest.Cube(), 2);
    Check.close(cube.call(x.to(gpu)).asTensor().to(Device.CPU), 1e-12, cube.call(x).asTensor().toDoubleArray());
    GradOperation all = GradOperation.builder().getAll(true).build();
    Cell mimo = all.of(all.of(new TutorialTest.MimoNet()));
    Value a = mimo.call(x, y), b = mimo.call(x.to(gpu), y.to(gpu));
    for (int k = 0; k < 2; k++)
      Check.close(b.leaves().get(k).to(Device.CPU), 1e-12, a.leaves().get(k).toDoubleArray());
  }

  @Test
  void trainingStepsMatchCpu() {
    requireGpu();
    Device gpu = Device.cuda(0);
    OptimizerTest.Quadratic onCpu = new OptimizerTest.Quadratic(), onGpu = new OptimizerTest.Quadratic();
    onGpu.to(gpu);
    Cell cpuStep = new dev.adjoint.optim.Adam(onCpu.trainableParams(), 0.05).step(onCpu);
    Cell gpuStep = new dev.adjoint.optim.Adam(onGpu.trainableParams(), 0.05).step(onGpu);
    Tensor target = OptimizerTest.TARGET, targetGpu = target.to(gpu);
    for (int i = 0; i < 20; i++) {
      cpuStep.apply(target).close();
      gpuStep.apply(targetGpu).close();
    }
    Check.close(onGpu.w.to(Device.CPU), 1e-12, onCpu.w.toDoubleArray());
  }

  /**
   * Note [Index errors] on CUDA: a traced index out of range fails the run with the CPU's message, and an
   * optimizer step that gathers with it leaves the parameters as they were; good indices train on.
   */
  @Test
  void indexErrorsOnGpuMatchCpuAndWriteNoParameter() {
    requireGpu();
    Device gpu = Device.cuda(0);
    dev.adjoint.nn.Embedding emb = new dev.adjoint.nn.Embedding(5, 3, 4);
    emb.to(gpu);
    double[] before = emb.weight.to(Device.CPU).toDoubleArray();
    Cell loss = Cell.of(1, in -> Ops.sum(Ops.square(emb.call(in[0]).asTensor())));
    Cell step = new dev.adjoint.optim.SGD(emb.trainableParams(), 0.1).step(loss);
    Tensor bad = Tensor.of(new int[] {1, 5, 2}, 3).to(gpu);
    dev.adjoint.AdjointException e = org.junit.jupiter.api.Assertions.assertThrows(dev.adjoint.AdjointException.class, () -> step.apply(bad));
    ErrorsTest.mentions(e, "gather", "index 5", "position 1", "[0, 5)");
    org.junit.jupiter.api.Assertions.assertArrayEquals(before, emb.weight.to(Device.CPU).toDoubleArray(), 0);
    step.apply(Tensor.of(new int[] {1, 1, 2}, 3).to(gpu)).close();
    double[] after = emb.weight.to(Device.CPU).toDoubleArray();
    for (int k = 0; k < 3; k++) {
      org.junit.jupiter.api.Assertions.assertEquals(before[3 + k] * (1 - 0.4), after[3 + k], 1e-6); // used twice: w - 0.1 * 2 * 2w
      org.junit.jupiter.api.Assertions.assertEquals(before[k], after[k], 0);
    }
  }
}
