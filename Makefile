# The README's commands. Each target installs what is missing, configures, builds, then runs.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: deps build test demo bench asan tidy install format clean

deps:
	@tools/install-deps test

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DBATCHFETCH_BUILD_TESTS=ON -DBATCHFETCH_BUILD_BENCHMARKS=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900

# The demo needs only the runtime packages: a fresh build directory is configured without
# tests and benchmarks; an existing one keeps its settings.
demo:
	@tools/install-deps runtime
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DBATCHFETCH_BUILD_TESTS=OFF -DBATCHFETCH_BUILD_BENCHMARKS=OFF $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS) --target batchfetch mockgsc
	tools/demo $(BUILD)

bench:
	@tools/install-deps bench
	@$(MAKE) --no-print-directory build
	bench/run $(BUILD)

PREFIX ?= /usr/local
install:
	@tools/install-deps runtime
	@test -f $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DBATCHFETCH_BUILD_TESTS=OFF -DBATCHFETCH_BUILD_BENCHMARKS=OFF $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS) --target batchfetch
	cmake --install $(BUILD) --prefix $(PREFIX)

# AddressSanitizer + UBSan (any finding fails): the whole suite but the chaos label, -O2 so
# the time-scaled scenarios keep their timing.
asan: deps
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBATCHFETCH_SANITIZE=ON \
	  -DBATCHFETCH_BUILD_BENCHMARKS=OFF $(CMAKE_FLAGS) >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -LE chaos --timeout 900

# clang-tidy over every engine file (.clang-tidy); needs the build's compile_commands.json.
tidy: build
	tools/tidy $(BUILD)

format:
	find coordinator workers ratelimit persistence telemetry tools tests bench -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
