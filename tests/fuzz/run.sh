#!/usr/bin/env bash
# run.sh - runs every built libFuzzer target for a while: what `make fuzz`
# does. Usage: tests/fuzz/run.sh BUILD_DIR SECONDS_PER_TARGET [JOBS]
#
# JOBS targets run at once (default: the number of CPUs); each gets the whole
# SECONDS_PER_TARGET of one CPU. Each target starts from its checked-in seeds
# (tests/fuzz/corpus/<target>/) and grows a working corpus in
# BUILD_DIR/fuzz-corpus/<target>/, so the seeds stay small and reviewed. A
# crash leaves its input in BUILD_DIR/fuzz-crashes/<target>/: copy it into
# tests/fuzz/crashes/<target>/ with a name saying what it broke, fix the bug,
# and test_fuzz_<target> replays it from then on. Exits non-zero if any
# target crashed.
set -u
build=${1:?usage: run.sh BUILD_DIR SECONDS [JOBS]}
seconds=${2:-30}
jobs=${3:-$(nproc 2>/dev/null || echo 1)}
here=$(cd "$(dirname "$0")" && pwd)
shopt -s nullglob
targets=("$build"/fuzz/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
  echo "run.sh: no fuzz targets in $build/fuzz (configure with CC=clang -DMSGROUTE_FUZZ=ON)" >&2
  exit 2
fi
# Longest input per target: a little over the longest line or frame the
# decoder accepts, so the "too long" paths are reachable.
declare -A max_len=([trace_line]=4200 [trace_load]=9000 [codec_frame]=65536 [codec_query]=4096 [inq_stream]=65536 [ring_record]=16400)

# fuzz TARGET: one run; its exit status and wall time go to BUILD_DIR.
fuzz() {
  local bin=$1 t=${1##*/fuzz_}
  local work=$build/fuzz-corpus/$t crashes=$build/fuzz-crashes/$t start
  mkdir -p "$work" "$crashes"
  start=$(date +%s)
  # -rss_limit_mb bounds a decoder that trusts a length; -timeout flags a hang.
  "$bin" -max_total_time="$seconds" -max_len="${max_len[$t]:-65536}" -timeout=10 -rss_limit_mb=1024 \
         -artifact_prefix="$crashes/" -print_final_stats=1 "$work" "$here/corpus/$t" >"$build/fuzz-$t.log" 2>&1
  echo "$? $(( $(date +%s) - start ))" >"$build/fuzz-$t.status"
}

running=0
for bin in "${targets[@]}"; do
  if [ $running -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
  fuzz "$bin" &
  running=$((running + 1))
done
wait

status=0
printf '%-14s %8s %12s %10s %s\n' target seconds runs "exec/s" result
for bin in "${targets[@]}"; do
  t=${bin##*/fuzz_}
  log=$build/fuzz-$t.log
  read -r rc took <"$build/fuzz-$t.status"
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  if [ "$rc" -eq 0 ]; then result=ok; else
    result="CRASH (exit $rc): see $log and $build/fuzz-crashes/$t/"; status=1
  fi
  printf '%-14s %8s %12s %10s %s\n' "$t" "$took" "${runs:-?}" "${speed:-?}" "$result"
done
exit $status
