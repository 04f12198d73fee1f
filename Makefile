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
LDLIBS    := -lbpf -lelf -ldw -lcapstone -lz -liberty -lm
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux -Iinclude -Wall -Werror

# Debian packages the build, the tests and the demo need.
DEB_PKGS  := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libcmocka-dev \
             libiberty-dev libdw-dev libcapstone-dev pkg-config jq protobuf-compiler \
             librust-tokio-dev librust-async-std-dev librust-smol-dev
# And what `make bench` needs besides: tokio-tracing for its third variant.
BENCH_PKGS := librust-tracing-subscriber-dev

USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(OUT)/obj/%.o,$(USER_SRCS))
LIB_OBJS  := $(filter-out $(OUT)/obj/main.o,$(USER_OBJS))
BPF_SRCS  := $(wildcard bpf/*.bpf.c)
SKELS     := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRCS))

# Small C tools: trace checkers, the benchmark's generator (`// links:` as for tests)
TOOL_SRCS := $(wildcard tools/*.c)
TOOL_BINS := $(patsubst tools/%.c,$(OUT)/tools/%,$(TOOL_SRCS))

PROGRAMS_DIR := tests/programs
PROGRAMS_BIN := $(PROGRAMS_DIR)/target/release
# The await-site fixture, built with and without frame pointers, with line
# tables only and with full debug info: target/<variant>/release/stuck
AWAIT_DIR      := $(PROGRAMS_DIR)/await
AWAIT_VARIANTS := nofp-lines nofp-full fp-lines fp-full

.PHONY: all deps programs test unit e2e demo bench clean vmlinux
.DELETE_ON_ERROR:
.SECONDARY:

all: $(OUT)/.deps $(BIN) $(TOOL_BINS)

# $(call install-missing,PACKAGES): install those not installed yet (as root).
install-missing = missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "error: missing packages:$$missing (run as root, or install them)" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi

deps $(OUT)/.deps:
	@$(call install-missing,$(DEB_PKGS))
	@mkdir -p $(OUT) && touch $(OUT)/.deps

$(OUT)/%.bpf.o: bpf/%.bpf.c include/aib_events.h $(wildcard bpf/*.bpf.h) | $(OUT)/.deps
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

$(OUT)/obj/%.o: user/%.c $(wildcard user/*.h) include/aib_events.h $(SKELS) | $(OUT)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BIN): $(USER_OBJS)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

# ---- Rust programs we trace (offline, Debian's crates) ----
programs: $(OUT)/.deps
	cd $(PROGRAMS_DIR) && $(CARGO) build --release --offline -q
	cd $(PROGRAMS_DIR)/async-task && $(CARGO) build --release --offline -q
	cd $(PROGRAMS_DIR)/locks && $(CARGO) build --release --offline -q
	cd $(PROGRAMS_DIR)/locks && CARGO_TARGET_DIR=target/full CARGO_PROFILE_RELEASE_DEBUG=full \
	  $(CARGO) build --release --offline -q
	@for v in $(AWAIT_VARIANTS); do \
	  case $$v in *-full) debug=full;; *) debug=line-tables-only;; esac; \
	  case $$v in fp-*) flags="-C force-frame-pointers=yes";; *) flags="";; esac; \
	  (cd $(AWAIT_DIR) && CARGO_TARGET_DIR=target/$$v CARGO_PROFILE_RELEASE_DEBUG=$$debug \
	    RUSTFLAGS="$$flags" $(CARGO) build --release --offline -q) || exit 1; \
	done

# ---- tests ----
# Each unit test links only the modules it names in its `// links:` line.
$(OUT)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(OUT)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(addprefix $(OUT)/obj/,$(addsuffix .o,$(shell sed -n 's|^// links: ||p' $<))) \
	  -o $@ $(LDLIBS) -lcmocka

$(OUT)/tools/%: tools/%.c $(LIB_OBJS) | $(OUT)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(addprefix $(OUT)/obj/,$(addsuffix .o,$(shell sed -n 's|^// links: ||p' $<))) \
	  -o $@ $(LDLIBS)

unit: all programs $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do \
	  AIB_PROGRAMS=$(PROGRAMS_BIN) $$t || fail=1; \
	done; exit $$fail

e2e: all programs
	bash tests/e2e/run.sh
	bash tests/e2e/async_task.sh
	bash tests/e2e/await.sh
	bash tests/e2e/locks.sh
	bash tests/e2e/exports.sh

test: unit e2e

demo: all programs
	bash tools/demo.sh

# Benchmarks: measured and reported, never asserted (tools/bench.sh says what;
# as root; about 7 minutes on 2 CPUs, 9 the first time: it builds two more
# Rust programs under build/bench).
bench: all programs
	@$(call install-missing,$(BENCH_PKGS))
	bash tools/bench.sh

vmlinux:
	bash tools/gen-vmlinux.sh

clean:
	rm -rf $(OUT)
