# Thin wrapper over CMake: `make demo` and `make check` do all set-up
# (missing Debian packages, configure, build) and then run.
BUILD ?= build
JOBS ?= 2

.PHONY: all deps build demo check bench clean

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

clean:
	rm -rf $(BUILD)
