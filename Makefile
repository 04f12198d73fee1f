# async-inspect-bpf: `make demo` and `make test` do everything on a fresh Debian
# machine as root (they install missing packages first).

OUT       := build
BIN       := $(OUT)/async-inspect-bpf
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
CARGO     ?= $(shell command -v cargo 2>/dev/null || echo $(HOME)/.cargo/bin/cargo)
ARCH      := x86

CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
             -Iinclude -Iuser -I$(OUT) -D_GNU_SOURCE
# top's screen: ncursesw (pkg-config knows its -ltinfo, when split out)
CURSES_LIBS := $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw)
LDLIBS    := -lbpf -lelf -ldw -ldebuginfod -lcapstone -lz -liberty -lm $(CURSES_LIBS)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux -Iinclude -Wall -Werror

# Debian packages the build, the tests and the demo need (sccache: a real,
# stripped tokio program of Debian's, for tests/e2e/stripped.sh; tmux drives
# `top` in tests/e2e/top.sh).
DEB_PKGS  := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libcmocka-dev \
             libiberty-dev libdw-dev libcapstone-dev pkg-config jq protobuf-compiler \
             librust-tokio-dev librust-async-std-dev librust-smol-dev libclang-rt-14-dev \
             libdebuginfod-dev debuginfod sccache libncurses-dev tmux
# And what `make bench` needs besides: tokio-tracing for its third variant.
BENCH_PKGS := librust-tracing-subscriber-dev

# The daemon's layers, bottom to top: a folder includes only its own and
# those before it (`make layers` checks; docs/how-it-works.md says what each holds).
LAYERS    := lib binary runtime trace record model inspect analysis report export session cli
USER_SRCS := $(foreach l,$(LAYERS),$(wildcard user/$(l)/*.c))
USER_OBJS := $(patsubst user/%.c,$(OUT)/obj/%.o,$(USER_SRCS))
MAIN_OBJ  := $(OUT)/obj/cli/main.o
# Everything but main(): the tool, the unit tests and the tools link it.
LIB       := $(OUT)/libaib.a
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
SKELS     := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRCS))

# Small C tools: trace checkers, the benchmark's generator
TOOL_SRCS := $(wildcard tools/*.c)
TOOL_BINS := $(patsubst tools/%.c,$(OUT)/tools/%,$(TOOL_SRCS))

PROGRAMS_DIR := tests/programs
PROGRAMS_BIN := $(PROGRAMS_DIR)/target/release
# The await-site fixture, built with and without frame pointers, with line
# tables only and with full debug info: target/<variant>/release/stuck
AWAIT_DIR      := $(PROGRAMS_DIR)/await
AWAIT_VARIANTS := nofp-lines nofp-full fp-lines fp-full

.PHONY: all deps programs test unit e2e sanitize fuzz fuzz-smoke fuzz-build layers demo bench clean vmlinux
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BIN) $(TOOL_BINS)

# $(call install-missing,PACKAGES): install those not installed yet (as root).
install-missing = missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "error: missing packages:$$missing (run as root, or install them)" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi

# The only target that installs anything; demo, test and bench call it first.
deps:
	@$(call install-missing,$(DEB_PKGS))

$(OUT)/%.bpf.o: bpf/%.bpf.c $(wildcard include/*.h) $(wildcard bpf/*.bpf.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

# -MMD -MP: each object depends on the headers it includes; the skeleton
# must exist before the first build finds out who includes it.
$(OUT)/obj/%.o: user/%.c | $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(filter-out $(MAIN_OBJ),$(USER_OBJS))
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(MAIN_OBJ) $(LIB)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# ---- Rust programs we trace (offline, Debian's crates) ----
programs:
	cd $(PROGRAMS_DIR) && $(CARGO) build --release --offline -q && \
	  $(CARGO) build --profile demo --bin demo --offline -q
	cd $(PROGRAMS_DIR)/async-task && $(CARGO) build --release --offline -q
	cd $(PROGRAMS_DIR)/locks && $(CARGO) build --release --offline -q
	cd $(PROGRAMS_DIR)/block-on && $(CARGO) build --release --offline -q && \
	  $(CARGO) test --no-run --offline -q
	cd $(PROGRAMS_DIR)/test-crate && $(CARGO) test --no-run --offline -q
	cd $(PROGRAMS_DIR)/locks && CARGO_TARGET_DIR=target/full CARGO_PROFILE_RELEASE_DEBUG=full \
	  $(CARGO) build --release --offline -q
	CARGO=$(CARGO) bash tools/build-matrix.sh
	@for v in $(AWAIT_VARIANTS); do \
	  case $$v in *-full) debug=full;; *) debug=line-tables-only;; esac; \
	  case $$v in fp-*) flags="-C force-frame-pointers=yes";; *) flags="";; esac; \
	  (cd $(AWAIT_DIR) && CARGO_TARGET_DIR=target/$$v CARGO_PROFILE_RELEASE_DEBUG=$$debug \
	    RUSTFLAGS="$$flags" $(CARGO) build --release --offline -q) || exit 1; \
	done

# ---- tests ----
$(OUT)/tests/%: tests/unit/%.c $(LIB) | $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -MF $@.d $< $(LIB) -o $@ $(LDLIBS) -lcmocka

$(OUT)/tools/%: tools/%.c $(LIB) | $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -MF $@.d $< $(LIB) -o $@ $(LDLIBS)

# libFuzzer harnesses: linked by the fuzz build only (OUT=$(FUZZ_OUT))
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUT)/fuzzers/%,$(FUZZ_SRCS))

$(OUT)/fuzzers/%: tests/fuzz/%.c $(LIB) | $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) -fsanitize=fuzzer $(CFLAGS) -Itests/fuzz -MMD -MP -MF $@.d $< $(LIB) -o $@ $(LDLIBS)

-include $(USER_OBJS:.o=.d) $(UNIT_BINS:=.d) $(TOOL_BINS:=.d) $(FUZZ_BINS:=.d)

unit: all programs $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do \
	  AIB_PROGRAMS=$(PROGRAMS_BIN) $$t || fail=1; \
	done; exit $$fail

# The e2e suites keep every recording they make here, for `make sanitize`.
RECORDINGS := $(abspath $(OUT)/recordings)

e2e: all programs
	rm -rf $(RECORDINGS)
	export AIB_E2E_RECORDINGS=$(RECORDINGS); \
	bash tests/e2e/run.sh && \
	bash tests/e2e/async_task.sh && \
	bash tests/e2e/await.sh && \
	bash tests/e2e/locks.sh && \
	bash tests/e2e/exports.sh && \
	bash tests/e2e/faults.sh && \
	bash tests/e2e/block_on.sh && \
	bash tests/e2e/test_cmd.sh && \
	bash tests/e2e/debuginfo.sh && \
	bash tests/e2e/matrix.sh && \
	bash tests/e2e/stripped.sh && \
	bash tests/e2e/top.sh

# The unit tests and replays of the e2e recordings under AddressSanitizer,
# LeakSanitizer and UBSan, built in their own folder.
SAN_OUT := $(OUT)/san
SAN_CC  := $(CC) -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

sanitize: programs
	@$(MAKE) --no-print-directory OUT=$(SAN_OUT) CC="$(SAN_CC)" \
	  $(SAN_OUT)/async-inspect-bpf $(patsubst $(OUT)/%,$(SAN_OUT)/%,$(UNIT_BINS))
	bash tools/sanitize.sh $(SAN_OUT) $(RECORDINGS)

# libFuzzer harnesses (tests/fuzz/) over the daemon built with clang and the
# same sanitizers in its own folder. `make fuzz`: FUZZ_SECONDS each, new
# inputs kept in $(FUZZ_OUT)/corpus; `make fuzz-smoke` (make test): a short
# run of each and a replay of the corpus in tests/fuzz/corpus.
FUZZ_OUT     := $(OUT)/fuzz
FUZZ_CC      := $(CLANG) -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
                -fno-sanitize-recover=undefined
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 10

fuzz-build:
	@$(MAKE) --no-print-directory OUT=$(FUZZ_OUT) CC="$(FUZZ_CC)" \
	  $(patsubst tests/fuzz/%.c,$(FUZZ_OUT)/fuzzers/%,$(FUZZ_SRCS))

fuzz: programs fuzz-build
	bash tools/fuzz.sh $(FUZZ_OUT) $(FUZZ_SECONDS) keep

# After `programs` (make test ran it): fuzz_future_decoder reads a fixture.
fuzz-smoke: fuzz-build
	bash tools/fuzz.sh $(FUZZ_OUT) $(FUZZ_SMOKE_SECONDS) smoke

# Every include goes down the layers (or stays in its folder).
layers:
	@bash tools/check_layers.sh --self-test $(LAYERS)
	@bash tools/check_layers.sh $(LAYERS)

test: deps
	@$(MAKE) --no-print-directory layers unit e2e sanitize fuzz-smoke

demo: deps
	@$(MAKE) --no-print-directory all programs
	bash tools/demo.sh

# Benchmarks: measured and reported, never asserted (tools/bench.sh says what;
# as root; about 7 minutes on 2 CPUs, 9 the first time: it builds two more
# Rust programs under build/bench).
bench:
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(DEB_PKGS) $(BENCH_PKGS)"
	@$(MAKE) --no-print-directory all programs
	bash tools/bench.sh

vmlinux:
	bash tools/gen-vmlinux.sh

clean:
	rm -rf $(OUT)
