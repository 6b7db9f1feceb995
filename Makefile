# smpnet: the two commands are `make demo` and `make test`; see README.md.
# Every target first installs any missing Debian packages (scripts/deps.sh), then builds
# with Meson.  build/ keeps assertions (debugoptimized) for the tests; `demo` and `bench`
# run from build-release/ (-O3, NDEBUG), the way a stack is shipped and the way the
# benchmark peers (DPDK, ConcurrencyKit, liburcu) are compiled.  Sanitizer and fuzzer
# builds go to build-asan/, build-tsan/, build-fuzz/.

BUILD ?= build
RELEASE ?= build-release
MESON_OPTS ?=

.PHONY: all build release demo test bench deps clean

all: build

deps:
	@scripts/deps.sh build

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(RELEASE)/build.ninja:
	meson setup $(RELEASE) -Dbuildtype=release -Db_ndebug=true $(MESON_OPTS)

release: deps $(RELEASE)/build.ninja
	ninja -C $(RELEASE)

demo: release
	./$(RELEASE)/smpnet demo

test:
	@scripts/deps.sh test
	@scripts/test.sh

bench:
	@scripts/deps.sh bench
	$(MAKE) release
	./$(RELEASE)/smpnet bench all --json

clean:
	rm -rf build build-release build-asan build-tsan build-fuzz
