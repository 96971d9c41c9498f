#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ for a fixed time each, on stable Rust.
#
#   scripts/fuzz.sh                 # every target, FUZZ_SECONDS (default 20) each
#   scripts/fuzz.sh ipv6 geneve     # only these targets
#   FUZZ_SECONDS=300 scripts/fuzz.sh
#   FUZZ_SANITIZER=address scripts/fuzz.sh   # ASan; needs RUSTC_BOOTSTRAP (set below)
#
# Why `--sanitizer none` by default: cargo-fuzz's default (ASan) passes
# -Zsanitizer, which stable rustc refuses. switch-core forbids unsafe code, so
# ASan has little to find there; the coverage instrumentation and the
# debug-assertion/overflow checks cargo-fuzz turns on work on stable.
# See docs/fuzzing.md.
#
# Crashes are written to fuzz/artifacts/<target>/; reproduce one with
#   cd fuzz && cargo fuzz run --sanitizer none <target> artifacts/<target>/<file>
set -euo pipefail

cd "$(dirname "$0")/../fuzz"

seconds="${FUZZ_SECONDS:-20}"
sanitizer="${FUZZ_SANITIZER:-none}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: cargo-fuzz not found, installing it from crates.io" >&2
    cargo install cargo-fuzz --locked
fi

if [[ "$sanitizer" != none ]]; then
    # Sanitizers are -Z flags; RUSTC_BOOTSTRAP=1 lets stable rustc accept them.
    export RUSTC_BOOTSTRAP=1
fi

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

# One build up front, so a compile error stops everything before any run.
cargo fuzz build --sanitizer "$sanitizer"

failed=()
for t in "${targets[@]}"; do
    echo "=== fuzz $t for ${seconds}s (sanitizer: $sanitizer)"
    mkdir -p "corpus/$t"
    seeds=()
    [[ -d "seeds/$t" ]] && seeds=("seeds/$t")
    # corpus/<t> comes first: libFuzzer writes new inputs to the first dir;
    # seeds/<t> holds the hand-made fixtures, read only.
    if ! cargo fuzz run --sanitizer "$sanitizer" "$t" "corpus/$t" "${seeds[@]}" -- \
        -max_total_time="$seconds" -print_final_stats=1; then
        failed+=("$t")
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz.sh: FAILED: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets ran ${seconds}s each without a crash"
