#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time, one after the other.
#
#   fuzz/run.sh [seconds per target, default 60] [target ...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). The fuzzer runtime needs
# nightly features; on a stable toolchain RUSTC_BOOTSTRAP=1 unlocks them.
# Corpora grow in fuzz/corpus/<target> (seeded from fuzz/seeds/<target>),
# crashes land in fuzz/artifacts/<target>, logs in fuzz/logs/<target>.log.
# Prints executions and crashes per target; exits 1 if any target crashed.
# FUZZ_ARGS adds libFuzzer flags, e.g. FUZZ_ARGS=-detect_leaks=0 to look
# past a known leak.
set -uo pipefail
cd "$(dirname "$0")"

secs=${1:-60}
shift || true
export RUSTC_BOOTSTRAP=${RUSTC_BOOTSTRAP:-1}

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build || exit 2

mkdir -p logs
summary=()
failed=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  [ -d "seeds/$t" ] && cp -n "seeds/$t"/* "corpus/$t"/ 2>/dev/null
  args=(-max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1)
  [ -f "dicts/$t.dict" ] && args+=(-dict="dicts/$t.dict")
  # shellcheck disable=SC2206
  args+=(${FUZZ_ARGS:-})
  before=$(ls "artifacts/$t" | wc -l)
  echo "== $t: ${secs}s"
  cargo fuzz run "$t" "corpus/$t" -- "${args[@]}" >"logs/$t.log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | tail -1 | grep -o '[0-9]*$')
  crashes=$(( $(ls "artifacts/$t" | wc -l) - before ))
  if [ "$rc" -ne 0 ]; then
    failed=1
    grep -m1 -E 'panicked at|ERROR: libFuzzer|SUMMARY' "logs/$t.log" | sed 's/^/   /'
  fi
  summary+=("$(printf '%-12s executions=%-10s new_crashes=%s exit=%s' "$t" "${execs:-?}" "$crashes" "$rc")")
done

echo "== summary (${secs}s per target)"
printf '%s\n' "${summary[@]}"
exit "$failed"
