package dev.adjoint.io;

import dev.adjoint.AdjointException;
import dev.adjoint.Cell;
import dev.adjoint.Parameter;
import dev.adjoint.Tensor;
import dev.adjoint.optim.Optimizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Checkpoints of a model (its {@link Cell#namedParameters()}) and, optionally, an optimizer's full state
 * (moments, counters, the scheduled rate, and its step count in the metadata), as one safetensors file:
 * model tensors under {@code model.<name>}, optimizer state under {@code optim.<name>}.
 *
 * <pre>{@code
 * Checkpoint.save(Path.of("run.safetensors"), model, adam);
 * ...
 * Checkpoint.load(Path.of("run.safetensors"), model, adam);   // resumes bit for bit
 * }</pre>
 *
 * Loading checks everything first (every name present, no extra, shapes and dtypes equal) and assigns
 * nothing unless all match: an error lists each mismatch; a corrupt file is an error from {@link Safetensors}.
 */
public final class Checkpoint {
  private Checkpoint() {}

  static final String MODEL = "model.", OPTIM = "optim.", STEPS = "adjoint.optimizer.steps", FORMAT = "adjoint.format";

  /**
   * Saves the parameters of {@code model} (every one {@link Cell#namedParameters()} finds) to {@code file};
   * a model without parameters is an {@link AdjointException}.
   */
  public static void save(Path file, Cell model) {
    save(file, model, null);
  }

  /**
   * Saves the parameters of {@code model} and, unless {@code optimizer} is null, its whole state and step
   * count to {@code file}, replacing it atomically.
   */
  public static void save(Path file, Cell model, Optimizer optimizer) {
    if (model == null) throw new AdjointException("checkpoint " + file + ": model is null");
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    Map<String, Parameter> named = model.namedParameters();
    if (named.isEmpty()) throw new AdjointException("checkpoint " + file + ": " + model.name() + " has no parameters to save (are they held where Cell can find them?)");
    named.forEach((k, p) -> tensors.put(MODEL + k, p));
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put(FORMAT, "1");
    if (optimizer != null) {
      optimizer.state().forEach((k, p) -> tensors.put(OPTIM + k, p));
      meta.put(STEPS, Long.toString(optimizer.steps()));
      meta.put("adjoint.optimizer", optimizer.name());
    }
    Safetensors.save(file, tensors, meta);
  }

  /**
   * Loads the parameters of {@code model} from {@code file} in place; optimizer state in the file is ignored.
   * Any missing, extra, reshaped or retyped tensor is an {@link AdjointException} listing each, and then nothing
   * is assigned.
   */
  public static void load(Path file, Cell model) {
    load(file, model, null);
  }

  /**
   * Loads the parameters of {@code model} and the state and step count of {@code optimizer} (if not null)
   * from {@code file} in place, after checking that every name, shape and dtype matches; training continues
   * bit for bit as if it had not stopped.
   */
  public static void load(Path file, Cell model, Optimizer optimizer) {
    if (model == null) throw new AdjointException("checkpoint " + file + ": model is null");
    try (Safetensors.Contents c = Safetensors.read(file)) {
      Map<String, Parameter> targets = new LinkedHashMap<>();
      model.namedParameters().forEach((k, p) -> targets.put(MODEL + k, p));
      if (optimizer != null) optimizer.state().forEach((k, p) -> targets.put(OPTIM + k, p));
      List<String> problems = new ArrayList<>();
      for (Map.Entry<String, Parameter> e : targets.entrySet()) {
        Tensor t = c.tensors().get(e.getKey());
        Parameter p = e.getValue();
        if (t == null) problems.add("missing " + e.getKey() + " (" + p.describe() + ")");
        else if (!Arrays.equals(t.shape(), p.shape()) || t.dtype() != p.dtype())
          problems.add(e.getKey() + " is " + t.describe() + " in the file but " + p.describe() + " here");
      }
      for (String k : c.tensors().keySet())
        if (!targets.containsKey(k) && (optimizer != null || k.startsWith(MODEL))) problems.add("unexpected " + k + " in the file");
      long steps = 0;
      if (optimizer != null) {
        String s = c.metadata().get(STEPS);
        if (s == null) problems.add("no optimizer state in the file (saved without an optimizer?)");
        else try {
          steps = Long.parseLong(s);
        } catch (NumberFormatException ex) {
          problems.add("bad " + STEPS + " '" + s + "'");
        }
      }
      if (!problems.isEmpty())
        throw new AdjointException("checkpoint " + file + " does not match " + model.name() + (optimizer == null ? "" : " and " + optimizer.name()) + ":\n  " + String.join("\n  ", problems));
      for (Map.Entry<String, Parameter> e : targets.entrySet()) {
        Parameter p = e.getValue();
        Tensor t = c.tensors().get(e.getKey());
        if (p.device().equals(dev.adjoint.Device.CPU)) p.assign(t);
        else try (Tensor moved = t.to(p.device())) {
          p.assign(moved);
        }
      }
      if (optimizer != null) optimizer.setSteps(steps);
    }
  }
}
