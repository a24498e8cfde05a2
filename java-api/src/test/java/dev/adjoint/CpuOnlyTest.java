package dev.adjoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

/**
 * adjoint-api on its own, as a CPU-only user has it: no adjoint-cuda jar on the path (this module does
 * not depend on it). The CPU works; asking for a CUDA device says which dependency to add.
 */
class CpuOnlyTest {
  @Test
  void cpuWorksWithoutTheCudaJar() {
    Tensor x = Tensor.of(new double[] {0.5, 1.5}, 2);
    assertEquals(Math.sin(0.5), Ops.sin(x).toDoubleArray()[0], 1e-15);
  }

  @Test
  void cudaDeviceNamesTheMissingDependency() {
    assumeTrue(System.getenv("ADJOINT_CUDA_LIBRARY") == null, "ADJOINT_CUDA_LIBRARY names a backend library");
    Tensor x = Tensor.of(new double[] {0.5, 1.5}, 2);
    AdjointException e = assertThrows(AdjointException.class, () -> x.to(Device.cuda(0)));
    assertTrue(e.getMessage().contains("dev.adjoint:adjoint-cuda"), e.getMessage());
    assertEquals(0, Adjoint.cudaDeviceCount());
    assertTrue(Adjoint.cudaUnavailableReason().contains("adjoint-cuda"), Adjoint.cudaUnavailableReason());
    assertTrue(Adjoint.info().contains("adjoint-cuda is not on the class path"), Adjoint.info());
  }
}
