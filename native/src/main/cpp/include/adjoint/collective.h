// Note [Collective seam]: the engine's interface to collective communication libraries.
//
// A Collective is one process group (rank r of size n) that has finished its rendezvous. Its operations
// work in place on host memory (float32 or float64) and are blocking; each takes a tag, and every rank
// must issue the same operation with the same tag, count and dtype. Operations with different tags may
// run concurrently from different threads (the library keeps them apart by tag), operations with one tag
// must be issued in the same order on every rank. Every operation gives up after the group's timeout
// and throws, naming the rank it lost (a closed connection names the peer; a timeout first probes every
// peer and names those that do not answer).
//
// Backends live in their own shared libraries, opened with dlopen at run time (core/collective_loader.cpp,
// the same way as the CUDA backend): libadjoint_gloo.so (Gloo over TCP; built where CMake finds Gloo).
// As for adjoint/backend.h, engine and backend are built by the same g++ against the same libstdc++, so
// std::string and exceptions derived from std::exception cross the boundary; ADJOINT_COLLECTIVE_ABI is
// bumped whenever this file changes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "adjoint/engine.h"   // DType

namespace adjoint {

enum { ADJOINT_COLLECTIVE_ABI = 1 };
enum ReduceOp { kReduceSum = 0, kReduceMean = 1 };

// What a backend needs for its rendezvous. `store` is a directory every rank can reach (Gloo's FileStore:
// this Gloo release ships no TCP store); `prefix` keeps runs sharing that directory apart; `host` is the
// address this rank listens on for its peers (empty: the machine's hostname).
struct CollectiveConfig {
  int rank = 0;
  int size = 1;
  int64_t timeoutMs = 30000;
  std::string store;
  std::string prefix;
  std::string host;
};

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual void allReduce(void* data, int64_t count, int dtype, int op, uint32_t tag) = 0;
  virtual void broadcast(void* data, int64_t count, int dtype, int root, uint32_t tag) = 0;
  // out holds size() * count elements: rank k's input at offset k * count.
  virtual void allGather(const void* in, void* out, int64_t count, int dtype, uint32_t tag) = 0;
  virtual void barrier(uint32_t tag) = 0;
  virtual std::string describe() const = 0;
};

}  // namespace adjoint

#define ADJOINT_COLLECTIVE_ABI_SYMBOL "adjoint_collective_abi"
#define ADJOINT_COLLECTIVE_CREATE_SYMBOL "adjoint_collective_create"
// extern "C" int adjoint_collective_abi();
// extern "C" adjoint::Collective* adjoint_collective_create(const adjoint::CollectiveConfig*, char* err,
//                                                            size_t errLen);   // null + err on failure
