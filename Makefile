# Thin wrapper over CMake. The two set-up commands of the README:
#   make demo   install what is missing, build, load the demo, serve on http://127.0.0.1:8080
#   make test   install what is missing, build, run every test (ends with ctest's summary)
BUILD ?= build
DEMO_DATA ?= .demo-data
LISTEN ?= 127.0.0.1:8080
JOBS ?= $(shell nproc)

.PHONY: all build deps demo test test-quick fuzz bench clean format

all: build

deps:
	scripts/deps.sh test

build:
	cmake -S . -B $(BUILD) -DZG_WERROR=ON -DZG_ASAN_SUITE=ON >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

demo:
	scripts/deps.sh demo
	$(MAKE) --no-print-directory build
	rm -rf $(DEMO_DATA)
	$(BUILD)/zengen init $(DEMO_DATA)
	$(BUILD)/zengen demo --data $(DEMO_DATA)
	@echo
	@echo "zengen portal: http://$(LISTEN)/   (Ctrl-C stops; accounts are in $(DEMO_DATA)/demo-accounts.txt)"
	@echo "one-time codes: oathtool --totp -b SECRET   or   echo SECRET | $(BUILD)/zengen totp"
	$(BUILD)/zengen serve --data $(DEMO_DATA) --listen $(LISTEN)

test:
	scripts/deps.sh test
	$(MAKE) --no-print-directory build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# the suite without the ASan+UBSan re-run (quicker while developing)
test-quick: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) -E sanitizer

bench: build
	bench/http.sh

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c')

clean:
	rm -rf $(BUILD) build-asan build-fuzz

# libFuzzer build (clang-14): replays the corpus with -runs=0; run a target longer with
#   build-fuzz/tests/fuzz/fuzz_router -max_total_time=60 tests/fuzz/corpus/router
fuzz:
	CC=clang-14 cmake -S . -B build-fuzz -DZG_FUZZ=ON >/dev/null
	cmake --build build-fuzz -j$(JOBS)
	cd build-fuzz && ctest --output-on-failure -R '^fuzz\.'
