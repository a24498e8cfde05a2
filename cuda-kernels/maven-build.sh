#!/usr/bin/env bash
# Builds libadjoint_cuda.so where nvcc is found and puts it where the jar packs it
# (dev/adjoint/cuda/<platform>/). Without nvcc it says so and builds nothing: the CPU engine never needs it.
#   maven-build.sh <cmake-dir> <engine-include-dir> <resource-dir>
#   maven-build.sh test <cmake-dir>      runs its CTest tests (host-only planning test; the smoke test,
#                                        which checks every kernel on a GPU and the clean failure without one)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ "$1" = "test" ]; then
  if [ -f "$2/CTestTestfile.cmake" ]; then
    ctest --test-dir "$2" --output-on-failure
  else
    echo "[adjoint-cuda] not built here: no CUDA tests to run"
  fi
  exit 0
fi
dir=$1 include=$2 out=$3
if ! command -v nvcc >/dev/null 2>&1 && [ ! -x "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" ]; then
  echo "[adjoint-cuda] nvcc not found: the CUDA backend is not built (CUDA devices will be unavailable)"
  exit 0
fi
cmake -S "$here" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DADJOINT_NATIVE_INCLUDE="$include" >/dev/null
cmake --build "$dir" -j"$(nproc 2>/dev/null || echo 2)"
if [ -f "$dir/libadjoint_cuda.so" ]; then
  mkdir -p "$out"
  cp "$dir/libadjoint_cuda.so" "$out/"
  echo "[adjoint-cuda] packed $out/libadjoint_cuda.so"
else
  echo "[adjoint-cuda] CMake found no usable CUDA compiler: the CUDA backend is not built"
fi
