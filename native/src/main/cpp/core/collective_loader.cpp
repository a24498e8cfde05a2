// Collective backends (Note [Collective seam] in adjoint/collective.h), opened with dlopen like the CUDA
// backend (backend_loader.cpp): the engine never links Gloo or NCCL, so a user without them is unaffected
// until asking for one.
#include <dlfcn.h>

#include <map>
#include <memory>
#include <mutex>

#include "adjoint/collective.h"
#include "core/common.h"

namespace adjoint {
namespace {

typedef int (*AbiFn)();
typedef Collective* (*CreateFn)(const CollectiveConfig*, char*, size_t);

// Libraries stay loaded for the life of the process (a group's code must outlive it, and closing
// sockets from a static destructor at exit is unsafe); groups are destroyed by collectiveClose.
struct State {
  std::mutex mu;
  std::map<std::string, CreateFn> libraries;   // by path
  std::map<int64_t, std::shared_ptr<Collective>> groups;
  int64_t next = 1;
};

State& state() {
  static State* s = new State;
  return *s;
}

CreateFn open(const std::string& path) {
  State& S = state();
  auto it = S.libraries.find(path);
  if (it != S.libraries.end()) return it->second;
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* e = dlerror();
    fail("cannot load collective backend ", path, ": ", e ? e : "dlopen failed");
  }
  dlerror();
  auto abi = reinterpret_cast<AbiFn>(dlsym(handle, ADJOINT_COLLECTIVE_ABI_SYMBOL));
  auto create = reinterpret_cast<CreateFn>(dlsym(handle, ADJOINT_COLLECTIVE_CREATE_SYMBOL));
  if (!abi || !create) {
    dlclose(handle);
    fail("cannot load collective backend ", path, ": missing symbol ",
         abi ? ADJOINT_COLLECTIVE_CREATE_SYMBOL : ADJOINT_COLLECTIVE_ABI_SYMBOL);
  }
  if (abi() != ADJOINT_COLLECTIVE_ABI) {
    int got = abi();
    dlclose(handle);
    fail("cannot load collective backend ", path, ": its ABI ", got, " does not match the engine's ",
         (int)ADJOINT_COLLECTIVE_ABI, " (rebuild it against this engine)");
  }
  S.libraries[path] = create;
  return create;
}

std::shared_ptr<Collective> group(int64_t id, const char* what) {
  State& S = state();
  std::lock_guard<std::mutex> lk(S.mu);
  auto it = S.groups.find(id);
  if (it == S.groups.end()) fail(what, ": no open process group ", id, " (closed, or never opened)");
  return it->second;
}

void checkData(const char* what, const void* p, int64_t count, int dtype) {
  if (dtype != kFloat32 && dtype != kFloat64)
    fail(what, ": dtype ", dtypeName(dtype), " is not supported (Float32 or Float64)");
  if (count < 0) fail(what, ": negative count ", count);
  if (count > 0 && !p) fail(what, ": null data for ", count, " elements");
}

uint32_t tagOf(const char* what, int64_t tag) {
  if (tag < 0 || tag > (int64_t)UINT32_MAX) fail(what, ": tag ", tag, " is outside [0, 2^32)");
  return (uint32_t)tag;
}

// Backends throw std::exception (their own types); the binding maps adjoint::Error.
template <class F>
void guarded(const char* what, F&& f) {
  try {
    f();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail(what, ": ", e.what());
  }
}

}  // namespace

int64_t collectiveOpen(const std::string& library, int rank, int size, int64_t timeoutMs, const std::string& store,
                       const std::string& prefix, const std::string& host) {
  if (size < 1) fail("collectiveOpen: world size must be >= 1, got ", size);
  if (rank < 0 || rank >= size) fail("collectiveOpen: rank ", rank, " is outside [0, ", size, ")");
  if (timeoutMs <= 0) fail("collectiveOpen: timeout must be > 0 ms, got ", timeoutMs);
  CreateFn create;
  {
    std::lock_guard<std::mutex> lk(state().mu);
    create = open(library);
  }
  CollectiveConfig config;
  config.rank = rank;
  config.size = size;
  config.timeoutMs = timeoutMs;
  config.store = store;
  config.prefix = prefix;
  config.host = host;
  char err[2048] = {0};
  Collective* c = nullptr;
  guarded("collectiveOpen", [&] { c = create(&config, err, sizeof err); });   // the rendezvous: no lock held
  if (!c) fail("rank ", rank, " of ", size, ": ", err[0] ? err : "the collective backend gave no reason");
  State& S = state();
  std::lock_guard<std::mutex> lk(S.mu);
  int64_t id = S.next++;
  S.groups[id].reset(c);
  return id;
}

void collectiveAllReduce(int64_t id, void* data, int64_t count, int dtype, int op, int64_t tag) {
  checkData("allReduce", data, count, dtype);
  if (op != kReduceSum && op != kReduceMean) fail("allReduce: unknown reduction ", op, " (0 sum, 1 mean)");
  auto g = group(id, "allReduce");
  guarded("allReduce", [&] { g->allReduce(data, count, dtype, op, tagOf("allReduce", tag)); });
}

void collectiveBroadcast(int64_t id, void* data, int64_t count, int dtype, int root, int64_t tag) {
  checkData("broadcast", data, count, dtype);
  auto g = group(id, "broadcast");
  if (root < 0 || root >= g->size()) fail("broadcast: root ", root, " is outside [0, ", g->size(), ")");
  guarded("broadcast", [&] { g->broadcast(data, count, dtype, root, tagOf("broadcast", tag)); });
}

void collectiveAllGather(int64_t id, const void* in, void* out, int64_t count, int dtype, int64_t tag) {
  checkData("allGather", in, count, dtype);
  checkData("allGather", out, count, dtype);
  auto g = group(id, "allGather");
  guarded("allGather", [&] { g->allGather(in, out, count, dtype, tagOf("allGather", tag)); });
}

void collectiveBarrier(int64_t id, int64_t tag) {
  auto g = group(id, "barrier");
  guarded("barrier", [&] { g->barrier(tagOf("barrier", tag)); });
}

std::string collectiveDescribe(int64_t id) { return group(id, "describe")->describe(); }

void collectiveClose(int64_t id) {
  std::shared_ptr<Collective> g;
  {
    State& S = state();
    std::lock_guard<std::mutex> lk(S.mu);
    auto it = S.groups.find(id);
    if (it == S.groups.end()) return;
    g = it->second;
    S.groups.erase(it);
  }
  // Destroyed here, outside the lock, once no operation still holds it.
}

}  // namespace adjoint
