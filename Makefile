# SPDX-License-Identifier: BSD-3-Clause
# Top-level build of vtpm-attest: userspace components, tests, demo and benchmarks.
#
#   make            build everything into build/
#   make man        man pages into build/man/ (help2man)
#   make install    PREFIX=/usr/local DESTDIR= (docs/operations.md); make uninstall
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

# The project's version, in one place: the file VERSION (--version of every command, the man
# pages, the DKMS package, debian/changelog; t_cli.sh checks that they agree).
VERSION  := $(shell cat VERSION)

# Installation directories (make install; GNU names, DESTDIR honoured). The helper binaries
# that other commands exec (vtpm-mgr-worker, verifier-serve) go to $(pkglibexecdir), which is
# compiled in (build/gen/buildinfo.h): a change of PREFIX or libexecdir rebuilds lib/cli.c.
PREFIX        ?= /usr/local
bindir        ?= $(PREFIX)/bin
sbindir       ?= $(PREFIX)/sbin
libexecdir    ?= $(PREFIX)/libexec
pkglibexecdir ?= $(libexecdir)/vtpm-attest
datadir       ?= $(PREFIX)/share
mandir        ?= $(datadir)/man
docdir        ?= $(datadir)/doc/vtpm-attest
includedir    ?= $(PREFIX)/include
unitdir       ?= $(PREFIX)/lib/systemd/system
# DKMS takes module sources from /usr/src/NAME-VERSION only, whatever the PREFIX.
dkmsdir       ?= /usr/src/vtpm-attest-$(VERSION)

PKGS_MGR    := tss2-esys tss2-mu tss2-rc tss2-tctildr libcrypto libcbor uuid jansson
PKGS_WORKER := libtpms tss2-sys tss2-mu tss2-rc libcrypto libseccomp libcap-ng
PKGS_CTL    := libcbor jansson uuid tss2-mu
PKGS_AGENT  := tss2-esys tss2-mu tss2-rc tss2-tctildr libcrypto libcbor jansson libcurl libseccomp libcap-ng
PKGS_VERIFIER := libmicrohttpd gnutls sqlite3 libpq jansson libcbor libcrypto tss2-mu libcurl libcjson
# Libraries without a pkg-config file: libunistring (UTF-8 checks of admission reviews).
LIBS_VERIFIER := -lunistring
# `verifier` itself (verify, policy, boot-policy) links only what a check needs and execs
# verifier-serve for `serve` (verifier/serve_exec.c, docs/verifier.md "Binaries"): --as-needed
# drops every library no object of it uses (t_verifier.sh checks that the service's are gone).
# Of those it needs, the ones in VERIFIER_STATIC are linked from their static archives when
# installed (Debian 12 ships libcrypto.a and libjansson.a, not libcbor.a nor libtss2-mu.a):
# fewer objects to map and 3,400 fewer symbol relocations at each start (docs/verifier.md
# "Binaries"). `make VERIFIER_STATIC=` links all of them dynamically; a static libcrypto
# means that `verifier` must be rebuilt for an OpenSSL security update (verifier-serve is not).
VERIFIER_STATIC ?= libcrypto jansson
static_a = $(filter /%,$(shell $(CC) -print-file-name=lib$(patsubst lib%,%,$(1)).a))
VERIFIER_STATIC_A := $(foreach p,$(VERIFIER_STATIC),$(call static_a,$(p)))
VERIFIER_DYN_PKGS := $(foreach p,$(PKGS_VERIFIER),$(if $(and $(filter $(p),$(VERIFIER_STATIC)),$(call static_a,$(p))),,$(p)))
PKGS_ADAPTER := fuse3 tss2-mu libcap-ng libseccomp jansson
PKGS_TEST   := cmocka
# The admission load client's event loops (tests/tools/bench_admission.c).
PKGS_BENCH  := libevent

WARN     := -Wall -Wextra -Wshadow -Wformat-security -Wformat=2 -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter -Werror
HARDEN   := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection -fPIE
CFLAGS   ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(HARDEN) $(CPPFLAGS) $(CFLAGS) $(SANITIZE) \
             -Ilib -Ivtpm-mgr/include -Ivtpm-mgr/daemon -Ikmod-vtpm/include -Iattest-agent -Iverifier -MMD -MP
LDHARDEN := -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack
ALL_LDFLAGS = $(LDHARDEN) $(SANITIZE) $(LDFLAGS)

PKG_CONFIG ?= pkg-config
pc = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

# Which Debian 12 package gives each pkg-config module: a build on a machine that lacks one
# stops at once and names the package, instead of failing on a missing header or symbol.
DEB_OF := tss2-esys:libtss2-dev tss2-mu:libtss2-dev tss2-rc:libtss2-dev \
          tss2-tctildr:libtss2-dev tss2-sys:libtss2-dev libcrypto:libssl-dev \
          libcbor:libcbor-dev uuid:uuid-dev libtpms:libtpms-dev libseccomp:libseccomp-dev \
          libcap-ng:libcap-ng-dev jansson:libjansson-dev libcurl:libcurl4-openssl-dev \
          libmicrohttpd:libmicrohttpd-dev gnutls:libgnutls28-dev sqlite3:libsqlite3-dev \
          libpq:libpq-dev fuse3:libfuse3-dev cmocka:libcmocka-dev libcjson:libcjson-dev libevent:libevent-dev
PKGS_ALL := $(sort $(PKGS_MGR) $(PKGS_WORKER) $(PKGS_CTL) $(PKGS_AGENT) $(PKGS_VERIFIER) \
                   $(PKGS_ADAPTER) $(PKGS_TEST) $(PKGS_BENCH))
# Goals that need no library: they install the packages first (deps, then a sub-make that
# checks), or build nothing.
NOLIB_GOALS := deps clean uninstall check demo asan tsan bench check-kernel fuzz
ifneq ($(filter-out $(NOLIB_GOALS),$(or $(MAKECMDGOALS),all)),)
  ifeq ($(shell command -v $(PKG_CONFIG)),)
    $(error $(PKG_CONFIG) not found: install pkg-config (make deps))
  endif
  # Installing needs no test library (the Debian build does only that).
  PKGS_NEEDED := $(if $(filter-out install installable man,$(or $(MAKECMDGOALS),all)),$(PKGS_ALL),\
                      $(filter-out $(PKGS_TEST) $(PKGS_BENCH),$(PKGS_ALL)))
  MISSING_PKGS := $(shell for m in $(PKGS_NEEDED); do $(PKG_CONFIG) --exists $$m || echo $$m; done)
  UNKNOWN_PKGS := $(filter-out $(foreach e,$(DEB_OF),$(firstword $(subst :, ,$(e)))),$(PKGS_ALL))
  ifneq ($(UNKNOWN_PKGS),)
    $(error no Debian package known for pkg-config module(s) $(UNKNOWN_PKGS): add them to DEB_OF)
  endif
  ifneq ($(MISSING_PKGS),)
    $(foreach m,$(MISSING_PKGS),$(warning $(m) not found: install \
      $(patsubst $(m):%,%,$(filter $(m):%,$(DEB_OF))) (make deps)))
    $(error missing build dependencies: $(MISSING_PKGS) (make deps, as root, installs them))
  endif
endif

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

.PHONY: all man deps demo check check-unit check-integration check-kernel asan tsan bench clean fuzz fuzzers FORCE mgr-bundle

.SECONDEXPANSION:

all: $(BINS) $(UNITS) $(TOOLS) $(B)/tests/sockpeer-static

deps:
	@sh swtpm-ci/install-deps.sh

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Rewritten only when a value changes, so that lib/cli.o is rebuilt only then.
$(B)/gen/buildinfo.h: FORCE
	@mkdir -p $(dir $@)
	@printf '#define VTPM_VERSION "%s"\n#define VTPM_LIBEXECDIR "%s"\n' \
		'$(VERSION)' '$(pkglibexecdir)' >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

# lib/cli.o also records the flags its build was made with (gen/flags: t_install.sh relinks a
# copy of the build with them); it is remade when the Makefile changes, so the record exists.
$(call obj,lib/cli.c): ALL_CFLAGS += -I$(B)/gen
$(call obj,lib/cli.c): lib/cli.c $(B)/gen/buildinfo.h Makefile
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<
	@printf "SANITIZE='%s'\nCFLAGS='%s'\n" '$(SANITIZE)' '$(CFLAGS)' >$(B)/gen/flags

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
$(call obj,$(ADAPTER_SRCS)): ALL_CFLAGS += $(shell $(PKG_CONFIG) --cflags fuse3 2>/dev/null)

# libpq's headers live in their own directory.
$(call obj,verifier/store/store_pg.c tests/tools/bench_store.c): ALL_CFLAGS += $(shell $(PKG_CONFIG) --cflags libpq)

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
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(VERIFIER_STATIC_A) -Wl,--as-needed $(call pc,$(VERIFIER_DYN_PKGS)) \
		$(LIBS_VERIFIER)

$(B)/bin/verifier-serve: $(call obj,verifier/main.c) $(VERIFIER_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc,$(PKGS_VERIFIER)) $(LIBS_VERIFIER)

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
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc,$(PKGS_MGR) $(PKGS_WORKER) $(PKGS_CTL) $(PKGS_AGENT) $(PKGS_VERIFIER) $(PKGS_ADAPTER) $(PKGS_TEST)) $(LIBS_VERIFIER)

$(B)/tests/%: $(B)/obj/tests/tools/%.o $(MGR_A) $(WORKER_A) $(AGENT_A) $(VERIFIER_A) $(ADAPTER_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc,$(PKGS_MGR) $(PKGS_WORKER) $(PKGS_CTL) $(PKGS_AGENT) $(PKGS_VERIFIER) $(PKGS_ADAPTER)) $(LIBS_VERIFIER)

$(B)/tests/bench_admission: $(B)/obj/tests/tools/bench_admission.o $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(call pc,libcurl $(PKGS_BENCH))

# Man pages (make man, into $(B)/man/): help2man runs each command's --help and --version and
# adds man/NAME.h2m (NAME, SYNOPSIS, DESCRIPTION, FILES, SEE ALSO). Section 8: the daemons and
# helpers installed in sbin and libexec; section 1: the commands in bin.
MAN1 := vtpmctl verifier attest-agent attest-agent-hook
MAN8 := vtpm-mgr vtpm-mgr-worker verifier-serve vtpm-cuse
MANS := $(patsubst %,$(B)/man/%.1,$(MAN1)) $(patsubst %,$(B)/man/%.8,$(MAN8))
HELP2MAN ?= help2man

man: $(MANS)

$(B)/man/%.1: $(B)/bin/% man/%.h2m VERSION
	@mkdir -p $(dir $@)
	@command -v $(HELP2MAN) >/dev/null || { echo "help2man not found: install help2man (make deps)" >&2; exit 1; }
	$(HELP2MAN) --no-info --section=1 --manual="User Commands" --include=man/$*.h2m --output=$@ $<

$(B)/man/%.8: $(B)/bin/% man/%.h2m VERSION
	@mkdir -p $(dir $@)
	@command -v $(HELP2MAN) >/dev/null || { echo "help2man not found: install help2man (make deps)" >&2; exit 1; }
	$(HELP2MAN) --no-info --section=8 --manual="System Administration" --include=man/$*.h2m --output=$@ $<

# Example policies, made by the verifier itself so that they are always loadable: the default
# launch policy, and a boot policy derived from the OVMF log of the QEMU tests.
EXAMPLES := $(B)/examples/policy.json $(B)/examples/boot-policy-ovmf-qemu.json
# The OCI hooks.d file for podman/CRI-O (docs/engines.md) with this install's paths; the
# verifier URL is the site's (VERIFIER_URL, the same default as attest-agent.service's).
# Copied to /etc/containers/oci/hooks.d/ by the operator, as the kmod-vtpm drop-in of
# vtpm-mgr.service to /etc/systemd/system/vtpm-mgr.service.d/ (docs/operations.md).
VERIFIER_URL ?= https://verifier:8443
HOOKS_EXAMPLE := $(B)/examples/hooks.d/vtpm-attest.json
DROPIN_EXAMPLE := systemd/vtpm-mgr.service.d/kmod-vtpm.conf

# Remade on every run (bindir and VERIFIER_URL are make variables), replaced only on a change.
$(HOOKS_EXAMPLE): attest-agent/hooks.d/vtpm-attest.json FORCE
	@mkdir -p $(dir $@)
	@sed -e 's|@BINDIR@|$(bindir)|g' -e 's|@VERIFIER_URL@|$(VERIFIER_URL)|g' \
		-e 's|@RUN_DIR@|/run/vtpm-mgr|g' $< >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv -f $@.tmp $@; fi

$(B)/examples/policy.json: $(B)/bin/verifier
	@mkdir -p $(dir $@)
	$< policy default >$@.tmp && mv -f $@.tmp $@

$(B)/examples/boot-policy-ovmf-qemu.json: $(B)/bin/verifier tests/fuzz/corpus/uefilog/ovmf-qemu.bin
	@mkdir -p $(dir $@)
	$< boot-policy derive --log tests/fuzz/corpus/uefilog/ovmf-qemu.bin >$@.tmp && mv -f $@.tmp $@

# make install / make uninstall (PREFIX, DESTDIR and the directories above). Where each file
# goes is in docs/operations.md, "Installing on a host". uninstall removes exactly these files, then the
# package's own directories if they are empty.
INST_BIN     := vtpmctl verifier attest-agent attest-agent-hook
INST_SBIN    := vtpm-mgr vtpm-cuse
INST_LIBEXEC := vtpm-mgr-worker verifier-serve
INST_UNITS   := $(notdir $(wildcard systemd/*.service))
INST_DOCS    := README.md $(wildcard docs/*.md)
DKMS_SRCS    := $(wildcard kmod-vtpm/*.c kmod-vtpm/*.h) kmod-vtpm/Kbuild kmod-vtpm/Makefile \
                kmod-vtpm/include/uapi/vtpm_attest.h
D := $(DESTDIR)
INSTALLED := $(addprefix $(D)$(bindir)/,$(INST_BIN)) $(addprefix $(D)$(sbindir)/,$(INST_SBIN)) \
             $(addprefix $(D)$(pkglibexecdir)/,$(INST_LIBEXEC)) \
             $(addprefix $(D)$(mandir)/man1/,$(addsuffix .1,$(MAN1))) \
             $(addprefix $(D)$(mandir)/man8/,$(addsuffix .8,$(MAN8))) \
             $(addprefix $(D)$(unitdir)/,$(INST_UNITS)) \
             $(addprefix $(D)$(docdir)/,$(notdir $(INST_DOCS))) \
             $(addprefix $(D)$(docdir)/examples/,$(notdir $(EXAMPLES))) \
             $(D)$(docdir)/examples/hooks.d/vtpm-attest.json \
             $(D)$(docdir)/examples/vtpm-mgr.service.d/kmod-vtpm.conf \
             $(D)$(includedir)/vtpm-attest/vtpm_attest.h \
             $(patsubst kmod-vtpm/%,$(D)$(dkmsdir)/%,$(DKMS_SRCS)) $(D)$(dkmsdir)/dkms.conf
# Paths written into the units: the ones they name for a /usr/local build, replaced.
UNIT_SED := -e 's|/usr/local/sbin/|$(sbindir)/|g' \
            -e 's|/usr/local/bin/verifier-serve|$(pkglibexecdir)/verifier-serve|g' \
            -e 's|/usr/local/bin/|$(bindir)/|g' -e 's|/usr/share/doc/vtpm-attest/|$(docdir)/|g'

.PHONY: install installable uninstall
# What install installs, built (the Debian build's build step).
installable: $(addprefix $(B)/bin/,$(INST_BIN) $(INST_SBIN) $(INST_LIBEXEC)) $(MANS) $(EXAMPLES) \
	$(HOOKS_EXAMPLE)

install: installable
	install -d $(D)$(bindir) $(D)$(sbindir) $(D)$(pkglibexecdir) $(D)$(mandir)/man1 \
		$(D)$(mandir)/man8 $(D)$(unitdir) $(D)$(docdir)/examples $(D)$(includedir)/vtpm-attest \
		$(D)$(dkmsdir)/include/uapi
	install -m 0755 $(addprefix $(B)/bin/,$(INST_BIN)) $(D)$(bindir)/
	install -m 0755 $(addprefix $(B)/bin/,$(INST_SBIN)) $(D)$(sbindir)/
	install -m 0755 $(addprefix $(B)/bin/,$(INST_LIBEXEC)) $(D)$(pkglibexecdir)/
	install -m 0644 $(filter %.1,$(MANS)) $(D)$(mandir)/man1/
	install -m 0644 $(filter %.8,$(MANS)) $(D)$(mandir)/man8/
	for u in $(INST_UNITS); do sed $(UNIT_SED) systemd/$$u >$(D)$(unitdir)/$$u.tmp && \
		chmod 0644 $(D)$(unitdir)/$$u.tmp && mv -f $(D)$(unitdir)/$$u.tmp $(D)$(unitdir)/$$u || exit 1; done
	install -m 0644 $(INST_DOCS) $(D)$(docdir)/
	install -m 0644 $(EXAMPLES) $(D)$(docdir)/examples/
	install -d $(D)$(docdir)/examples/hooks.d $(D)$(docdir)/examples/vtpm-mgr.service.d
	install -m 0644 $(HOOKS_EXAMPLE) $(D)$(docdir)/examples/hooks.d/
	install -m 0644 $(DROPIN_EXAMPLE) $(D)$(docdir)/examples/vtpm-mgr.service.d/
	install -m 0644 kmod-vtpm/include/uapi/vtpm_attest.h $(D)$(includedir)/vtpm-attest/
	for f in $(patsubst kmod-vtpm/%,%,$(DKMS_SRCS)); do \
		install -m 0644 kmod-vtpm/$$f $(D)$(dkmsdir)/$$f || exit 1; done
	sed 's/^PACKAGE_VERSION=.*/PACKAGE_VERSION="$(VERSION)"/' kmod-vtpm/dkms.conf \
		>$(D)$(dkmsdir)/dkms.conf && chmod 0644 $(D)$(dkmsdir)/dkms.conf

uninstall:
	rm -f $(INSTALLED)
	for d in $(D)$(dkmsdir)/include/uapi $(D)$(dkmsdir)/include $(D)$(dkmsdir) \
		$(D)$(docdir)/examples/hooks.d $(D)$(docdir)/examples/vtpm-mgr.service.d \
		$(D)$(docdir)/examples $(D)$(docdir) $(D)$(includedir)/vtpm-attest $(D)$(pkglibexecdir); do \
		[ ! -d $$d ] || rmdir $$d 2>/dev/null || echo "uninstall: $$d not empty, kept"; done

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
