# evmgr: top-level entry points. See README.md.
#
#   make demo   the main job: build the core and the patched GHC, then run the
#               same program on stock select, evmgr and -threaded side by side
#   make test   every test: core suites (plain, ASan+UBSan, TSan), the Haskell
#               binding (threaded and not), the patched GHC's end-to-end suite
#
# Every target installs the Debian packages it needs first (idempotent).

SHELL := /bin/bash
JOBS ?= 2
BUILD := build

.PHONY: all deps deps-core core core-test core-asan core-tsan test demo deb deb-test \
        bench bench-core bench-rts bench-http ghc ghc-test hs-test check-patches clean

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

# ---- the patched GHC --------------------------------------------------------
# The series and its self-contained export apply to Debian's source and to
# the release tarball's layout.
check-patches: ghc
	@scripts/check-series.sh

ghc: deps
	@scripts/ghc-build.sh

ghc-test: ghc
	@echo "== patched GHC: end-to-end suite"
	@tests/e2e/run.sh

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
	@echo "== Haskell binding: build and test (threaded and non-threaded)"
	@scripts/hs-test.sh

# ---- everything -------------------------------------------------------------
test: core-test core-asan core-tsan ghc-test hs-test check-patches deb-test

demo: deps ghc
	@scripts/demo.sh

bench-core: deps-core
	@bench/run-core.sh

bench-rts: ghc
	@scripts/install-deps.sh bench
	@scripts/rts-bench.sh

bench-http: ghc
	@scripts/install-deps.sh bench
	@scripts/http-load.sh

# Not in CI: load tests and timings want a quiet machine.
bench: bench-core bench-rts bench-http

clean:
	rm -rf $(BUILD) dist-newstyle
