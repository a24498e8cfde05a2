#!/usr/bin/env bash
# The GPU check, in one command, on a bare CUDA machine: bash run.sh   (results and logs go to $OUT, else ./out)
# In order of value per second, so that a run cut off by its time limit still reports:
#   0. environment: glibc (the engine needs GLIBC_2.34), driver, card (nvidia-smi), cuBLAS location
#   1. native CUDA smoke test (every kernel vs a host reference) and planning test
#   2. Java CudaConformanceTest (every op, first and second order, tutorial, semantics, training steps vs CPU);
#      the NCCL collective backend with one rank
#   3. short benchmark: raw cuBLAS / copy ideals, then GpuBench (W1/W5 latency, W2, W3, W4, large index, cliffs)
#   4. compute-sanitizer memcheck, racecheck, synccheck on the smoke test
# Without a GPU the CPU parts run and the CUDA parts say why they are skipped. Budget: ADJOINT_KIT_BUDGET_S (480).
set -uo pipefail
kit=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$kit/out}
mkdir -p "$OUT"
results="$OUT/results.txt"
: > "$results"
start=$(date +%s)
budget=${ADJOINT_KIT_BUDGET_S:-480}
left() { echo $(( budget - ($(date +%s) - start) )); }
say() { echo "$*" | tee -a "$results"; }
step() { # step <name> <timeout-s> <command...>: runs with its log in $OUT/<name>.log, records the outcome
  local name=$1 t=$2; shift 2
  local l; l=$(left)
  if [ "$l" -le 5 ]; then say "[$name] SKIPPED: time budget spent"; return; fi
  [ "$t" -gt "$l" ] && t=$l
  local t0; t0=$(date +%s)
  timeout "$t" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  say "[$name] rc=$rc in $(( $(date +%s) - t0 )) s (log: $name.log)"
  grep -E "SKIPPED|FAILED|skipped|passed|tests (successful|failed|aborted)|W[0-9]|cliff|large-index|raw cuBLAS|device-to-device|ERROR SUMMARY|OK$" "$OUT/$name.log" | head -60 | tee -a "$results"
}

say "== Adjoint GPU check kit $(cat "$kit/COMMIT" 2>/dev/null) on $(hostname) at $(date -u +%FT%TZ)"
say "glibc: $(ldd --version 2>&1 | head -1)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.sm --format=csv,noheader 2>&1 | sed 's/^/gpu: /' | tee -a "$results"

work=$(mktemp -d)
tar -C "$work" -xJf "$kit/jre.tar.xz"
JAVA="$work/jre/bin/java"
export JAVA_TOOL_OPTIONS="-Djava.io.tmpdir=$work -Dorg.bytedeco.javacpp.cachedir=$work/javacpp"
say "java: $("$JAVA" -version 2>&1 | head -1)"

# On a machine with a GPU, a CUDA test that would skip fails instead.
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then export ADJOINT_REQUIRE_CUDA=1; fi
# cuBLAS: ADJOINT_CUBLAS_PATH, else the first libcublas.so.* on the machine (the GPU machine keeps it in its
# Python environment). Its absence fails the GPU check instead of silently skipping matmul coverage.
if [ -z "${ADJOINT_CUBLAS_PATH:-}" ]; then
  ADJOINT_CUBLAS_PATH=$(timeout 60 find / \( -path /proc -o -path /sys \) -prune -o -name 'libcublas.so.*' -print 2>/dev/null | sort | tail -1)
fi
export ADJOINT_CUBLAS_PATH
if [ -n "$ADJOINT_CUBLAS_PATH" ]; then
  say "cuBLAS: $ADJOINT_CUBLAS_PATH"
  export LD_LIBRARY_PATH="$(dirname "$ADJOINT_CUBLAS_PATH"):${LD_LIBRARY_PATH:-}"
elif [ -n "${ADJOINT_REQUIRE_CUDA:-}" ]; then
  say "cuBLAS: FAILED: not found on a machine with a GPU (set ADJOINT_CUBLAS_PATH); matmul on CUDA cannot be checked"
else
  say "cuBLAS: not found (no GPU here either)"
fi
export ADJOINT_REQUIRE_CUBLAS=1
export ADJOINT_CUDA_LIBRARY="$kit/bin/libadjoint_cuda.so"
[ -f "$ADJOINT_CUDA_LIBRARY" ] || unset ADJOINT_CUDA_LIBRARY
cp="$(ls "$kit"/lib/*.jar | tr '\n' ':')"

if [ -x "$kit/bin/adjoint_cuda_smoke" ]; then
  step cuda-smoke 120 "$kit/bin/adjoint_cuda_smoke" "$kit/bin/libadjoint_cuda.so"
  step cuda-launch-plan 60 "$kit/bin/adjoint_cuda_launch_plan_test"
else
  say "[cuda-smoke] SKIPPED: this kit was packed without nvcc (no CUDA binaries)"
fi
step java-conformance 240 "$JAVA" -Xss4m -cp "$cp" org.junit.platform.console.ConsoleLauncher \
  --disable-banner --details=summary --select-class=dev.adjoint.tests.CudaConformanceTest \
  --select-class=dev.adjoint.tests.TutorialTest --reports-dir="$OUT/junit"
# The NCCL collective backend with one rank: a real all-reduce where the GPU machine has libnccl.so.2,
# else the error that says what is missing (printed by the test's report).
step java-nccl 60 "$JAVA" -Xss4m -cp "$cp" org.junit.platform.console.ConsoleLauncher \
  --disable-banner --details=tree \
  "--select-method=dev.adjoint.tests.distributed.ProcessGroupAndSamplerTest#ncclIsOpenedAtRunTimeOrExplainsWhyNot(java.nio.file.Path)" \
  --reports-dir="$OUT/junit-nccl"
if [ -x "$kit/bin/adjoint_gpu_reference" ]; then
  step gpu-reference 60 "$kit/bin/adjoint_gpu_reference" "$OUT/reference.txt"
fi
ADJOINT_GPU_REFERENCE="$OUT/reference.txt" step gpu-bench 180 "$JAVA" -Xss4m -Xmx24g -cp "$cp" dev.adjoint.bench.GpuBench
if command -v compute-sanitizer >/dev/null && [ -x "$kit/bin/adjoint_cuda_smoke" ]; then
  for tool in memcheck racecheck synccheck; do
    step "sanitizer-$tool" 90 compute-sanitizer --tool "$tool" --error-exitcode 9 "$kit/bin/adjoint_cuda_smoke" "$kit/bin/libadjoint_cuda.so"
  done
else
  say "[sanitizer] SKIPPED: compute-sanitizer not found or no CUDA binaries"
fi
say "== done in $(( $(date +%s) - start )) s; results in $results"
rm -rf "$work"
