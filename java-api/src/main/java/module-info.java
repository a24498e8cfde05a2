/**
 * Adjoint's user API. Exported: {@code dev.adjoint} (tensors, parameters, cells, ops, settings),
 * {@code dev.adjoint.autodiff} (GradOperation and the functional transforms, gradcheck) and
 * {@code dev.adjoint.optim} (optimizers), {@code dev.adjoint.nn} with {@code nn.init} and {@code nn.loss}
 * (layers, initializers, losses), {@code dev.adjoint.data} (datasets, batching), {@code dev.adjoint.io}
 * (safetensors and .npy) and {@code dev.adjoint.distributed} (process groups, data parallel); these last ones are written against the public API only. {@code dev.adjoint.internal} (the op table and its rules,
 * tracing, the AD transforms, compiled graphs, storage, engine glue) is not exported, so it can change
 * without breaking users.
 */
module dev.adjoint {
  requires dev.adjoint.engine; // adjoint-native (Automatic-Module-Name)
  requires org.bytedeco.javacpp;
  requires jdk.management; // NativeMemory: physical memory for the default budget
  requires com.google.gson; // dev.adjoint.io: safetensors headers

  exports dev.adjoint;
  exports dev.adjoint.autodiff;
  exports dev.adjoint.optim;
  exports dev.adjoint.nn;
  exports dev.adjoint.nn.init;
  exports dev.adjoint.nn.loss;
  exports dev.adjoint.data;
  exports dev.adjoint.io;
  exports dev.adjoint.distributed;

  // The CUDA backend (adjoint-cuda), an optional runtime dependency: Engine.cudaProvider.
  uses dev.adjoint.engine.BackendProvider;
}
