#!/usr/bin/env bash
# The "new user in a separate Maven project" check: installs this checkout's adjoint-api (with adjoint-native and
# the parent POM) into a private local repository under target/, then builds and tests tests/user-project against
# it as any project depending on dev.adjoint:adjoint-api would be.
#
# Nothing is downloaded and ~/.m2 is never written: the private repository is seeded from ~/.m2 (or
# $ADJOINT_SEED_REPO) through a settings file whose only mirror, for every repository, is that folder as a file://
# repository. So run it after a normal build of this repository (`mvn -B verify`, as .ci/run does), which puts
# every plugin and dependency the two builds need in ~/.m2. The install skips all tests (the JUnit suites and the
# native CTest/ASan runs are the main build's job); the private repository is kept between runs, so only the
# dev.adjoint artifacts are rewritten.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seed=${ADJOINT_SEED_REPO:-$HOME/.m2/repository}
work=$here/target/m2
repo=$work/repository
[ -d "$seed" ] || { echo "run.sh: seed repository $seed not found (build the project once first)" >&2; exit 1; }
mkdir -p "$repo"
# Every repository is mirrored to the seed folder. "central" is redefined only to ignore checksums: a local
# repository keeps no checksum files next to what it holds, which would be a warning per artifact.
cat > "$work/settings.xml" <<XML
<settings>
  <localRepository>$repo</localRepository>
  <mirrors>
    <mirror><id>local-seed</id><name>~/.m2 as a file repository</name><mirrorOf>*</mirrorOf><url>file://$seed</url></mirror>
  </mirrors>
  <profiles>
    <profile>
      <id>local-seed</id>
      <repositories>
        <repository><id>central</id><url>file://$seed</url>
          <releases><checksumPolicy>ignore</checksumPolicy></releases><snapshots><enabled>false</enabled></snapshots></repository>
      </repositories>
      <pluginRepositories>
        <pluginRepository><id>central</id><url>file://$seed</url>
          <releases><checksumPolicy>ignore</checksumPolicy></releases><snapshots><enabled>false</enabled></snapshots></pluginRepository>
      </pluginRepositories>
    </profile>
  </profiles>
  <activeProfiles><activeProfile>local-seed</activeProfile></activeProfiles>
</settings>
XML
mvn_private=(mvn -B -s "$work/settings.xml" -Dmaven.repo.local="$repo")

start=$(date +%s)
echo "== install adjoint-api and what it needs into $repo"
"${mvn_private[@]}" -q -f "$root/pom.xml" install -pl java-api -am -DskipTests -Dadjoint.asan=false
for a in adjoint-parent adjoint-native adjoint-api; do
  [ -d "$repo/dev/adjoint/$a/0.1.0-SNAPSHOT" ] || { echo "run.sh: $a was not installed into $repo" >&2; exit 1; }
done
echo "== build and test tests/user-project against it"
"${mvn_private[@]}" -f "$here/pom.xml" verify
echo "== user project: passed in $(( $(date +%s) - start )) s"
