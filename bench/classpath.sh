#!/usr/bin/env bash
# Builds main and test classes (no CTest) and prints the class path the bench mains run with:
# test classes, classes, the JNI library folder and the Maven dependencies (test scope).
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -o -B -q test-compile -Dbora.skipCtest=true >&2
if [ ! -s target/bench-cp.txt ] || [ pom.xml -nt target/bench-cp.txt ]; then
  mvn -o -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/bench-cp.txt >&2
fi
echo "target/test-classes:target/classes:target/native:$(cat target/bench-cp.txt)"
