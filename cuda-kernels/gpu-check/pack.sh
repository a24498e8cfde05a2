#!/usr/bin/env bash
# Packs the GPU check kit (issue "Prove the CUDA backend on a real GPU"): a self-contained folder that runs
# the CUDA checks on a bare CUDA machine (driver, nvcc, cuBLAS; no Java, no Maven, no network).
#   cuda-kernels/gpu-check/pack.sh [out-dir]     default: target/gpu-kit (a folder, at most ~60 MiB)
# It builds what it needs (mvn package, tests compiled but not run), then gathers:
#   jre.tar.xz        a jlinked Java runtime (java.base, jdk.unsupported, java.logging, java.management, jdk.management, java.xml for JUnit reports)
#   lib/              the project's jars, their dependencies (OpenBLAS inside its preset jar), the test classes as a
#                     jar, and the JUnit console launcher
#   bin/              the native CUDA test binaries and the raw cuBLAS/copy reference (where nvcc built them)
#   run.sh            what the GPU machine runs (see run.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
out=${1:-$root/target/gpu-kit}
mkdir -p "$out" && out=$(cd "$out" && pwd)   # absolute: the steps below change directory
junit_console=org.junit.platform:junit-platform-console-standalone:1.14.1
version=$(sed -n 's:.*<version>\(.*-SNAPSHOT\)</version>.*:\1:p' pom.xml | head -1)

echo "[gpu-kit] building (tests compiled, not run) ..."
cp_file=$(mktemp)
# In the same invocation as package, so that sibling modules resolve to this build, not to ~/.m2; every
# module of the reactor writes the file, the last one (the -pl module) wins.
for m in tests bench; do
  mvn -B -q -DskipTests package dependency:build-classpath -pl $m -am \
    -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file.adjoint-$m" >/dev/null
done
mvn -B -q dependency:copy -Dartifact="$junit_console" -DoutputDirectory="$cp_file.d" >/dev/null

rm -rf "$out"
mkdir -p "$out/lib" "$out/bin"
# Jars: every class-path entry of tests and bench (test scope), deduplicated; class folders become jars.
for f in "$cp_file".adjoint-tests "$cp_file".adjoint-bench; do tr ':' '\n' < "$f"; done | sort -u | while read -r e; do
  [ -z "$e" ] && continue
  if [ -d "$e" ]; then
    name=$(echo "$e" | sed "s:^$root/::; s:/target/classes::; s:/:-:g")
    (cd "$e" && jar cf "$out/lib/$name-classes.jar" .)
  elif [ -f "$e" ]; then
    cp "$e" "$out/lib/"
  fi
done
for m in java-api native cuda-kernels examples bench; do
  j=$(ls "$m"/target/adjoint-*"$version".jar 2>/dev/null | head -1 || true)
  [ -n "$j" ] && cp "$j" "$out/lib/"
done
(cd tests/target/test-classes && jar cf "$out/lib/adjoint-tests-test-classes.jar" .)
cp "$cp_file.d"/junit-platform-console-standalone-*.jar "$out/lib/"
# JUnit's own jars are inside the console launcher: drop the duplicates.
rm -f "$out"/lib/junit-jupiter-*.jar "$out"/lib/junit-platform-commons-*.jar "$out"/lib/junit-platform-engine-*.jar \
  "$out"/lib/junit-platform-launcher-*.jar "$out"/lib/opentest4j-*.jar "$out"/lib/apiguardian-*.jar
# Not needed on the GPU machine (plots, PDF export, the CLI, JMH's statistics): the 64 MiB budget is tight.
# oneDNN (26 MiB) too: without its jar the engine runs every CPU gemm on OpenBLAS and says so in its info.
rm -f "$out"/lib/dnnl-*.jar
rm -f "$out"/lib/{xchart,pdfbox,fontbox,pdfbox-io,VectorGraphics2D,graphics2d,commons-logging,picocli,commons-math3,jmh-core,jmh-generator-annprocess,jopt-simple}-*.jar
rm -rf "$cp_file.d"; rm -f "$cp_file" "$cp_file".adjoint-*

# Native CUDA binaries (built by adjoint-cuda where nvcc exists).
for b in adjoint_cuda_smoke adjoint_cuda_launch_plan_test adjoint_gpu_reference libadjoint_cuda.so; do
  [ -f cuda-kernels/target/cmake/$b ] && cp cuda-kernels/target/cmake/$b "$out/bin/"
done

echo "[gpu-kit] jlink ..."
jlink --add-modules java.base,jdk.unsupported,java.logging,java.management,jdk.management,java.xml \
  --strip-debug --no-man-pages --no-header-files --compress=2 --output "$out/jre"
tar -C "$out" -cJf "$out/jre.tar.xz" jre
rm -rf "$out/jre"
cp "$root/cuda-kernels/gpu-check/run.sh" "$out/run.sh"
chmod +x "$out/run.sh"
git -C "$root" rev-parse --short HEAD > "$out/COMMIT" 2>/dev/null || true
size=$(du -sm "$out" | cut -f1)
echo "[gpu-kit] $out: ${size} MiB"
if [ "$size" -gt 60 ]; then
  echo "[gpu-kit] too big: $size MiB > 60 MiB (the device tool carries at most 64 MiB)" >&2
  exit 1
fi
