#!/usr/bin/env bash
# run.sh - runs every built libFuzzer target for a while: what `make fuzz`
# does. Usage: tests/fuzz/run.sh BUILD_DIR SECONDS_PER_TARGET
#
# Each target starts from its checked-in seeds (tests/fuzz/corpus/<target>/)
# and grows a working corpus in BUILD_DIR/fuzz-corpus/<target>/, so the seeds
# stay small and reviewed. A crash leaves its input in
# BUILD_DIR/fuzz-crashes/<target>/: copy it into tests/fuzz/crashes/<target>/
# with a name saying what it broke, fix the bug, and test_fuzz_<target>
# replays it from then on. Exits non-zero if any target crashed.
set -u
build=${1:?usage: run.sh BUILD_DIR SECONDS}
seconds=${2:-30}
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
status=0
printf '%-14s %8s %12s %10s %s\n' target seconds runs "exec/s" result
for bin in "${targets[@]}"; do
  t=${bin##*/fuzz_}
  work=$build/fuzz-corpus/$t crashes=$build/fuzz-crashes/$t
  mkdir -p "$work" "$crashes"
  log=$build/fuzz-$t.log
  start=$(date +%s)
  # -rss_limit_mb bounds a decoder that trusts a length; -timeout flags a hang.
  "$bin" -max_total_time="$seconds" -max_len="${max_len[$t]:-65536}" -timeout=10 -rss_limit_mb=1024 \
         -artifact_prefix="$crashes/" -print_final_stats=1 "$work" "$here/corpus/$t" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  if [ $rc -eq 0 ]; then result=ok; else
    result="CRASH (exit $rc): see $log and $crashes/"; status=1
  fi
  printf '%-14s %8s %12s %10s %s\n' "$t" "$(( $(date +%s) - start ))" "${runs:-?}" "${speed:-?}" "$result"
done
exit $status
