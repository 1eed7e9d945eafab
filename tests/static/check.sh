#!/usr/bin/env bash
# check.sh - the static checks of msgroute: cppcheck, clang-tidy (.clang-tidy)
# and clang-format (.clang-format) over the C files git tracks. What
# `make lint` runs; exits non-zero when any of them reports a finding.
#
# Usage: tests/static/check.sh [BUILD_DIR] [--only cppcheck|tidy|format]
#   BUILD_DIR holds compile_commands.json (CMake writes it: the top-level
#   CMakeLists.txt sets CMAKE_EXPORT_COMPILE_COMMANDS), which gives clang-tidy
#   and cppcheck each file's real flags, include paths and definitions.
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
only=${3:-}
[ "${2:-}" = "--only" ] || only=""
db=$build/compile_commands.json
if [ ! -f "$db" ]; then
  echo "check.sh: no $db: configure first (cmake -S . -B $build)" >&2
  exit 2
fi
for tool in cppcheck clang-tidy clang-format; do
  command -v $tool >/dev/null || { echo "check.sh: $tool is not installed" >&2; exit 2; }
done
jobs=$(nproc 2>/dev/null || echo 2)
mapfile -t sources < <(git ls-files '*.c')
mapfile -t all < <(git ls-files '*.c' '*.h')
# The sources the build compiles (a tracked file outside the build, e.g. a
# lab's starter copy of a solution, is formatted but not analysed).
mapfile -t compiled < <(for f in "${sources[@]}"; do grep -q "\"file\": \"$PWD/$f\"" "$db" && echo "$f"; done)
status=0
log=$(mktemp -d /tmp/msgroute-lint-XXXXXX)
trap 'rm -rf "$log"' EXIT

step() { [ -z "$only" ] || [ "$only" = "$1" ]; }

if step cppcheck; then
  # warning: real defects; performance/portability: cheap and rarely wrong.
  # style is left out: it overlaps clang-tidy and mostly asks for const.
  # missingIncludeSystem: cppcheck does not need libc's headers to do its
  # job; it is told what Criterion's macros mean instead (tests/static/
  # cppcheck/criterion/criterion.h). The build directory's cppcheck cache
  # keeps reruns fast (remove it after changing these options).
  # Two false positives of cppcheck 2.10, suppressed by name:
  #  ctuuninitvar: its whole-program pass takes a callee that only writes a
  #    struct (proc_start() filling a caller's `struct proc p;`) as reading it.
  #  uninitvar in test_cli.c: the GNU statement expression of its PARSE()
  #    macro hides the cli_parse() call that fills the options.
  mkdir -p "$build/cppcheck"
  cppcheck --project="$db" --include=tests/static/cppcheck/criterion/criterion.h \
    --enable=warning,performance,portability --std=c11 --inline-suppr \
    --suppress=missingIncludeSystem --suppress='*:/usr/*' \
    --suppress=ctuuninitvar --suppress='uninitvar:*tests/unit/test_cli.c' --cppcheck-build-dir="$build/cppcheck" \
    --error-exitcode=1 -j "$jobs" --quiet --template='{file}:{line}: {severity} ({id}): {message}' \
    >"$log/cppcheck" 2>&1
  rc=$?
  n=$(grep -c ': \(error\|warning\|performance\|portability\) (' "$log/cppcheck")
  if [ $rc -ne 0 ] || [ "$n" -gt 0 ]; then
    cat "$log/cppcheck"; echo "cppcheck: $n findings"; status=1
  else
    echo "cppcheck: clean (${#compiled[@]} files)"
  fi
fi

if step tidy; then
  # The build may use gcc-only flags (LTO's -fno-fat-lto-objects): clang-tidy
  # is told to ignore flags it does not know rather than fail on them.
  printf '%s\n' "${compiled[@]}" |
    xargs -P "$jobs" -n 4 clang-tidy -p "$build" --quiet \
      --extra-arg=-Wno-unknown-warning-option --extra-arg=-Wno-ignored-optimization-argument \
      >"$log/tidy" 2>"$log/tidy.err"
  n=$(grep -c ': \(warning\|error\): ' "$log/tidy")
  if [ "$n" -gt 0 ]; then
    grep -A3 ': \(warning\|error\): ' "$log/tidy"; echo "clang-tidy: $n findings"; status=1
  else
    echo "clang-tidy: clean (${#compiled[@]} files)"
  fi
fi

if step format; then
  clang-format --dry-run --Werror "${all[@]}" >"$log/format" 2>&1
  mapfile -t unformatted < <(sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' \
                              "$log/format" | sort -u)
  if [ ${#unformatted[@]} -gt 0 ]; then
    printf '  %s\n' "${unformatted[@]}"
    echo "clang-format: ${#unformatted[@]} files need formatting (clang-format -i FILE; see .clang-format)"
    status=1
  else
    echo "clang-format: clean (${#all[@]} files)"
  fi
fi
exit $status
