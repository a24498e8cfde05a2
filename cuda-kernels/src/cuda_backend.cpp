#include "cuda_backend.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "adjoint/op_table.h"
#include "cuda_common.h"
#include "launch_plan.h"

namespace adjoint {
namespace cuda {
namespace {

constexpr size_t kDirectCopyBytes = size_t(64) << 10;   // below this, copy pageable memory directly

bool envFlag(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}

void needInputs(const Step& step, size_t n) {
  if (step.in.size() != n)
    fail(std::string("CUDA backend: ") + opLabel(step.op) + " expects " + std::to_string(n) + " inputs, got " +
         std::to_string(step.in.size()));
}

void needFloat(int op, int dtype) {
  if (dtype != kFloat32 && dtype != kFloat64)
    fail(std::string("CUDA backend: ") + opLabel(op) + " supports Float32 and Float64, not " + dtypeName(dtype));
}

void needSameDtype(int op, const TensorDesc& in, const TensorDesc& out) {
  if (in.dtype != out.dtype)
    fail(std::string("CUDA backend: ") + opLabel(op) + " from " + dtypeName(in.dtype) + " to " +
         dtypeName(out.dtype));
}

int checkedInt(int64_t v, const char* what) {
  if (v < 0 || v > INT_MAX) fail(std::string("CUDA backend: matmul ") + what + " = " + std::to_string(v) +
                                 " exceeds cuBLAS's 32-bit limit");
  return (int)v;
}

void checkBlas(CublasStatus status, const char* call) {
  if (status != 0)
    fail(std::string("CUDA backend: ") + call + " failed with " + cublasStatusName(status) + " (" +
         std::to_string(status) + ")");
}

}  // namespace

CudaBackend::CudaBackend(int device) : device_(device), alloc_(device) {
  ADJ_CUDA_CHECK(cudaSetDevice(device_));
  cudaDeviceProp prop;
  ADJ_CUDA_CHECK(cudaGetDeviceProperties(&prop, device_));
  smCount_ = std::max(1, prop.multiProcessorCount);
  name_ = "CUDA:" + std::to_string(device_) + " " + prop.name + " (sm_" + std::to_string(prop.major) +
          std::to_string(prop.minor) + ", " + std::to_string(prop.totalGlobalMem >> 20) + " MiB)";
  syncEachStep_ = envFlag("ADJOINT_CUDA_SYNC");
  tf32_ = envFlag("ADJOINT_CUDA_TF32");
}

CudaBackend::~CudaBackend() {
  // Never throws: errors here can only be reported to nobody.
  cudaSetDevice(device_);
  drainLanes();
  if (transfer_ != nullptr) cudaStreamSynchronize(transfer_);
  bool anyHandle = false;
  for (const Lane& lane : lanes_) anyHandle |= lane.blas != nullptr;
  std::string ignored;
  const CublasApi* api = anyHandle ? cublasApi(&ignored) : nullptr;   // never loads cuBLAS just to tear down
  for (Lane& lane : lanes_) {
    if (lane.blas != nullptr && api != nullptr) api->destroy(lane.blas);
    if (lane.scratch != nullptr) alloc_.release(lane.scratch);
    if (lane.stream != nullptr) cudaStreamDestroy(lane.stream);
  }
  for (cudaEvent_t ev : freeEvents_) cudaEventDestroy(ev);
  if (transfer_ != nullptr) cudaStreamDestroy(transfer_);
  if (indexError_ != nullptr) alloc_.release(indexError_);
  cudaGetLastError();
  // alloc_ and staging_ free their memory in their destructors, with this device still current.
}

void CudaBackend::setDevice() const { ADJ_CUDA_CHECK(cudaSetDevice(device_)); }

void CudaBackend::ensureLanes(int n) {
  for (; numLanes_ < n; ++numLanes_)
    ADJ_CUDA_CHECK(cudaStreamCreateWithFlags(&lanes_[numLanes_].stream, cudaStreamNonBlocking));
}

cudaStream_t CudaBackend::transferStream() {
  if (transfer_ == nullptr) ADJ_CUDA_CHECK(cudaStreamCreateWithFlags(&transfer_, cudaStreamNonBlocking));
  return transfer_;
}

void CudaBackend::drainLanes() noexcept {
  for (int i = 0; i < numLanes_; ++i) cudaStreamSynchronize(lanes_[i].stream);
  cudaGetLastError();
}

void* CudaBackend::laneScratch(Lane& lane, size_t bytes) {
  if (bytes == 0) return nullptr;
  if (lane.scratchBytes < bytes) {
    if (lane.scratch != nullptr) {
      // Earlier steps of this lane may still read the old scratch.
      ADJ_CUDA_CHECK(cudaStreamSynchronize(lane.stream));
      alloc_.release(lane.scratch);
      lane.scratch = nullptr;
      lane.scratchBytes = 0;
    }
    lane.scratch = alloc_.allocate(bytes);
    lane.scratchBytes = DeviceAllocator::bucketSize(bytes);
  }
  return lane.scratch;
}

void* CudaBackend::allocate(size_t bytes) {
  setDevice();
  return alloc_.allocate(bytes);
}

void CudaBackend::release(void* ptr) {
  // The engine may call this from destructors: never throws.
  alloc_.release(ptr);
}

void CudaBackend::upload(void* dst, const void* host, size_t bytes) {
  if (bytes == 0) return;
  std::lock_guard<std::mutex> lock(transferMu_);
  setDevice();
  cudaStream_t s = transferStream();
  try {
    if (bytes <= kDirectCopyBytes) {
      ADJ_CUDA_CHECK(cudaMemcpyAsync(dst, host, bytes, cudaMemcpyHostToDevice, s));
    } else {
      // Two pinned chunks: the memcpy into one overlaps the DMA out of the other.
      staging_.ensure();
      const char* src = static_cast<const char*>(host);
      char* out = static_cast<char*>(dst);
      for (size_t off = 0, i = 0; off < bytes; off += PinnedStaging::kChunkBytes, ++i) {
        const size_t len = std::min(PinnedStaging::kChunkBytes, bytes - off);
        const int c = (int)(i % 2);
        cudaEvent_t done = static_cast<cudaEvent_t>(staging_.event(c));
        ADJ_CUDA_CHECK(cudaEventSynchronize(done));   // the chunk's previous DMA has finished
        std::memcpy(staging_.chunk(c), src + off, len);
        ADJ_CUDA_CHECK(cudaMemcpyAsync(out + off, staging_.chunk(c), len, cudaMemcpyHostToDevice, s));
        ADJ_CUDA_CHECK(cudaEventRecord(done, s));
      }
    }
    ADJ_CUDA_CHECK(cudaStreamSynchronize(s));
  } catch (...) {
    cudaStreamSynchronize(s);
    cudaGetLastError();
    throw;
  }
}

void CudaBackend::download(void* host, const void* src, size_t bytes) {
  if (bytes == 0) return;
  std::lock_guard<std::mutex> lock(transferMu_);
  setDevice();
  cudaStream_t s = transferStream();
  try {
    if (bytes <= kDirectCopyBytes) {
      ADJ_CUDA_CHECK(cudaMemcpyAsync(host, src, bytes, cudaMemcpyDeviceToHost, s));
      ADJ_CUDA_CHECK(cudaStreamSynchronize(s));
      return;
    }
    staging_.ensure();
    const char* in = static_cast<const char*>(src);
    char* out = static_cast<char*>(host);
    const size_t chunk = PinnedStaging::kChunkBytes;
    const size_t chunks = (bytes + chunk - 1) / chunk;
    auto enqueue = [&](size_t i) {
      const size_t off = i * chunk, len = std::min(chunk, bytes - off);
      const int c = (int)(i % 2);
      ADJ_CUDA_CHECK(cudaMemcpyAsync(staging_.chunk(c), in + off, len, cudaMemcpyDeviceToHost, s));
      ADJ_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(staging_.event(c)), s));
    };
    enqueue(0);
    for (size_t i = 0; i < chunks; ++i) {
      // Chunk i + 1 goes into the buffer whose contents (chunk i - 1) were copied out last round.
      if (i + 1 < chunks) enqueue(i + 1);
      const int c = (int)(i % 2);
      ADJ_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(staging_.event(c))));
      const size_t off = i * chunk, len = std::min(chunk, bytes - off);
      std::memcpy(out + off, staging_.chunk(c), len);
    }
  } catch (...) {
    cudaStreamSynchronize(s);
    cudaGetLastError();
    throw;
  }
}

void CudaBackend::copy(void* dst, const void* src, size_t bytes) {
  if (bytes == 0 || dst == src) return;
  std::lock_guard<std::mutex> lock(transferMu_);
  setDevice();
  cudaStream_t s = transferStream();
  ADJ_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s));
  ADJ_CUDA_CHECK(cudaStreamSynchronize(s));
}

void CudaBackend::synchronize() {
  std::lock_guard<std::recursive_mutex> lock(execMu_);
  setDevice();
  for (int i = 0; i < numLanes_; ++i) ADJ_CUDA_CHECK(cudaStreamSynchronize(lanes_[i].stream));
  if (transfer_ != nullptr) ADJ_CUDA_CHECK(cudaStreamSynchronize(transfer_));
}

void CudaBackend::execute(const Program& program, void* const* slots, const ExecContext& ctx) {
  std::lock_guard<std::recursive_mutex> lock(execMu_);
  setDevice();
  const size_t numSteps = program.steps.size();
  if (numSteps == 0) return;
  const int nl = std::max(1, std::min<int>(program.numLanes, kMaxLanes));
  ensureLanes(nl);
  auto laneOf = [&](size_t j) { return ((program.steps[j].lane % nl) + nl) % nl; };

  // A step gets an event only when a step of another lane waits for it.
  std::vector<int> eventOf(numSteps, -1);
  int numEvents = 0;
  for (size_t j = 0; j < numSteps; ++j) {
    for (int d : program.steps[j].after) {
      if (d < 0 || (size_t)d >= j)
        fail("CUDA backend: step " + std::to_string(j) + " waits for step " + std::to_string(d) +
             ", which does not come before it");
      if (laneOf(d) != laneOf(j) && eventOf[d] < 0) eventOf[d] = numEvents++;
    }
  }
  // Note [Index errors]: a program that reads indices checks the device word before its first write
  // into an input buffer (a parameter update must not see a failed gather) and at the end.
  bool readsIdx = false;
  size_t firstInputWrite = numSteps;
  for (size_t j = 0; j < numSteps; ++j) {
    readsIdx = readsIdx || readsIndices(program.steps[j].op);
    const int o = program.steps[j].out;
    if (firstInputWrite == numSteps && o >= 0 && (size_t)o < program.slots.size() && program.slots[o].kind == SLOT_INPUT) firstInputWrite = j;
  }
  if (readsIdx && indexError_ == nullptr) {
    indexError_ = static_cast<IndexError*>(alloc_.allocate(sizeof(IndexError)));
    ADJ_CUDA_CHECK(cudaMemset(indexError_, 0, sizeof(IndexError)));
  }
  std::vector<cudaEvent_t> events;
  auto giveBackEvents = [&] {
    freeEvents_.insert(freeEvents_.end(), events.begin(), events.end());
    events.clear();
  };
  try {
    while ((int)events.size() < numEvents) {
      if (!freeEvents_.empty()) {
        events.push_back(freeEvents_.back());
        freeEvents_.pop_back();
      } else {
        cudaEvent_t ev = nullptr;
        ADJ_CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
        events.push_back(ev);
      }
    }
    for (size_t j = 0; j < numSteps; ++j) {
      const Step& step = program.steps[j];
      Lane& lane = lanes_[laneOf(j)];
      if (readsIdx && j == firstInputWrite) checkIndexErrors(program);
      for (int d : step.after)
        if (laneOf(d) != laneOf(j)) ADJ_CUDA_CHECK(cudaStreamWaitEvent(lane.stream, events[eventOf[d]], 0));
      try {
        runStep(program, j, slots, ctx, lane);
        if (syncEachStep_) ADJ_CUDA_CHECK(cudaStreamSynchronize(lane.stream));
      } catch (const Error& e) {
        if (step.op == OP_callback) throw;   // keeps the contract's "host callback <id> failed"
        throw Error("CUDA backend: step " + std::to_string(j) + " (" + opLabel(step.op) + "): " + e.what());
      }
      if (eventOf[j] >= 0) ADJ_CUDA_CHECK(cudaEventRecord(events[eventOf[j]], lane.stream));
    }
  } catch (...) {
    drainLanes();
    giveBackEvents();
    throw;
  }
  // Every lane, even after a failure on one of them, so that no work outlives this call.
  std::string firstError;
  for (int i = 0; i < nl; ++i) {
    const cudaError_t err = cudaStreamSynchronize(lanes_[i].stream);
    if (err != cudaSuccess && firstError.empty())
      firstError = std::string(cudaGetErrorName(err)) + " (" + cudaGetErrorString(err) + ") on lane " +
                   std::to_string(i);
  }
  giveBackEvents();
  if (!firstError.empty()) {
    cudaGetLastError();
    throw Error("CUDA error while running the program: " + firstError +
                " (set ADJOINT_CUDA_SYNC=1 to find the failing step)");
  }
  if (readsIdx) checkIndexErrors(program);
}

void CudaBackend::checkIndexErrors(const Program& program) {
  for (int i = 0; i < numLanes_; ++i) ADJ_CUDA_CHECK(cudaStreamSynchronize(lanes_[i].stream));
  IndexError e;
  ADJ_CUDA_CHECK(cudaMemcpy(&e, indexError_, sizeof e, cudaMemcpyDeviceToHost));
  if (e.flag == 0) return;
  ADJ_CUDA_CHECK(cudaMemset(indexError_, 0, sizeof(IndexError)));
  // (A program run re-entrantly from a host callback shares the word; a record that is not this
  // program's indexing step is still an error, reported without the step's details.)
  const bool known = e.step >= 0 && (size_t)e.step < program.steps.size() && readsIndices(program.steps[e.step].op) &&
                     program.steps[e.step].attrs.size() >= 1 && program.steps[e.step].in.size() >= 1;
  if (!known) fail("CUDA backend: index ", e.value, " at position ", e.position, " is out of range (step ", e.step, ")");
  const Step& s = program.steps[e.step];
  const int idxInput = s.op == OP_oneHot ? 0 : 1;
  const TensorDesc& idx = program.slots[s.in[idxInput]].desc;
  int64_t dim = 0;
  if (s.op == OP_gather) dim = program.slots[s.in[0]].desc.shape[s.attrs[0]];
  else dim = s.attrs[s.op == OP_oneHot ? 0 : 1];
  throw Error(indexErrorMessage(s.op, s.op == OP_oneHot ? 0 : s.attrs[0], e.position, e.value, dim, idx.shape));
}

void CudaBackend::runIndexStep(const Program& program, size_t index, void* const* slots, const Launch& l) {
  const Step& step = program.steps[index];
  const TensorDesc& out = program.slots[step.out].desc;
  auto inDesc = [&](size_t i) -> const TensorDesc& { return program.slots[step.in[i]].desc; };
  auto inPtr = [&](size_t i) -> const void* { return slots[step.in[i]]; };
  void* y = slots[step.out];
  const int es = dtypeSize(out.dtype);
  switch (step.op) {
    case OP_slice:
    case OP_sliceGrad: {
      needInputs(step, 1);
      needSameDtype(step.op, inDesc(0), out);
      const bool scatter = step.op == OP_sliceGrad;
      const AxisView big = axisView(scatter ? out.shape : inDesc(0).shape, step.attrs[0]);
      if (scatter) ADJ_CUDA_CHECK(cudaMemsetAsync(y, 0, (size_t)out.bytes(), l.stream));
      launchSlice(l, es, inPtr(0), y, big.outer, big.dim, big.inner, step.attrs[1], step.attrs[2], step.attrs[3], scatter);
      return;
    }
    case OP_concat: {
      const AxisView o = axisView(out.shape, step.attrs[0]);
      int64_t at = 0;
      for (size_t i = 0; i < step.in.size(); ++i) {
        needSameDtype(step.op, inDesc(i), out);
        const AxisView x = axisView(inDesc(i).shape, step.attrs[0]);
        launchCopyRows(l, es, inPtr(i), x.dim * x.inner, static_cast<char*>(y) + at * o.inner * es, o.dim * o.inner, o.outer, x.dim * x.inner);
        at += x.dim;
      }
      return;
    }
    case OP_gather: {
      needInputs(step, 2);
      const AxisView x = axisView(inDesc(0).shape, step.attrs[0]);
      launchGatherIndex(l, es, inPtr(0), static_cast<const int32_t*>(inPtr(1)), y, x.outer, x.dim, inDesc(1).numel(), x.inner, indexError_, (int)index);
      return;
    }
    case OP_scatterAdd: {
      needInputs(step, 2);
      needFloat(step.op, out.dtype);
      const AxisView o = axisView(out.shape, step.attrs[0]);
      launchScatterAdd(l, out.dtype, inPtr(0), static_cast<const int32_t*>(inPtr(1)), y, o.outer, o.dim, inDesc(1).numel(), o.inner, indexError_, (int)index);
      return;
    }
    case OP_oneHot:
      needInputs(step, 1);
      needFloat(step.op, out.dtype);
      launchOneHot(l, out.dtype, static_cast<const int32_t*>(inPtr(0)), y, inDesc(0).numel(), step.attrs[0], indexError_, (int)index);
      return;
    case OP_argmax: {
      needInputs(step, 1);
      needFloat(step.op, inDesc(0).dtype);
      const AxisView x = axisView(inDesc(0).shape, step.attrs[0]);
      launchArgmax(l, inDesc(0).dtype, inPtr(0), static_cast<int32_t*>(y), x.outer, x.dim, x.inner);
      return;
    }
    default:
      break;
  }
  fail(std::string("CUDA backend: no indexing kernel for ") + opLabel(step.op));
}

void CudaBackend::deviceCopy(void* dst, const void* src, size_t bytes, cudaStream_t stream) {
  if (bytes == 0 || dst == src) return;
  ADJ_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream));
}

void CudaBackend::runStep(const Program& program, size_t index, void* const* slots, const ExecContext& ctx,
                          Lane& lane) {
  const Step& step = program.steps[index];
  if (step.out < 0 || (size_t)step.out >= program.slots.size())
    fail("CUDA backend: output slot " + std::to_string(step.out) + " out of range");
  for (int s : step.in)
    if (s < 0 || (size_t)s >= program.slots.size())
      fail("CUDA backend: input slot " + std::to_string(s) + " out of range");
  const TensorDesc& out = program.slots[step.out].desc;
  void* y = slots[step.out];
  const int64_t n = out.numel();
  Launch l;
  l.stream = lane.stream;
  l.smCount = smCount_;
  l.maxBlocks = smCount_ * 8;
  auto inDesc = [&](size_t i) -> const TensorDesc& { return program.slots[step.in[i]].desc; };
  auto inPtr = [&](size_t i) -> const void* { return slots[step.in[i]]; };

  if (step.op == OP_callback) {
    runCallback(program, step, slots, ctx, lane);
    return;
  }
  if (n == 0) return;
  const int op = step.op;
  if (op == OP_FUSED) {
    needFloat(op, out.dtype);
    FusedCode code = planFused(step.code, (int)step.in.size());
    if (step.layout.strides.size() != step.in.size()) fail("CUDA backend: fused step without its layout");
    code.scalarInputs = fusedScalarInputs(step.layout);
    for (size_t i = 0; i < step.in.size(); ++i) {
      const TensorDesc& d = inDesc(i);
      needSameDtype(op, d, out);
      const int64_t m = d.numel();
      if (m != n && m != 1)
        fail("CUDA backend: fused input " + std::to_string(i) + " has shape " + shapeStr(d.shape) +
             ", neither a scalar nor the output's " + shapeStr(out.shape));
      code.inputs[i] = inPtr(i);
    }
    launchFused(l, out.dtype, code, y, n);
    return;
  }
  switch (op) {
    case OP_identity:
    case OP_reshape: {
      needInputs(step, 1);
      const TensorDesc& in = inDesc(0);
      needSameDtype(op, in, out);
      if (in.numel() != n)
        fail(std::string("CUDA backend: ") + opLabel(op) + " from " + shapeStr(in.shape) + " to " +
             shapeStr(out.shape));
      deviceCopy(y, inPtr(0), (size_t)n * dtypeSize(out.dtype), lane.stream);
      return;
    }
    case OP_fill:
      launchFill(l, out.dtype, y, n, step.scalar);
      return;
    case OP_onesLike:
    case OP_zerosLike:
      launchFill(l, out.dtype, y, n, op == OP_onesLike ? 1.0 : 0.0);
      return;
    case OP_randomUniform:
      needInputs(step, 1);
      if (step.attrs.size() < 2) fail("CUDA backend: randomUniform without its key attribute");
      launchRandomUniform(l, out.dtype, (uint64_t)step.attrs[1], inDesc(0).dtype, inPtr(0), y, n);
      return;
    case OP_matmul: {
      needInputs(step, 2);
      runMatmul(step, inDesc(0), inDesc(1), out, inPtr(0), inPtr(1), y, lane);
      return;
    }
    case OP_sum:
    case OP_mean:
    case OP_max:
    case OP_sumToShape: {
      needInputs(step, 1);
      const TensorDesc& in = inDesc(0);
      needSameDtype(op, in, out);
      runReduce(step, in, out, inPtr(0), y, op == OP_mean, op == OP_max ? kReduceMax : kReduceSum, lane);
      return;
    }
    case OP_slice:
    case OP_sliceGrad:
    case OP_concat:
    case OP_gather:
    case OP_scatterAdd:
    case OP_oneHot:
    case OP_argmax:
      runIndexStep(program, index, slots, l);
      return;
    case OP_transpose:
    case OP_broadcastTo: {
      needInputs(step, 1);
      const TensorDesc& in = inDesc(0);
      needSameDtype(op, in, out);
      const int es = dtypeSize(out.dtype);
      TransposePlan plan;   // broadcastTo: a gather, or a copy when nothing is broadcast
      plan.kind = in.numel() == n ? 0 : 2;
      if (op == OP_transpose) plan = planTranspose(step.layout);
      if (plan.kind == 0) {
        deviceCopy(y, inPtr(0), (size_t)n * es, lane.stream);
      } else if (plan.kind == 1 && launchTranspose2d(l, es, inPtr(0), y, plan.batch, plan.rows, plan.cols)) {
        // done
      } else {
        const GatherIndex idx = planGather(step.layout);
        const int64_t inner = launchElements(step.layout);
        const char* x = static_cast<const char*>(inPtr(0));
        forEachHostIndex(step.layout, [&](int64_t o, const int64_t* off) {
          launchGather(l, es, x + off[0] * es, static_cast<char*>(y) + o * es, inner, idx);
        });
      }
      return;
    }
    default:
      break;
  }
  if (isUnaryOp(op)) {
    needInputs(step, 1);
    needSameDtype(op, inDesc(0), out);
    if (inDesc(0).numel() != n)
      fail(std::string("CUDA backend: ") + opLabel(op) + " from " + shapeStr(inDesc(0).shape) + " to " +
           shapeStr(out.shape));
    launchUnary(l, op, out.dtype, inPtr(0), y, n);
    return;
  }
  if (isBinaryOp(op)) {
    needInputs(step, 2);
    needSameDtype(op, inDesc(0), out);
    needSameDtype(op, inDesc(1), out);
    BinaryIndex idx;
    const int mode = planBinary(step.layout, &idx);
    const int64_t inner = launchElements(step.layout), es = dtypeSize(out.dtype);
    const char* a = static_cast<const char*>(inPtr(0));
    const char* b = static_cast<const char*>(inPtr(1));
    forEachHostIndex(step.layout, [&](int64_t o, const int64_t* off) {   // one launch unless hostLoopDims
      launchBinary(l, op, out.dtype, a + off[0] * es, b + off[1] * es, static_cast<char*>(y) + o * es, inner, mode, idx);
    });
    return;
  }
  fail(std::string("CUDA backend: no kernel for op ") + opLabel(op) + " (" + std::to_string(op) + ")");
}

void CudaBackend::runReduce(const Step& step, const TensorDesc& in, const TensorDesc& out, const void* x, void* y,
                            bool mean, int kind, Lane& lane) {
  needFloat(step.op, out.dtype);
  const ReducePlan plan = planReduce(step.layout);
  const int64_t n = out.numel();
  Launch l;
  l.stream = lane.stream;
  l.smCount = smCount_;
  l.maxBlocks = smCount_ * 8;
  switch (plan.kind) {
    case 0:   // nothing reduced (all reduced dims have size 1): a copy, also for mean
      if (in.numel() != n) break;
      deviceCopy(y, x, (size_t)n * dtypeSize(out.dtype), lane.stream);
      return;
    case 3:   // empty input, non-empty output
      if (kind == kReduceMax) fail("CUDA backend: max of an empty tensor of shape " + shapeStr(in.shape));
      launchFill(l, out.dtype, y, n, mean ? std::numeric_limits<double>::quiet_NaN() : 0.0);
      return;
    case 1:
    case 2: {
      if (plan.outCount != n) break;
      const double scale = mean ? 1.0 / (double)plan.redCount : 1.0;
      if (plan.kind == 1) {
        void* scratch = laneScratch(lane, rowReduceScratchBytes(l, out.dtype, kind, plan.rows, plan.len));
        launchRowReduce(l, kind, out.dtype, x, y, plan.rows, plan.len, scale, scratch);
      } else {
        void* scratch = laneScratch(lane, genericReduceScratchBytes(l, out.dtype, kind, plan.outCount, plan.redCount));
        launchGenericReduce(l, kind, out.dtype, x, y, plan.outCount, plan.redCount, plan.idx, scale, scratch);
      }
      return;
    }
    default:
      break;
  }
  fail(std::string("CUDA backend: ") + opLabel(step.op) + " of " + shapeStr(in.shape) + " does not give " +
       shapeStr(out.shape));
}

void CudaBackend::runMatmul(const Step& step, const TensorDesc& a, const TensorDesc& b, const TensorDesc& out,
                            const void* pa, const void* pb, void* y, Lane& lane) {
  needFloat(OP_matmul, out.dtype);
  needSameDtype(OP_matmul, a, out);
  needSameDtype(OP_matmul, b, out);
  const bool transA = step.attrs.size() > 0 && step.attrs[0] != 0;
  const bool transB = step.attrs.size() > 1 && step.attrs[1] != 0;
  const MatmulPlan p = planMatmul(a.shape, b.shape, out.shape, transA, transB);
  if (p.m == 0 || p.n == 0 || p.batch == 0) return;
  const size_t es = (size_t)dtypeSize(out.dtype);
  if (p.k == 0) {   // an empty sum: zeros, without relying on cuBLAS's k = 0 behaviour
    ADJ_CUDA_CHECK(cudaMemsetAsync(y, 0, (size_t)(p.batch * p.m * p.n) * es, lane.stream));
    return;
  }
  std::string why;
  const CublasApi* api = cublasApi(&why);
  if (api == nullptr) fail("CUDA backend: matmul needs cuBLAS. " + why);
  if (lane.blas == nullptr) {
    checkBlas(api->create(&lane.blas), "cublasCreate_v2");
    if (tf32_ && api->setMathMode != nullptr) checkBlas(api->setMathMode(lane.blas, kCublasTf32TensorOpMath), "cublasSetMathMode");
  }
  checkBlas(api->setStream(lane.blas, lane.stream), "cublasSetStream_v2");

  // Note [Row-major gemm]: a row-major X[r][c] is the column-major X^T, so C = op(A) op(B) is computed
  // as the column-major C^T = op(B)^T op(A)^T: cuBLAS's first operand is B, its second A, m and n swap.
  const int opA = transA ? kCublasOpT : kCublasOpN, opB = transB ? kCublasOpT : kCublasOpN;
  const int64_t rowsA = p.foldIntoM ? p.batch * p.m : p.m;
  const int M = checkedInt(p.n, "n"), N = checkedInt(rowsA, "m"), K = checkedInt(p.k, "k");
  const int ldb = checkedInt(transB ? p.k : p.n, "ldb"), lda = checkedInt(transA ? p.m : p.k, "lda");
  const int ldc = M;
  const bool f32 = out.dtype == kFloat32;
  const float oneF = 1.0f, zeroF = 0.0f;
  const double oneD = 1.0, zeroD = 0.0;
  auto gemm = [&](const char* A, const char* B, char* C) {
    if (f32) {
      checkBlas(api->sgemm(lane.blas, opB, opA, M, N, K, &oneF, reinterpret_cast<const float*>(B), ldb,
                           reinterpret_cast<const float*>(A), lda, &zeroF, reinterpret_cast<float*>(C), ldc),
                "cublasSgemm_v2");
    } else {
      checkBlas(api->dgemm(lane.blas, opB, opA, M, N, K, &oneD, reinterpret_cast<const double*>(B), ldb,
                           reinterpret_cast<const double*>(A), lda, &zeroD, reinterpret_cast<double*>(C), ldc),
                "cublasDgemm_v2");
    }
  };
  const char* A = static_cast<const char*>(pa);
  const char* B = static_cast<const char*>(pb);
  char* C = static_cast<char*>(y);
  if (p.batch == 1 || p.foldIntoM) {
    gemm(A, B, C);
  } else if (p.strided) {
    const int batch = checkedInt(p.batch, "batch count");
    const long long sA = p.strideA, sB = p.strideB, sC = p.m * p.n;
    if (f32) {
      checkBlas(api->sgemmStridedBatched(lane.blas, opB, opA, M, N, K, &oneF, reinterpret_cast<const float*>(B), ldb,
                                         sB, reinterpret_cast<const float*>(A), lda, sA, &zeroF,
                                         reinterpret_cast<float*>(C), ldc, sC, batch),
                "cublasSgemmStridedBatched");
    } else {
      checkBlas(api->dgemmStridedBatched(lane.blas, opB, opA, M, N, K, &oneD, reinterpret_cast<const double*>(B),
                                         ldb, sB, reinterpret_cast<const double*>(A), lda, sA, &zeroD,
                                         reinterpret_cast<double*>(C), ldc, sC, batch),
                "cublasDgemmStridedBatched");
    }
  } else {
    // Partially broadcast batch dims (e.g. [2,1,m,k] x [1,3,k,n]): one gemm per output matrix.
    const size_t matA = (size_t)(p.m * p.k) * es, matB = (size_t)(p.k * p.n) * es, matC = (size_t)(p.m * p.n) * es;
    for (int64_t i = 0; i < p.batch; ++i) gemm(A + p.indexA[i] * matA, B + p.indexB[i] * matB, C + i * matC);
  }
}

void CudaBackend::runCallback(const Program& program, const Step& step, void* const* slots, const ExecContext& ctx,
                              Lane& lane) {
  if (ctx.hostCallback == nullptr) fail("CUDA backend: callback step but no host callback is set");
  if (step.attrs.empty()) fail("CUDA backend: callback step without a callback id");
  const int id = (int)step.attrs[0];
  const TensorDesc& out = program.slots[step.out].desc;
  // Local buffers: a callback may run another program on this backend (see execMu_).
  std::vector<std::vector<char>> inputs(step.in.size());
  std::vector<void*> ptrs(step.in.size());
  for (size_t i = 0; i < step.in.size(); ++i) {
    const TensorDesc& d = program.slots[step.in[i]].desc;
    const size_t bytes = (size_t)d.numel() * dtypeSize(d.dtype);
    inputs[i].resize(std::max<size_t>(bytes, 1));
    ptrs[i] = inputs[i].data();
    if (bytes > 0)
      ADJ_CUDA_CHECK(cudaMemcpyAsync(inputs[i].data(), slots[step.in[i]], bytes, cudaMemcpyDeviceToHost, lane.stream));
  }
  ADJ_CUDA_CHECK(cudaStreamSynchronize(lane.stream));
  const size_t outBytes = (size_t)out.numel() * dtypeSize(out.dtype);
  std::vector<char> result(std::max<size_t>(outBytes, 1), 0);
  const int rc = ctx.hostCallback(id, (int)ptrs.size(), ptrs.data(), result.data());
  if (rc != 0) fail("host callback " + std::to_string(id) + " failed");
  if (outBytes > 0) {
    ADJ_CUDA_CHECK(cudaMemcpyAsync(slots[step.out], result.data(), outBytes, cudaMemcpyHostToDevice, lane.stream));
    ADJ_CUDA_CHECK(cudaStreamSynchronize(lane.stream));   // `result` dies with this frame
  }
}

}  // namespace cuda
}  // namespace adjoint
