#!/usr/bin/env bash
# The one command that installs what is missing and runs every test.
#
#   scripts/test.sh            # everything
#   FUZZ_SECONDS=60 scripts/test.sh
#
# Stages: dependencies, build (the workspace, then a check of fuzz/), lint
# (rustfmt, clippy -D warnings), unit +
# functional tests (cargo test: switch-core, config, control, io-afxdp, tests/
# including veth/netns tests on AF_XDP, which need root), then a short fuzz run
# of every parser.
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
# fuzz/ is outside the workspace, so the build above does not compile it: check
# it here, so that a switch-core change that breaks a fuzz target stops the run
# now rather than in the fuzz smoke after the tests. Not --locked: fuzz.sh
# (cargo fuzz build) lets its lockfile follow switch-core, and so does this.
cargo check --manifest-path fuzz/Cargo.toml --bins

step "lint"
# Formatting and clippy's warnings fail the run, as a reviewer would.
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests"
# The netns tests serialise themselves (they take a lock, because each switch
# pins a worker to CPU 1); the unit tests run in parallel. A failure does not
# stop the script: the fuzz smoke still runs and the summary still prints.
log=$(mktemp /tmp/xvs-test.XXXXXX.log)
set +e
cargo test --workspace --locked --no-fail-fast 2>&1 | tee "$log"
test_rc=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
ignored=$(grep -Eo '[0-9]+ ignored' "$log" | awk '{s+=$1} END {print s+0}')

step "fuzz smoke (${FUZZ_SECONDS:-10}s per target)"
fuzz_rc=0
FUZZ_SECONDS=${FUZZ_SECONDS:-10} scripts/fuzz.sh || fuzz_rc=$?

step "summary"
# CI keeps only the tail of the log, so the failed tests' names and their own
# output are repeated here, after the fuzz run's long output.
if ((failed > 0)); then
    echo "failed tests:"
    grep -E '^test .* \.\.\. FAILED$' "$log" | sed -E 's/^test (.*) \.\.\. FAILED$/  \1/'
    awk '/^---- .* stdout ----$/ {show = 1; n = 0}
         /^failures:$/ && show {show = 0}
         show && n++ < 40' "$log"
fi
echo "cargo test: ${passed} passed, ${failed} failed, ${ignored} ignored (exit ${test_rc})"
echo "fuzz smoke: exit ${fuzz_rc}"
rm -f "$log"
((test_rc == 0 && fuzz_rc == 0))
