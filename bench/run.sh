#!/usr/bin/env bash
# Builds the benchmarks and runs them; JMH's JSON goes to bench/target/jmh-result.json and the ratio
# table (each workload against its ideal) to stdout and bench/target/jmh-result.md.
#
#   bench/run.sh                         the whole suite, defaults of the classes (engine/BLAS threads 1)
#   bench/run.sh -f 1 -wi 2 -i 3         arguments go to JMH as they are
#   bench/run.sh 'MatmulGradBench' -p n=1024
#   THREADS=1,2 bench/run.sh             1- and 2-thread figures in one run (-p threads=1,2)
#   PEERS=1 bench/run.sh                 also the libtorch and TensorFlow-Java peers (mvn -Ppeers; downloads both)
#   SKIP_BUILD=1 bench/run.sh            reuse bench/target/benchmarks.jar
#   MVN_ARGS="-o" bench/run.sh           extra Maven arguments (default: -Dadjoint.asan=false)
set -euo pipefail
cd "$(dirname "$0")/.."
jar=bench/target/benchmarks.jar
json=bench/target/jmh-result.json

if [ -z "${SKIP_BUILD:-}" ] || [ ! -f "$jar" ]; then
  profile=()
  [ -n "${PEERS:-}" ] && profile=(-Ppeers)
  echo "[bench] building (mvn package -pl bench -am, tests skipped) ..." >&2
  # shellcheck disable=SC2086
  mvn -B -q -DskipTests ${MVN_ARGS:--Dadjoint.asan=false} "${profile[@]}" package -pl bench -am >&2
fi

# TensorFlow's INFO log (one line per Java custom-gradient call while a TF peer builds its graph); warnings stay.
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-1}"
jmh_args=()
[ -n "${THREADS:-}" ] && jmh_args+=(-p "threads=$THREADS")
mkdir -p "$(dirname "$json")"
java ${BENCH_JAVA_OPTS:-} -Dorg.bytedeco.javacpp.cachedir=bench/target/javacpp-cache -jar "$jar" -rf json -rff "$json" "${jmh_args[@]}" "$@"

{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //') ($(nproc) cores online)"
  echo
  java -cp "$jar" dev.adjoint.bench.Report "$json"
} | tee bench/target/jmh-result.md
