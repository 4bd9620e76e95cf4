# Thin wrapper around CMake and ctest. The two commands a new user needs:
#   make run    install dependencies, build, start waflow with the example flows
#   make test   install dependencies, build, run every test
BUILD_DIR ?= build
FUZZ_DIR ?= build-fuzz
BUILD_TYPE ?= RelWithDebInfo
WERROR ?= OFF
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all build deps configure test run format lint fuzz clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DCMAKE_COMPILE_WARNING_AS_ERROR=$(WERROR) $(CMAKE_FLAGS)

configure: $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The fuzz targets need clang's libFuzzer; they build in their own tree.
fuzz:
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER=clang++ -DWAFLOW_FUZZ=ON -DWAFLOW_TESTS=OFF \
	  -DCMAKE_COMPILE_WARNING_AS_ERROR=$(WERROR)
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target waflow_fuzzers

test: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DCMAKE_COMPILE_WARNING_AS_ERROR=$(WERROR) $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j $(JOBS)
	cd $(BUILD_DIR) && ctest -j $(JOBS) --output-on-failure
	$(MAKE) fuzz
	./tests/fuzz/smoke.sh $(FUZZ_DIR)

run: deps build
	./scripts/run-examples.sh $(BUILD_DIR)

format:
	git ls-files '*.cpp' '*.h' | xargs clang-format -i

lint: configure
	git ls-files 'cli/*.cpp' 'compiler/*.cpp' 'runtime/*.cpp' | \
	  xargs clang-tidy -p $(BUILD_DIR) --quiet

clean:
	rm -rf $(BUILD_DIR) $(FUZZ_DIR)
