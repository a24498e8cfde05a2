package dev.adjoint.bench;

import dev.adjoint.Parameter;
import dev.adjoint.ParameterTuple;
import dev.adjoint.Tensor;
import dev.adjoint.Tuple;
import dev.adjoint.Value;
import dev.adjoint.autodiff.Autodiff;
import dev.adjoint.Cell;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * W8: the Hessian-vector product of the W6 PINN loss over all 8,577 weights (Autodiff.hvp over the
 * model's ParameterTuple, forward over reverse, compiled once), against the plain gradient of the same
 * loss (theory: about 2–3×).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Fork(value = 1, jvmArgsAppend = "-Xss4m")
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class HvpBench {
  @Param({"1"})
  public int threads;

  private Physics.Pinn pinn;
  private ParameterTuple params;
  private Tensor[] v;
  private Cell.Fn grad;

  @Setup
  public void setup() {
    Threads.use(threads);
    pinn = new Physics.Pinn();
    params = pinn.u.trainableParams();
    Random rnd = new Random(3);
    v = new Tensor[params.size()];
    for (int i = 0; i < v.length; i++) v[i] = Tensor.uniform(rnd, params.get(i).dtype(), -1, 1, params.get(i).shape());
    grad = Autodiff.valueAndGrad(pinn.lossFn, params);
    Tuple hv = hvp();
    for (Value t : hv.leaves()) if (!Double.isFinite(t.asTensor().toFloatArray()[0])) throw new IllegalStateException("W8 hvp is not finite");
    int n = 0;
    for (Parameter p : params) n += (int) p.numel();
    if (n != 8577) throw new IllegalStateException("W8 expects 8577 weights, got " + n);
  }

  @TearDown
  public void tearDown() {
    pinn.close();
    for (Tensor t : v) t.close();
  }

  private Tuple hvp() {
    return Autodiff.hvp(pinn.lossFn, params, v, pinn.interior, pinn.rhs, pinn.boundary);
  }

  @Benchmark
  @Against("gradient")
  public void hvpOfLoss() {
    for (Tensor t : hvp().leaves()) t.close();
  }

  @Benchmark
  public void gradient() {
    for (Tensor t : grad.apply(pinn.interior, pinn.rhs, pinn.boundary).leaves()) t.close();
  }
}
