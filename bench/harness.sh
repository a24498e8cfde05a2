#!/usr/bin/env bash
# The independent harness (dev.adjoint.bench.peers.Harness): W6-W8 on Adjoint, libtorch and TensorFlow Java
# timed without JMH, each workload in its own JVM, the three libraries back to back per workload and thread
# count (one window), then a table of medians with peer / Adjoint ratios. Needs the peers build:
#   PEERS=1 SKIP_BUILD= bench/run.sh -l >/dev/null   (or mvn -Ppeers package -pl bench -am -DskipTests)
#   THREADS="1 2" WARMUP=3 SAMPLES=40 bench/harness.sh     results: bench/target/harness.md
set -euo pipefail
cd "$(dirname "$0")/.."
jar=bench/target/benchmarks.jar
out=bench/target/harness.md
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-1}"
run() {   # class method threads -> median (ms)
  java -Xss4m -Dorg.bytedeco.javacpp.cachedir=bench/target/javacpp-cache -cp "$jar" dev.adjoint.bench.peers.Harness "$1" "$2" "$3" \
    "${WARMUP:-3}" "${SAMPLES:-40}" 2>/dev/null | grep '^harness ' || echo "harness $1.$2 threads=$3 failed"
}
{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ), cpu: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //') ($(nproc) cores), load: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| workload | threads | Adjoint median (min) | libtorch median (min) | TF-Java median (min) | libtorch / Adjoint | TF / Adjoint |"
  echo "|---|---|---|---|---|---|---|"
  for t in ${THREADS:-1 2}; do
    for w in "W6 PinnStepBench TorchPinnStepBench TfPinnStepBench step" "W7 ForceFieldStepBench TorchForceFieldStepBench TfForceFieldStepBench step" \
             "W8-hvp HvpBench TorchHvpBench TfHvpBench hvpOfLoss" "W8-gradient HvpBench TorchHvpBench TfHvpBench gradient"; do
      set -- $w
      a=$(run "$2" "$5" "$t"); b=$(run "$3" "$5" "$t"); c=$(run "$4" "$5" "$t")
      med() { sed -n 's/.*median=\([0-9.]*\).*/\1/p' <<<"$1"; }
      mn() { sed -n 's/.*min=\([0-9.]*\).*/\1/p' <<<"$1"; }
      ma=$(med "$a"); mb=$(med "$b"); mc=$(med "$c")
      ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v x="$1" -v y="$2" 'BEGIN { printf "%.2f", x / y }' || echo "—"; }
      echo "| $1 | $t | ${ma:-failed} ms ($(mn "$a")) | ${mb:-failed} ms ($(mn "$b")) | ${mc:-failed} ms ($(mn "$c")) | $(ratio "$mb" "$ma") | $(ratio "$mc" "$ma") |"
    done
  done
  echo
  echo "W8-hvp / W8-gradient on Adjoint is the HVP's ratio to its gradient (target 2.5); every figure a median of single calls after a warm-up."
} | tee "$out"
