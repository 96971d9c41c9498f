#!/usr/bin/env bash
# The one command that installs what is missing and runs every test.
#
#   sudo scripts/test.sh            # everything
#   FUZZ_SECONDS=60 sudo scripts/test.sh
#
# Stages: dependencies, build, unit + functional tests (cargo test: switch-core,
# config, control, io-afxdp, tests/ including veth/netns tests on AF_XDP, which
# need root), then a short fuzz run of every parser.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
    echo "test.sh: run as root (the AF_XDP tests create namespaces and veth pairs)" >&2
    exit 1
fi

step() { printf '\n== %s\n' "$*"; }

step "dependencies"
scripts/install-deps.sh

step "build"
cargo build --workspace --all-targets --locked

step "tests"
# One test thread per binary for the netns tests is enforced inside them
# (they take a lock); the unit tests run in parallel.
cargo test --workspace --locked --no-fail-fast 2>&1 | tee /tmp/xvs-test.log
passed=$(grep -Eo '[0-9]+ passed' /tmp/xvs-test.log | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' /tmp/xvs-test.log | awk '{s+=$1} END {print s+0}')

step "fuzz smoke (${FUZZ_SECONDS:-10}s per target)"
FUZZ_SECONDS=${FUZZ_SECONDS:-10} scripts/fuzz.sh

step "summary"
echo "cargo test: ${passed} passed, ${failed} failed"
