# smpnet: the two commands are `make demo` and `make test`; see README.md.
# Every target first installs any missing Debian packages (scripts/deps.sh), then builds
# with Meson into build/ (sanitizer and fuzzer builds go to build-asan/, build-tsan/,
# build-fuzz/).

BUILD ?= build
MESON_OPTS ?=

.PHONY: all build demo test bench deps clean

all: build

deps:
	@scripts/deps.sh build

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

demo: build
	./$(BUILD)/smpnet demo

test:
	@scripts/deps.sh test
	@scripts/test.sh

bench:
	@scripts/deps.sh bench
	$(MAKE) build
	./$(BUILD)/smpnet bench all

clean:
	rm -rf build build-asan build-tsan build-fuzz
