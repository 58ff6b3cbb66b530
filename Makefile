# Thin wrapper over CMake: `make demo` and `make check` do all set-up
# (missing Debian packages, configure, build) and then run.
BUILD ?= build
JOBS ?= 2

.PHONY: all deps build demo check bench fuzz clean

all: build

deps:
	@sh .ci/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DGENBO_TESTS=ON >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

demo: build
	./$(BUILD)/genbo run studies/default.ini --db genbo-demo.db

check: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# The benchmark suite (under 30 minutes on 2 cores): bench/README.md.
bench:
	@sh .ci/install-deps.sh bench
	@BUILD=$(BUILD) bash bench/run.sh

# libFuzzer targets (clang) for FUZZ_SECONDS each: tests/fuzz/run.sh.
FUZZ_SECONDS ?= 60
fuzz: deps
	@CC=clang cmake -S . -B $(BUILD)-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGENBO_FUZZ=ON -DGENBO_TESTS=OFF >/dev/null
	@cmake --build $(BUILD)-fuzz -j$(JOBS) --target fuzz_csv fuzz_config fuzz_reward fuzz_diffusion fuzz_router
	@sh tests/fuzz/run.sh $(BUILD)-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(BUILD)-fuzz
