#!/usr/bin/env bash
# Builds and tests the C++ engine with CMake; called by Maven (native/pom.xml), usable by hand.
# Same convention as cuda-kernels/build.sh: build.sh <build|test> <cmake-dir> <module arguments...>.
# ONEDNN_ROOT (environment, optional): the unpacked org.bytedeco:dnnl platform jar, for the oneDNN tests.
#   build.sh build <cmake-dir> <openblas-root>          configure + build (Release)
#   build.sh test  <cmake-dir> <openblas-root> [asan]   ctest; with asan=true also the ASan/UBSan build
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mode=${1:-} dir=${2:-} blas=${3:-} asan=${4:-true}
jobs=$(nproc 2>/dev/null || echo 2)

case "$mode" in
  build)
    cmake -S "$here" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DOPENBLAS_ROOT="$blas" -DONEDNN_ROOT="${ONEDNN_ROOT:-}" >/dev/null
    cmake --build "$dir" -j"$jobs"
    # JavaCPP's Builder links the inherited preset's library (-lopenblas_nolapack); the jar has only
    # libopenblas.so.0, which provides every symbol, so unversioned names point at it for the link.
    mkdir -p "$dir/openblas-link"
    ln -sf "$blas/libopenblas.so.0" "$dir/openblas-link/libopenblas.so"
    ln -sf "$blas/libopenblas.so.0" "$dir/openblas-link/libopenblas_nolapack.so"
    ;;
  test)
    ctest --test-dir "$dir" --output-on-failure
    if [ "$asan" = "true" ]; then
      cmake -S "$here" -B "$dir-asan" -DCMAKE_BUILD_TYPE=Debug -DADJOINT_SANITIZE=ON -DOPENBLAS_ROOT="$blas" -DONEDNN_ROOT="${ONEDNN_ROOT:-}" >/dev/null
      cmake --build "$dir-asan" -j"$jobs"
      ctest --test-dir "$dir-asan" --output-on-failure
    fi
    ;;
  *) echo "usage: build.sh build|test <cmake-dir> <openblas-root> [asan]" >&2; exit 2 ;;
esac
