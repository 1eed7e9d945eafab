# msgroute - the commands a student or an instructor types. This file only
# forwards to CMake (the real build, CMakeLists.txt) in build/; the first
# command on a fresh Debian machine installs what is missing.
#
#   make demo        build everything, run every phase on a default workload
#   make test        build and run the whole test suite
#   make phaseN      build phase N and run it once on a small workload
#   make msgen       build the trace generator
#   make memcheck    valgrind on short runs of every phase
#   make faults      SPEC §8 under attack: kill -9, SIGSTOP, signal floods,
#                    hostile dump targets (tests/faults/README.md)

# Which lesson files to build (SPEC §7): the reference solutions/ by default
# in the instructor's tree, where IMPL=labs builds the starter code into
# build/labs/; a student's tree has no solutions/ and builds labs/ into build/.
HAVE_SOLUTIONS := $(wildcard solutions)
IMPL    ?= $(if $(HAVE_SOLUTIONS),solutions,labs)
ifneq ($(HAVE_SOLUTIONS),)
ifeq ($(IMPL),labs)
BUILD   ?= build/labs
endif
endif
BUILD   ?= build
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
MAKEFLAGS += --no-print-directory
CMAKE_FLAGS ?=
ifneq ($(CI),)
CMAKE_FLAGS += -DMSGROUTE_WERROR=ON
endif
ifneq ($(SANITIZE),)
BUILD := build-sanitize
CMAKE_FLAGS += -DMSGROUTE_SANITIZE=ON
endif
# Last: once `override` has set a variable, make ignores every plain
# assignment to it that follows (the sanitizer flag above once was).
override CMAKE_FLAGS += -DMSGROUTE_IMPL=$(IMPL)

# Debian packages the build, the tests and the benchmarks need
# (chromium-headless-shell: the test that renders a results page).
DEB_PACKAGES = build-essential cmake pkg-config libuv1-dev libmsgpack-dev libzmq3-dev \
               libcriterion-dev libhdf5-dev hdf5-tools gnuplot-nox python3 python3-h5py \
               python3-msgpack valgrind chromium-headless-shell

# The small workload `make phaseN` runs, and its queries. Phase 3's queries
# are the last TODOs of its handout, so its run asks none: `make phase3`
# works as soon as its routing does.
DEMO_FLAGS ?= --messages 2000000 --ids 10000
DEMO_QUERIES ?= --queries 1000

.PHONY: all deps configure build test demo msgen memcheck clean help \
        phase1 phase2 phase3 phase4 phase5

all: build

help:
	@sed -n '2,13p' Makefile | sed 's/^# \{0,1\}//'

# $(call install_missing,PACKAGES): apt-get install whichever of PACKAGES
# are missing (with sudo when not root), saying which; fails with a clear
# message, never a bare "package not found".
define install_missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "msgroute: installing missing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  if ! command -v apt-get >/dev/null; then \
	    echo "msgroute: no apt-get here; install these packages by hand:$$missing" >&2; exit 1; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing || { \
	    echo "msgroute: could not install:$$missing (see the apt-get output above)" >&2; exit 1; }; \
	fi
endef

# Installs missing Debian packages once per build folder, and again when
# this Makefile (and so perhaps the list) changed.
deps: $(BUILD)/.deps-ok
$(BUILD)/.deps-ok: Makefile
	$(call install_missing,$(DEB_PACKAGES))
	@mkdir -p $(BUILD) && touch $@

# The extra tools of make fuzz and make lint (clang with libFuzzer, the
# static analysers): only those targets need them.
HARDENING_PACKAGES = clang libclang-rt-14-dev cppcheck clang-tidy clang-format
.PHONY: deps-hardening
deps-hardening:
	$(call install_missing,$(HARDENING_PACKAGES))

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j 1 $(CTEST_FLAGS)

msgen: configure
	@cmake --build $(BUILD) -j $(JOBS) --target msgen

phase1 phase2 phase3 phase4 phase5: configure
	@if [ ! -f phases/$@/CMakeLists.txt ]; then echo "$@ does not exist yet"; exit 2; fi
	@cmake --build $(BUILD) -j $(JOBS) --target $@
	$(BUILD)/bin/$@ $(DEMO_FLAGS) $(if $(filter phase3,$@),,$(DEMO_QUERIES)) $(if $(filter phase1 phase2,$@),,--workers 2)

# The main job until the benchmark harness exists: every built phase on the
# same workload, then a table of the results.
demo: build
	@bench/demo $(BUILD)/bin

memcheck: build
	@bench/memcheck $(BUILD)/bin

.PHONY: faults
faults: build
	@/usr/bin/python3 tests/faults/faults.py $(BUILD)/bin $(FAULTS_FLAGS)

clean:
	rm -rf build build-sanitize build-fuzz

# ---- benchmarks (bench/README.md) -------------------------------------------
#   make bench               every experiment in quick mode (a few minutes):
#                            results/<date>-<commit>/bench.h5, CSVs, graphs
#   make bench FULL=1        the long version (more messages, repetitions)
#   make bench-smoke         tiny workloads, under a minute (what CI runs)
#   make plots RESULTS=dir   re-render a results folder's graphs, no measuring
#   make bench-verify RESULTS=dir
#                            check every file of a results folder against its
#                            manifest.json; names each changed/missing/added one
#   make bench-compare A=dir B=dir [GRAPH=dir]
#                            medians, change and significance per configuration
#                            both runs measured; GRAPH= also draws a bar chart
.PHONY: bench bench-smoke plots bench-verify bench-compare
BENCH_MODE = $(if $(FULL),full,quick)

bench: build
	@/usr/bin/python3 bench/run --mode $(BENCH_MODE) --bin $(BUILD)/bin $(BENCH_FLAGS)

bench-smoke: build
	@/usr/bin/python3 bench/run --mode smoke --bin $(BUILD)/bin $(BENCH_FLAGS)

plots:
	@if [ -z "$(RESULTS)" ]; then echo "usage: make plots RESULTS=results/<run>" >&2; exit 2; fi
	@/usr/bin/python3 bench/run --plots-only $(RESULTS)

bench-verify:
	@if [ -z "$(RESULTS)" ]; then echo "usage: make bench-verify RESULTS=results/<run>" >&2; exit 2; fi
	@/usr/bin/python3 bench/verify $(RESULTS)

bench-compare:
	@if [ -z "$(A)" ] || [ -z "$(B)" ]; then echo "usage: make bench-compare A=results/<run> B=results/<run> [GRAPH=dir]" >&2; exit 2; fi
	@/usr/bin/python3 bench/compare $(A) $(B) $(if $(GRAPH),--graph $(GRAPH))
# ---- end of benchmarks -------------------------------------------------------

# ---- labs, solutions and grading (labs/README.md, tests/grading/README.md) --
#   make labs                  regenerate the starter code labs/ from solutions/
#   make labs-check            fail if labs/ is stale (a CTest test runs it too)
#   make check PHASE=N         the student's view: phase N's tests against this
#                              tree's build (IMPL as for make phaseN)
#   make grade [PHASE=N] [IMPL=solutions] [OUT=DIR] [REPEAT=N]
#                              score labs/ (default) or the reference: a table
#                              ending "total: X / Y"; OUT/results.json
#                              (Gradescope), OUT/junit.xml, OUT/grade.json
#                              (OUT defaults to <build>/grade/report); REPEAT=N
#                              grades N times and marks changed results UNSTABLE
#   make grade STUDENT=DIR     score a student's tree (DIR/labs) unpacked
#                              anywhere; it builds into a folder of its own,
#                              build/student/<name>-<hash of DIR>/, so several
#                              students can be graded at once
#   make handout               the student's tree: build/msgroute-handout.tar.gz
#   make gradescope [PHASE=N]  the autograder zip a course uploads to Gradescope:
#                              build/gradescope-autograder.zip
.PHONY: labs labs-check check grade handout gradescope
# grade scores labs/ unless IMPL is given; its build folder follows IMPL.
GRADE_IMPL  = $(if $(filter command line environment,$(origin IMPL)),$(IMPL),labs)
# One build folder per student (named after the folder and a hash of its
# path), so that two gradings at once never share one.
STUDENT_DIR = $(abspath $(STUDENT))
STUDENT_KEY = $(notdir $(STUDENT_DIR))-$(shell printf '%s' '$(STUDENT_DIR)' | md5sum | cut -c1-8)
GRADE_BUILD = $(if $(STUDENT),build/student/$(STUDENT_KEY),$(if $(and $(HAVE_SOLUTIONS),$(filter labs,$(GRADE_IMPL))),build/labs,build))
GRADE_PHASE = $(if $(PHASE),--phase $(PHASE))
GRADE_OUT   = $(if $(OUT),$(abspath $(OUT)),$(GRADE_BUILD)/grade/report)

labs:
	@python3 tests/grading/labgen.py

labs-check:
	@python3 tests/grading/labgen.py --check

check: deps
	@if [ -z "$(PHASE)" ]; then echo "usage: make check PHASE=N" >&2; exit 2; fi
	@python3 tests/grading/grade.py --check --impl $(IMPL) --build $(BUILD) $(GRADE_PHASE) --jobs $(JOBS)

grade: deps
	@python3 tests/grading/grade.py --impl $(GRADE_IMPL) --build $(GRADE_BUILD) $(GRADE_PHASE) --jobs $(JOBS) \
	  $(if $(STUDENT),--impl-dir $(STUDENT_DIR)/labs) $(if $(HAVE_SOLUTIONS),--ref-build build) \
	  --out $(GRADE_OUT) $(if $(REPEAT),--repeat $(REPEAT))

handout:
	@python3 tests/grading/handout.py --out build/msgroute-handout.tar.gz

gradescope:
	@python3 tests/grading/gradescope/package.py --out build/gradescope-autograder.zip $(if $(PHASE),--phase $(PHASE))
# ---- end of labs, solutions and grading --------------------------------------

# ---- hardening (tests/fuzz, tests/hostile, tests/static) ---------------------
#   make sanitize              the whole test suite built with AddressSanitizer
#                              and UndefinedBehaviorSanitizer (errors abort), in
#                              build-sanitize: the same as make test SANITIZE=1
#   make fuzz [FUZZ_SECONDS=N] each libFuzzer target for N s (default 30),
#                              built with clang in build-fuzz; fails on a crash
#   make lint                  cppcheck, clang-tidy and clang-format --dry-run
#                              over the tracked C files (tests/static/check.sh)
# (make memcheck, above, runs valgrind on every built phase: bench/memcheck.)
FUZZ_SECONDS ?= 30
FUZZ_BUILD   ?= build-fuzz
# Leaks fail a test too; UBSan prints where, then stops the program. (ASan's
# strict_string_checks stays off: with it phase2::sigusr1_at_any_moment_
# never_kills_the_run times out every time, with no sanitizer report; the
# program alone, under the same signal flood, finishes in 4 s.)
SANITIZER_ENV = ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
.PHONY: sanitize fuzz lint

# What the sanitized suite leaves to make test:
# - grader_*: they check the Python grading tools by building whole trees;
#   under the sanitizers they would only repeat that slowly;
# - bench_*: the harness, whose smoke run has a wall-clock budget that
#   programs slowed down by the sanitizers cannot keep;
# - test_phase5, test_phase5_net, test_phase5_recover, graded_phase5 and
#   test_dump_spill_phase5
#   (and phase 5 in tests/hostile and tests/timeline, which the sanitized
#   build tells to leave it out): the coordinator forks its workers after
#   ZeroMQ's I/O threads exist, and a worker can inherit AddressSanitizer's
#   allocator lock held by one of them and hang before it connects (seen
#   in 1 of 7 runs beside other work). glibc's malloc survives such a fork;
#   a fix starts the workers from a process without threads. They carry
#   the ctest label fork_after_threads; test_phase5_remote_recover, whose
#   workers are programs started apart, stays in.
sanitize:
	@$(SANITIZER_ENV) $(MAKE) test SANITIZE=1 CTEST_FLAGS="-E '^grader_|^bench_' -LE fork_after_threads $(CTEST_FLAGS)"

fuzz: deps deps-hardening
	@command -v clang >/dev/null && ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 || { \
	  echo "make fuzz: needs clang and libFuzzer (Debian packages clang libclang-rt-14-dev)" >&2; exit 2; }
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMSGROUTE_IMPL=$(IMPL) \
	  -DMSGROUTE_FUZZ=ON -DMSGROUTE_SANITIZE=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

lint: configure deps-hardening
	@tests/static/check.sh $(BUILD)
# ---- end of hardening --------------------------------------------------------
