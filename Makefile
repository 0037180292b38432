# edgeguard — see README.md. `make check` is the test command; it installs what it needs.

CLANG   ?= clang
CC      ?= gcc
BPFTOOL ?= bpftool
ARCH    := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

# VARIANT selects an instrumented build, each in a directory of its own so that
# build/ stays exactly what users run:
#   (none)  build/       production flags
#   san     build-san/   ASan + UBSan everywhere (make check-sanitize)
#   fuzz    build-fuzz/  the library for libFuzzer, plus tests/fuzz/fuzz_*.c (make fuzz)
VARIANT ?=
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer
ifeq ($(VARIANT),san)
BUILD   := build-san
CFLAGS  := -O1 -g $(SAN_FLAGS)
else ifeq ($(VARIANT),fuzz)
BUILD   := build-fuzz
CC      := $(CLANG)
# No recovery: any UBSan report is a crash libFuzzer saves the input of.
CFLAGS  := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
           -fno-omit-frame-pointer
else ifeq ($(VARIANT),)
BUILD   := build
else
$(error VARIANT=$(VARIANT): expected san, fuzz or nothing)
endif
CFLAGS  ?= -O2 -g
# The version, once: the top entry of debian/changelog (the package's own).
VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
# Warnings are errors in `make check` (and so in CI), which passes WERROR=1;
# a user's or a packager's build with a newer compiler only warns.
WERROR  ?=
WERROR_FLAG := $(if $(filter 1 yes,$(WERROR)),-Werror)
# The libraries' flags from pkg-config, never hard-coded.
PKGS    := libxdp libbpf libcjson libmicrohttpd zlib libelf hiredis
PKG_CONFIG ?= pkg-config
# user/ is grouped by concern (core, datapath, policy, state, control, report, fleet, ...);
# every group is on the include path, so a header is named by its file alone.
USER_DIRS := $(sort $(dir $(wildcard user/*/*.c)))
CFLAGS  += -Wall -Wextra $(WERROR_FLAG) -std=gnu11 -I$(BUILD) -Ibpf $(patsubst %/,-I%,$(USER_DIRS)) \
           $(shell $(PKG_CONFIG) --cflags $(PKGS)) -DEDGEGUARD_VERSION='"$(VERSION)"'
LDLIBS  := $(shell $(PKG_CONFIG) --libs $(PKGS)) -lpthread
BPFFLAGS := -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Ivmlinux -Ibpf -Wall $(WERROR_FLAG)

# Debian packages the build, the tests and the benchmark need.
DEPS := clang llvm bpftool libbpf-dev libxdp-dev libelf-dev zlib1g-dev libcjson-dev \
        pkg-config gcc make iproute2 iptables xdp-tools iputils-ping \
        libmicrohttpd-dev prometheus curl tmux jq groff-base man-db python3-scapy \
        libclang-rt-14-dev ethtool nftables gnuplot-nox libhiredis-dev redis-server redis-sentinel \
        ipset fail2ban debhelper dpkg-dev logrotate systemd

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS    := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
BPF_HDRS := $(wildcard bpf/*.h)

LIB_SRCS := $(wildcard user/*/*.c)
LIB_HDRS := $(wildcard user/*/*.h)
LIB_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(LIB_SRCS))
LIB      := $(BUILD)/libedgeguard.a

CLI_SRCS := $(wildcard cli/*.c)
CLI      := $(BUILD)/edgeguard

DAEMON_SRCS := $(wildcard daemon/*.c)
DAEMON      := $(BUILD)/edgeguardd

# tests/unit: the unit tests, build/tests/test_*; tests/tools: the traffic and
# helper programs the end-to-end scripts (tests/e2e) run, build/tools/*.
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))

# Every tests/fuzz/fuzz_NAME.c is a libFuzzer target build-fuzz/fuzz_NAME. It
# links the library and the CLI's and daemon's modules but their main()s, so a
# target can reach the control protocol (daemon/control.c) with no change here.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS   := $(patsubst tests/fuzz/%.c,$(BUILD)/%,$(FUZZ_SRCS))
FRONT_SRCS := $(filter-out cli/main.c daemon/edgeguardd.c,$(CLI_SRCS) $(DAEMON_SRCS))
FRONT_OBJS := $(patsubst %.c,$(BUILD)/front/%.o,$(FRONT_SRCS))
FRONT_LIB  := $(BUILD)/libfront.a
FUZZ_SECONDS ?= 60

.PHONY: all progs deps check check-sanitize fuzz fuzzers bench bench-bulk bench-flood bench-fleet \
	demo vmlinux clean install uninstall deb

# The benchmarks (bench/): `make bench` (bench/datapath/) and `make bench-flood`
# (bench/flood/), each with its own XDP programs, built into build/bench/.
BENCH_BPF  := $(patsubst %.bpf.c,$(BUILD)/%.bpf.o,$(wildcard bench/*/*.bpf.c))
BENCH_BINS := $(BUILD)/bench/datapath/bench $(BUILD)/bench/flood/flood_gen $(BUILD)/bench/fleet/fleet_bench \
              $(BUILD)/bench/bulk/bulk

.DELETE_ON_ERROR:
.SECONDARY:

all: $(LIB) $(CLI) $(DAEMON) $(TEST_BINS) $(TOOL_BINS) $(BENCH_BPF) $(BENCH_BINS)

# The two programs alone (what install and the Debian package need).
progs: $(CLI) $(DAEMON)

# The packages' own services (redis, sentinel, fail2ban, prometheus) are not
# started by the install (policy-rc.d): the tests start what they need on
# ports of their own, and a test dependency must not change the host.
deps:
	@missing=$$(for p in $(DEPS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing" $$missing; \
		rcd=; if [ ! -e /usr/sbin/policy-rc.d ]; then \
			rcd=/usr/sbin/policy-rc.d; printf '#!/bin/sh\nexit 101\n' >$$rcd; chmod 755 $$rcd; \
		fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		rc=$$?; [ -z "$$rcd" ] || rm -f $$rcd; [ $$rc -eq 0 ] || exit $$rc; \
	else \
		echo "make deps: all Debian dependencies present"; \
	fi

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) vmlinux/vmlinux.h | $(BUILD)
	$(CLANG) $(BPFFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(BUILD)/user/%.o: user/%.c $(LIB_HDRS) $(BPF_HDRS) $(SKELS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	ar rcs $@ $^

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIB) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $< $(LIB) $(LDLIBS) -o $@

# test_sources floods crafted sources through the benchmark's rotating wrapper.
$(BUILD)/tests/test_sources: tests/unit/test_sources.c $(wildcard tests/unit/*.h) $(LIB) $(SKELS) \
		$(BUILD)/bench/datapath/baselines.skel.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -I$(BUILD)/bench/datapath $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/tools/%: tests/tools/%.c $(wildcard tests/tools/*.h) $(LIB) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/tools $< $(LIB) $(LDLIBS) -o $@

$(CLI): $(CLI_SRCS) $(wildcard cli/*.h) $(LIB)
	$(CC) $(CFLAGS) -Icli $(CLI_SRCS) $(LIB) $(LDLIBS) -o $@

$(DAEMON): $(DAEMON_SRCS) $(wildcard daemon/*.h) $(LIB)
	$(CC) $(CFLAGS) -Idaemon $(DAEMON_SRCS) $(LIB) $(LDLIBS) -o $@

$(BUILD)/front/%.o: %.c $(wildcard cli/*.h daemon/*.h) $(LIB_HDRS) $(BPF_HDRS) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -I$(dir $<) -c $< -o $@

$(FRONT_LIB): $(FRONT_OBJS)
	ar rcs $@ $^

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FRONT_LIB) $(LIB)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -Itests/fuzz -Icli -Idaemon $< $(FRONT_LIB) $(LIB) \
		$(LDLIBS) -o $@

ifeq ($(VARIANT),fuzz)
fuzzers: $(FUZZERS)
else
fuzzers:
	$(MAKE) VARIANT=fuzz WERROR=$(WERROR) fuzzers
endif

$(BUILD)/bench/%.bpf.o: bench/%.bpf.c vmlinux/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) $(BPFFLAGS) -c $< -o $@

$(BUILD)/bench/%.skel.h: $(BUILD)/bench/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$(notdir $*))_bpf > $@

$(BUILD)/bench/datapath/bench: bench/datapath/bench.c $(BUILD)/bench/datapath/baselines.skel.h \
		$(wildcard tests/unit/*.h) $(LIB) $(SKELS)
	$(CC) $(CFLAGS) -I$(BUILD)/bench/datapath -Itests/unit $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/bench/bulk/bulk: bench/bulk/bulk.c $(LIB) $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/bench/flood/flood_gen: bench/flood/flood_gen.c $(BUILD)/bench/flood/flood_gen.skel.h \
		tests/tools/netaddr.h
	$(CC) $(CFLAGS) -I$(BUILD)/bench/flood -Itests/tools $< -lbpf -lelf -lz -o $@

$(BUILD)/bench/fleet/fleet_bench: bench/fleet/fleet_bench.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(LIB) $(LDLIBS) -o $@

$(BUILD):
	mkdir -p $(BUILD)

# The normal suite, a short run of every fuzzer, then the suite again under
# ASan+UBSan; one "N passed, N failed" line for all three.
check: deps
	$(MAKE) WERROR=1 all
	$(MAKE) WERROR=1 fuzzers
	$(MAKE) WERROR=1 VARIANT=san all
	tests/run.sh --build build --fuzz build-fuzz --build build-san

check-sanitize: deps
	$(MAKE) WERROR=1 VARIANT=san all
	tests/run.sh --build build-san

# Each fuzzer for FUZZ_SECONDS; crashes are kept in build-fuzz/crashes/NAME/.
fuzz: deps
	$(MAKE) fuzzers
	tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

bench: deps
	$(MAKE) all
	$(BUILD)/bench/datapath/bench
	$(BUILD)/bench/bulk/bulk

# 100k bans from a file, parsed and applied with batched map updates (seconds).
bench-bulk: deps
	$(MAKE) all
	$(BUILD)/bench/bulk/bulk

# Bounded by the script itself (about 4 minutes); the timeout is a last resort.
bench-flood: deps
	$(MAKE) all
	timeout --kill-after=30 600 bench/flood/run.sh

# Two daemons and a redis-server on loopback: propagation latency, 100k-ban resync.
bench-fleet: deps
	$(MAKE) all
	timeout --kill-after=30 600 bench/fleet/run.sh

demo: deps
	$(MAKE) all
	demo/demo.sh

# ---- install -------------------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=...]: the programs, man pages, systemd
# units and generator, logrotate, bash completion, and /etc/edgeguard (the
# configuration and an example policy, each only if absent: never overwritten).
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/edgeguard
SYSCONFDIR ?= /etc
# systemd reads /usr/lib and /usr/local/lib (Debian: /lib is /usr/lib).
SYSTEMD_DIR ?= $(PREFIX)/lib/systemd
UNITDIR    ?= $(SYSTEMD_DIR)/system
GENDIR     ?= $(SYSTEMD_DIR)/system-generators
COMPLDIR   ?= $(PREFIX)/share/bash-completion/completions
LOGROTDIR  ?= $(SYSCONFDIR)/logrotate.d
INSTALL    ?= install
SUBST = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@UNITDIR@|$(UNITDIR)|g'
INSTALLED := $(SBINDIR)/edgeguard $(SBINDIR)/edgeguardd $(MANDIR)/man8/edgeguard.8 \
	$(MANDIR)/man8/edgeguardd.8 $(UNITDIR)/edgeguard.service \
	$(UNITDIR)/edgeguard-attach@.service $(GENDIR)/edgeguard-generator \
	$(LOGROTDIR)/edgeguard $(COMPLDIR)/edgeguard $(DOCDIR)/README.md $(DOCDIR)/examples

install: progs
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(GENDIR) $(DESTDIR)$(LOGROTDIR) $(DESTDIR)$(COMPLDIR) \
		$(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(SYSCONFDIR)/edgeguard
	$(INSTALL) -m 0755 $(CLI) $(DAEMON) $(DESTDIR)$(SBINDIR)/
	$(INSTALL) -m 0644 man/edgeguard.8 man/edgeguardd.8 $(DESTDIR)$(MANDIR)/man8/
	for u in edgeguard.service edgeguard-attach@.service; do \
		$(SUBST) dist/$$u > $(DESTDIR)$(UNITDIR)/$$u && chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	$(SUBST) dist/edgeguard-generator > $(DESTDIR)$(GENDIR)/edgeguard-generator
	chmod 0755 $(DESTDIR)$(GENDIR)/edgeguard-generator
	$(INSTALL) -m 0644 dist/edgeguard.logrotate $(DESTDIR)$(LOGROTDIR)/edgeguard
	$(INSTALL) -m 0644 dist/edgeguard.bash-completion $(DESTDIR)$(COMPLDIR)/edgeguard
	$(INSTALL) -m 0644 README.md $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 0644 examples/*.json examples/*.yml $(DESTDIR)$(DOCDIR)/examples/
	$(INSTALL) -d $(DESTDIR)$(DOCDIR)/examples/dashboards
	$(INSTALL) -m 0644 examples/dashboards/* $(DESTDIR)$(DOCDIR)/examples/dashboards/
	@for f in edgeguard.conf policy.json; do \
		if [ -e $(DESTDIR)$(SYSCONFDIR)/edgeguard/$$f ]; then \
			echo "make install: $(DESTDIR)$(SYSCONFDIR)/edgeguard/$$f exists: left as it is"; \
		else \
			$(INSTALL) -m 0644 dist/$$f $(DESTDIR)$(SYSCONFDIR)/edgeguard/$$f || exit 1; \
		fi; \
	done

# Removes what install put there, but the configuration in /etc/edgeguard
# (an operator's) and the state in /var/lib/edgeguard.
uninstall:
	rm -rf $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

# make deb [DEB_OUT=dir]: the Debian package with the standard tools
# (dpkg-buildpackage -us -uc -b), built in a copy of the tree under
# /tmp so nothing is written beside the source; the .deb lands in DEB_OUT.
DEB_OUT ?= $(CURDIR)/build-deb
deb:
	@set -e; tmp=$$(mktemp -d /tmp/edgeguard-deb.XXXXXX); \
	trap 'rm -rf "$$tmp"' EXIT; \
	mkdir -p "$$tmp/edgeguard-$(VERSION)" $(DEB_OUT); \
	tar --exclude-vcs --exclude='./build*' -cf - . | tar -xf - -C "$$tmp/edgeguard-$(VERSION)"; \
	(cd "$$tmp/edgeguard-$(VERSION)" && dpkg-buildpackage -us -uc -b >"$$tmp/build.log" 2>&1) || \
		{ tail -40 "$$tmp/build.log"; exit 1; }; \
	cp "$$tmp"/*.deb $(DEB_OUT)/; \
	ls $(DEB_OUT)/*.deb

clean:
	rm -rf build build-san build-fuzz build-deb
