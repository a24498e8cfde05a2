#!/usr/bin/env bash
# The fuzz tier, longer than CI's short budget: the engine fuzzer (random, mostly invalid graphs through
# the binding) and the Java-API fuzzer (random op sequences, shapes, dtypes, closes, threads), each for
# N iterations (default 20000), from a given seed (default: the time).
#   tests/fuzz.sh [N] [seed]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-20000}"
seed="${2:-$(date +%s)}"
echo "fuzz: $n iterations per fuzzer, seed $seed"
mvn -B -q verify -pl tests -am -Dadjoint.asan=false -Dtest='EngineFuzzTest,ApiFuzzTest' -Dsurefire.failIfNoSpecifiedTests=false \
  -Dadjoint.fuzz.iterations="$n" -Dadjoint.fuzz.seed="$seed" \
  -Dadjoint.apifuzz.iterations="$n" -Dadjoint.apifuzz.seed="$seed"
