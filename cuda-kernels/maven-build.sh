#!/usr/bin/env bash
# Builds libadjoint_cuda.so where nvcc is found and puts it where the jar packs it
# (dev/adjoint/cuda/<platform>/). Without nvcc it says so and builds nothing: the CPU engine never needs it.
#   maven-build.sh <cmake-dir> <engine-include-dir> <resource-dir>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
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
