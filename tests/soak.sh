#!/usr/bin/env bash
# Soak test (tests/RELIABILITY.md): 1M first-order and 200k second-order gradient calls, with results
# closed and with results left to the GC, printing RSS growth. Fails if RSS keeps growing.
#   tests/soak.sh [firstOrderCalls] [secondOrderCalls]
set -euo pipefail
cd "$(dirname "$0")/.."
# A fixed, pre-touched heap: RSS growth then shows native memory, not the JVM sizing its heap.
export ADJOINT_JAVA_OPTS="${ADJOINT_JAVA_OPTS:--Xms256m -Xmx256m -XX:+AlwaysPreTouch}"
exec ./adjoint soak "${1:-1000000}" "${2:-200000}"
