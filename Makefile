# SPDX-License-Identifier: BSD-3-Clause
# Top-level build of vtpm-attest: userspace components, tests, demo and benchmarks.
#
#   make            build everything into build/
#   make demo       install dependencies, build, start a swtpm host TPM + vtpm-mgr, show it working
#   make check      install dependencies, build, run every test; ends with "N passed, N failed"
#   make check-kernel  only the kmod-vtpm tests in a QEMU guest
#   make asan       the same tests built with ASan+UBSan into build-asan/
#   make tsan       the verifier's concurrent tests built with ThreadSanitizer into build-tsan/
#   make bench      benchmarks, results written to docs/benchmarks.md
#   make clean

B        ?= build
SANITIZE ?=
CC       ?= cc

PKGS_MGR    := tss2-esys tss2-mu tss2-rc tss2-tctildr libcrypto libcbor uuid
PKGS_WORKER := libtpms tss2-sys tss2-mu tss2-rc libcrypto libseccomp libcap-ng
PKGS_CTL    := libcbor jansson uuid tss2-mu
PKGS_AGENT  := tss2-esys tss2-mu tss2-rc tss2-tctildr libcrypto libcbor jansson libcurl libseccomp libcap-ng
PKGS_VERIFIER := libmicrohttpd gnutls sqlite3 libpq jansson libcbor libcrypto tss2-mu libcurl
# `verifier` itself (verify, policy, boot-policy) links only what a check needs and execs
# verifier-serve for `serve` (verifier/serve_exec.c, docs/verifier.md "Binaries"): --as-needed
# drops every library no object of it uses (t_verifier.sh checks that the service's are gone).
PKGS_ADAPTER := fuse3 tss2-mu libcap-ng libseccomp
PKGS_TEST   := cmocka

WARN     := -Wall -Wextra -Wshadow -Wformat-security -Wformat=2 -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter -Werror
HARDEN   := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection -fPIE
CFLAGS   ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(HARDEN) $(CFLAGS) $(SANITIZE) \
             -Ilib -Ivtpm-mgr/include -Ivtpm-mgr/daemon -Ikmod-vtpm/include -Iattest-agent -Iverifier -MMD -MP
LDHARDEN := -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack
ALL_LDFLAGS = $(LDHARDEN) $(SANITIZE) $(LDFLAGS)

pc = $(shell pkg-config --libs $(1) 2>/dev/null)

LIB_SRCS    := $(wildcard lib/*.c)
MGR_SRCS    := $(wildcard vtpm-mgr/daemon/*.c)
WORKER_SRCS := $(wildcard vtpm-mgr/worker/*.c)
CTL_SRCS    := $(wildcard vtpm-mgr/vtpmctl/*.c)
VERIFIER_SRCS := $(wildcard verifier/*.c verifier/*/*.c)
AGENT_SRCS  := $(wildcard attest-agent/*.c)
ADAPTER_SRCS := $(wildcard adapter/*.c)
SLOWTPM_SRCS := $(wildcard swtpm-ci/slowtpm/*.c)
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
TOOL_SRCS   := $(wildcard tests/tools/*.c)

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

LIB_A    := $(B)/lib/libvtpmcommon.a
MGR_A    := $(B)/lib/libvtpmmgr.a
WORKER_A := $(B)/lib/libvtpmworker.a
VERIFIER_A := $(B)/lib/libverifier.a
AGENT_A  := $(B)/lib/libagent.a
ADAPTER_A := $(B)/lib/libadapter.a

BINS  := $(B)/bin/vtpm-mgr $(B)/bin/vtpm-mgr-worker $(B)/bin/vtpmctl $(B)/bin/verifier \
         $(B)/bin/verifier-serve $(B)/bin/attest-agent \
         $(B)/bin/attest-agent-hook \
         $(B)/bin/vtpm-cuse $(B)/bin/slowtpm
UNITS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRCS))
TOOLS := $(patsubst tests/tools/%.c,$(B)/tests/%,$(TOOL_SRCS))

.PHONY: all deps demo check check-unit check-integration check-kernel asan tsan bench clean fuzz fuzzers mgr-bundle

.SECONDEXPANSION:

all: $(BINS) $(UNITS) $(TOOLS) $(B)/tests/sockpeer-static

deps:
	@sh swtpm-ci/install-deps.sh

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB_A): $(call obj,$(LIB_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(MGR_A): $(call obj,$(filter-out %/main.c,$(MGR_SRCS)))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(WORKER_A): $(call obj,$(filter-out %/main.c,$(WORKER_SRCS)))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(AGENT_A): $(call obj,$(filter-out %/main.c,$(AGENT_SRCS)))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(VERIFIER_A): $(call obj,$(filter-out %/main.c %/serve_exec.c,$(VERIFIER_SRCS)))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

# libfuse3's headers live in their own directory.
$(call obj,$(ADAPTER_SRCS)): ALL_CFLAGS += $(shell pkg-config --cflags fuse3 2>/dev/null)

# libpq's headers live in their own directory.
$(call obj,verifier/store/store_pg.c tests/tools/bench_store.c): ALL_CFLAGS += $(shell pkg-config --cflags libpq)

$(ADAPTER_A): $(call obj,$(filter-out %/main.c,$(ADAPTER_SRCS)))
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(B)/bin/vtpm-mgr: $(call obj,vtpm-mgr/daemon/main.c) $(MGR_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc,$(PKGS_MGR))

$(B)/bin/vtpm-mgr-worker: $(call obj,vtpm-mgr/worker/main.c) $(WORKER_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc,$(PKGS_WORKER))

$(B)/bin/vtpmctl: $(call obj,$(CTL_SRCS)) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc,$(PKGS_CTL))

$(B)/bin/attest-agent: $(call obj,attest-agent/main.c) $(AGENT_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc,$(PKGS_AGENT))

# The fast hook: libc and libcbor only (no libcurl, no tss2) to start in a few ms.
$(B)/bin/attest-agent-hook: $(call obj,attest-agent/fwd/main.c attest-agent/hookfwd.c) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc,libcbor)

$(B)/bin/verifier: $(call obj,verifier/main.c verifier/serve_exec.c) $(VERIFIER_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ -Wl,--as-needed $(call pc,$(PKGS_VERIFIER))

$(B)/bin/verifier-serve: $(call obj,verifier/main.c) $(VERIFIER_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc,$(PKGS_VERIFIER))

$(B)/bin/vtpm-cuse: $(call obj,adapter/main.c) $(ADAPTER_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc,$(PKGS_ADAPTER))

# The slow host TPM for tests and benchmarks (docs/slowtpm.md): a proxy in front of swtpm.
$(B)/bin/slowtpm: $(call obj,$(SLOWTPM_SRCS)) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc,tss2-mu jansson) -lm

# A client of vtpm-mgr's sockets that runs in a busybox container rootfs: libc only, static.
$(B)/tests/sockpeer-static: tests/tools/sockpeer.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -static -o $@ $<

# Unit tests and test tools link every component archive; the linker takes what each needs.
$(B)/tests/%: $(B)/obj/tests/unit/%.o $(MGR_A) $(WORKER_A) $(AGENT_A) $(VERIFIER_A) $(ADAPTER_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc,$(PKGS_MGR) $(PKGS_WORKER) $(PKGS_CTL) $(PKGS_AGENT) $(PKGS_VERIFIER) $(PKGS_ADAPTER) $(PKGS_TEST))

$(B)/tests/%: $(B)/obj/tests/tools/%.o $(MGR_A) $(WORKER_A) $(AGENT_A) $(VERIFIER_A) $(ADAPTER_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc,$(PKGS_MGR) $(PKGS_WORKER) $(PKGS_CTL) $(PKGS_AGENT) $(PKGS_VERIFIER) $(PKGS_ADAPTER))

include tests/fuzz/fuzz.mk

check: deps
	$(MAKE) -j2 all fuzzers
	@sh tests/run.sh $(B)

check-unit: all
	@sh tests/run.sh $(B) unit

check-integration: all
	@sh tests/run.sh $(B) integration

# kmod-vtpm in a QEMU guest (swtpm-ci/check-kernel.sh); make check runs it too.
check-kernel: deps
	$(MAKE) all
	@sh tests/run.sh $(B) kernel

asan: deps
	$(MAKE) B=build-asan SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" CFLAGS="-O1 -g" all
	@VTPM_NO_KERNEL=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		sh tests/run.sh build-asan

# The verifier's threads under ThreadSanitizer (tests/tsan.sh: its unit tests, the store's race
# test, the service's concurrent integration tests); any report fails it.
tsan: deps
	$(MAKE) B=build-tsan SANITIZE="-fsanitize=thread -fno-omit-frame-pointer" CFLAGS="-O1 -g" all
	@sh tests/tsan.sh build-tsan

# The manager container's OCI bundle (docs/manager-container.md) for this host: the host TPM
# /dev/tpmrm0, state /var/lib/vtpm-mgr, run dir /run/vtpm-mgr; run it with
# runc run -d -b $(B)/mgr-bundle vtpm-mgr.
MGR_BUNDLE_ARGS ?= --tpm-device /dev/tpmrm0 --state /var/lib/vtpm-mgr --run /run/vtpm-mgr
mgr-bundle: all
	@sh vtpm-mgr/container/mkbundle.sh --bin $(B)/bin --out $(B)/mgr-bundle $(MGR_BUNDLE_ARGS)

demo: deps
	$(MAKE) all
	@sh swtpm-ci/demo.sh $(B)

# Longer fuzzing runs (FUZZ_SECONDS each); make check runs every harness briefly.
fuzz: deps
	$(MAKE) fuzzers
	@sh tests/fuzz/run.sh $(B) $(FUZZ_SECONDS)

bench: deps
	$(MAKE) all
	@sh tests/bench/run.sh $(B)

clean:
	rm -rf build build-asan build-tsan

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
