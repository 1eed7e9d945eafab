#!/usr/bin/env bash
# setup.sh - Gradescope runs this once, as root, when it builds the
# autograder's image: it installs what the build needs and builds the
# reference solutions, which every submission's performance tests are
# timed against. The autograder zip holds this file, run_autograder and
# the instructor's tree as msgroute/ (tests/grading/gradescope/README.md).
set -euo pipefail
TREE=/autograder/source/msgroute
# The same Debian packages `make` installs on a fresh machine.
make -C "$TREE" deps
cmake -S "$TREE" -B "$TREE/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMSGROUTE_IMPL=solutions >/dev/null
cmake --build "$TREE/build" -j "$(nproc)"
