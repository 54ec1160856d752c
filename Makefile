# evmgr: top-level entry points. See README.md.
#
#   make demo   the main job: build the core and the patched GHC, then run the
#               same program on stock select, evmgr and -threaded side by side
#   make test   every test: core suites (plain, ASan+UBSan, TSan), the Haskell
#               binding (threaded and not), the patched GHC's end-to-end suite,
#               the last two for every GHC of TEST_GHC_VERSIONS
#
# Every target installs the Debian packages it needs first (idempotent).
#
# GHC versions (docs/ghc-versions.md): GHC_VERSION=9.0.2 (Debian 12) or 9.6.6
# (Debian 13) makes ghc, ghc-test, hs-test and check-patches use that Debian
# GHC: natively when it is this machine's, else in a root of the Debian
# release that ships it (scripts/with-ghc.sh, scripts/debian-root.sh). Empty:
# the machine's own.

SHELL := /bin/bash
JOBS ?= 2
BUILD := build
GHC_VERSION ?=
TEST_GHC_VERSIONS ?= 9.0.2 9.6.6
WITH_GHC = scripts/with-ghc.sh "$(GHC_VERSION)"

.PHONY: all deps deps-core core core-test core-asan core-tsan test demo deb deb-test \
        bench bench-core bench-rts bench-http bench-warp ghc ghc-test hs-test check-patches clean

all: core

deps-core:
	@scripts/install-deps.sh core

deps:
	@scripts/install-deps.sh all

# ---- the C++ core -----------------------------------------------------------
core: deps-core
	@echo "== core: configure and build ($(BUILD)/core)"
	@cmake -S . -B $(BUILD)/core -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD)/core -j $(JOBS)

core-test: core
	@echo "== core: tests"
	@cd $(BUILD)/core && ctest --output-on-failure -j $(JOBS)

core-asan: deps-core
	@echo "== core: tests under ASan+UBSan"
	@cmake -S . -B $(BUILD)/asan -DCMAKE_BUILD_TYPE=Debug -DEVMGR_SANITIZE=address -DEVMGR_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(BUILD)/asan -j $(JOBS)
	@cd $(BUILD)/asan && ctest --output-on-failure -j $(JOBS)

core-tsan: deps-core
	@echo "== core: tests under TSan"
	@cmake -S . -B $(BUILD)/tsan -DCMAKE_BUILD_TYPE=Debug -DEVMGR_SANITIZE=thread -DEVMGR_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(BUILD)/tsan -j $(JOBS)
	@cd $(BUILD)/tsan && ctest --output-on-failure -j $(JOBS)

# ---- reliability: fuzzing, fault injection, soak (docs/reliability.md) -------
# core-fuzz: the C ABI fuzzer (clang/libFuzzer, ASan+UBSan) for FUZZ_SECONDS
# per back-end with a fixed seed, from the committed corpus; `make fuzz` is
# the same for longer. Not in `make test` yet: every run of this session
# found a new bug within a minute (five, all fixed: docs/reliability.md),
# and a gate that fails by the luck of timing is not one; it goes in once
# `make fuzz` runs clean. The core's fault sweep is a
# ctest (label fault) of every core build; fault-e2e runs the patched GHC's
# programs under it.
FUZZ_SECONDS ?= 60
.PHONY: core-fuzz fuzz fault-e2e soak
core-fuzz: deps-core
	@echo "== core: C ABI fuzzer, $(FUZZ_SECONDS) s per back-end ($(BUILD)/fuzz)"
	@cmake -S . -B $(BUILD)/fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEVMGR_SANITIZE=address -DEVMGR_FUZZ=ON \
	  -DEVMGR_BUILD_TESTS=OFF -DEVMGR_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(BUILD)/fuzz -j $(JOBS) --target capi_fuzz capi_fuzz_kqemu
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(BUILD)/fuzz/work $(BUILD)/fuzz/tests/fuzz/capi_fuzz \
	  $(BUILD)/fuzz/tests/fuzz/capi_fuzz_kqemu

fuzz:
	@$(MAKE) --no-print-directory core-fuzz FUZZ_SECONDS=$${FUZZ_SECONDS_LONG:-1800}

fault-e2e: core ghc
	@echo "== patched GHC: e2e programs under fault injection"
	@scripts/fault-e2e.sh

# Not in CI: SOAK_SECONDS (default 600) of load; report in build/soak/.
soak: ghc
	@scripts/install-deps.sh bench
	@scripts/soak.sh

# ---- the patched GHC --------------------------------------------------------
# The series and its self-contained export apply to Debian's source and to
# the release tarball's layout.
check-patches: ghc
	@GHC_VERSION="$(GHC_VERSION)" scripts/check-series.sh

ghc: deps
	@$(WITH_GHC) scripts/ghc-build.sh

ghc-test: ghc
	@echo "== patched GHC $(GHC_VERSION): end-to-end suite"
	@$(WITH_GHC) tests/e2e/run.sh

# ---- the patched GHC, full source build (docs/ghc-full.md) -------------------
.PHONY: ghc-full test-ghc-full

ghc-full: deps
	@scripts/ghc-full.sh

test-ghc-full: ghc-full
	@scripts/ghc-full.sh --e2e-deps
	@echo "== full-build GHC: end-to-end suite ($(BUILD)/ghc-full/bin/ghc)"
	@GHC=$(CURDIR)/$(BUILD)/ghc-full/bin/ghc E2E_OUT=$(CURDIR)/$(BUILD)/e2e-full tests/e2e/run.sh

# ---- the ghc-evmgr Debian package ----------------------------------------------
deb: ghc
	@scripts/install-deps.sh deb
	@echo "== ghc-evmgr Debian package"
	@scripts/make-deb.sh

deb-test: deb
	@echo "== ghc-evmgr Debian package: lintian, install, e2e slice, cabal -w, remove"
	@tests/deb/run.sh

# ---- the Haskell binding ----------------------------------------------------
hs-test: deps
	@echo "== Haskell binding $(GHC_VERSION): build and test (threaded and non-threaded)"
	@$(WITH_GHC) bash -c 'scripts/install-deps.sh ghc && scripts/hs-test.sh'

# ---- every GHC version ------------------------------------------------------
# The patched GHC's e2e suite, the binding's tests and the series check, once
# per version of TEST_GHC_VERSIONS (each natively or in its Debian root).
.PHONY: ghc-test-versions hs-test-versions check-patches-versions
ghc-test-versions:
	@for v in $(TEST_GHC_VERSIONS); do $(MAKE) --no-print-directory ghc-test GHC_VERSION=$$v || exit 1; done
hs-test-versions:
	@for v in $(TEST_GHC_VERSIONS); do $(MAKE) --no-print-directory hs-test GHC_VERSION=$$v || exit 1; done
check-patches-versions:
	@for v in $(TEST_GHC_VERSIONS); do $(MAKE) --no-print-directory check-patches GHC_VERSION=$$v || exit 1; done

# ---- everything -------------------------------------------------------------
test: core-test core-asan core-tsan ghc-test-versions hs-test-versions fault-e2e check-patches-versions deb-test

demo: deps ghc
	@scripts/demo.sh

bench-core: deps-core
	@bench/run-core.sh

bench-rts: core ghc
	@$(WITH_GHC) bash -c 'scripts/install-deps.sh bench && scripts/rts-bench.sh'

# Warp's CPU per request; ghc-build.sh again so that the private package db
# sees libghc-warp-dev, installed by the bench set.
bench-warp: ghc
	@$(WITH_GHC) bash -c 'scripts/install-deps.sh bench && scripts/ghc-build.sh && scripts/warp-bench.sh'

bench-http: ghc
	@scripts/install-deps.sh bench
	@scripts/http-load.sh

# Not in CI: load tests and timings want a quiet machine.
bench: bench-core bench-rts bench-http bench-warp

clean:
	@for s in $$(cd $(BUILD) 2>/dev/null && ls -d *-root 2>/dev/null); do scripts/debian-root.sh $${s%-root} umount; done
	rm -rf $(BUILD) dist-newstyle dist-newstyle-*
