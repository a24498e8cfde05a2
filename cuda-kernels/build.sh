#!/usr/bin/env bash
# Builds and tests the CUDA backend with CMake; called by Maven (cuda-kernels/pom.xml), usable by hand.
# Same convention as native/build.sh. Without nvcc it says so and builds nothing: the CPU engine never
# needs this library.
#   build.sh build <cmake-dir> <engine-include-dir> <resource-dir>   configure + build (Release); copies
#                                                                    libadjoint_cuda.so into <resource-dir>
#   build.sh test  <cmake-dir>                                       ctest: the host-only launch-plan test and
#                                                                    the smoke test (every kernel on a GPU; the
#                                                                    clean failure without one)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mode=${1:-} dir=${2:-}
jobs=$(nproc 2>/dev/null || echo 2)

case "$mode" in
  build)
    include=$3 out=$4
    if ! command -v nvcc >/dev/null 2>&1 && [ ! -x "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" ]; then
      echo "[adjoint-cuda] nvcc not found: the CUDA backend is not built (CUDA devices will be unavailable)"
      exit 0
    fi
    cmake -S "$here" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DADJOINT_NATIVE_INCLUDE="$include" >/dev/null
    cmake --build "$dir" -j"$jobs"
    if [ -f "$dir/libadjoint_cuda.so" ]; then
      mkdir -p "$out"
      cp "$dir/libadjoint_cuda.so" "$out/"
      echo "[adjoint-cuda] packed $out/libadjoint_cuda.so"
      if [ -f "$dir/libadjoint_nccl.so" ]; then
        cp "$dir/libadjoint_nccl.so" "$out/"
        echo "[adjoint-cuda] packed $out/libadjoint_nccl.so"
      fi
    else
      echo "[adjoint-cuda] CMake found no usable CUDA compiler: the CUDA backend is not built"
    fi
    ;;
  test)
    if [ -f "$dir/CTestTestfile.cmake" ]; then
      ctest --test-dir "$dir" --output-on-failure
    else
      echo "[adjoint-cuda] not built here: no CUDA tests to run"
    fi
    ;;
  *) echo "usage: build.sh build <cmake-dir> <engine-include-dir> <resource-dir> | build.sh test <cmake-dir>" >&2; exit 2 ;;
esac
