# SPDX-License-Identifier: BSD-3-Clause
# libFuzzer harnesses: one per parser of untrusted input, each with the sources it exercises.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all -Ilib -Ivtpm-mgr/include -Ivtpm-mgr/daemon -Ivtpm-mgr/worker -Iverifier

fuzz_ctlproto_SRCS  := lib/ctlproto.c lib/log.c
fuzz_ctlproto_LIBS  := -lcbor
fuzz_meta_SRCS      := vtpm-mgr/daemon/instance.c vtpm-mgr/daemon/peerns.c lib/ctlproto.c lib/log.c
fuzz_meta_LIBS      := -lcbor -luuid
fuzz_statefile_SRCS := vtpm-mgr/daemon/statestore.c lib/fileio.c lib/log.c
fuzz_statefile_LIBS := -lcrypto
fuzz_manifest_SRCS  := vtpm-mgr/daemon/rollback.c vtpm-mgr/daemon/statestore.c lib/fileio.c lib/log.c
fuzz_manifest_LIBS  := -lcrypto
fuzz_evidence_SRCS  := verifier/check/evidence.c verifier/boot/eventlog.c verifier/check/quote.c verifier/check/chain.c \
                       verifier/check/tpmobj.c verifier/check/policy.c verifier/check/launchpolicy.c verifier/check/reasons.c \
                       verifier/check/imagesig.c verifier/check/sigkeys.c verifier/check/refbundle.c \
                       verifier/check/verify.c verifier/check/runtime.c \
                       verifier/check/chaincache.c verifier/check/hostcache.c verifier/check/hostcheck.c verifier/check/kmodlist.c \
                       verifier/boot/uefilog.c verifier/boot/bootpolicy.c verifier/check/errfmt.c lib/tpmtemplates.c \
                       lib/cborutil.c lib/ctlproto.c lib/fileio.c lib/hexutil.c lib/log.c
fuzz_evidence_LIBS  := -lcbor -ljansson -lcrypto -ltss2-mu

fuzz_swctrl_SRCS    := vtpm-mgr/worker/ctrl.c lib/log.c
fuzz_swctrl_LIBS    :=
fuzz_tpmframe_INC   := -Iadapter
fuzz_tpmframe_SRCS  := adapter/tpmframe.c lib/log.c
fuzz_tpmframe_LIBS  := -ltss2-mu
fuzz_ociconfig_INC  := -Iattest-agent
fuzz_ociconfig_SRCS := attest-agent/ocispec.c attest-agent/launchcfg.c attest-agent/launchmount.c \
                       attest-agent/launchpod.c attest-agent/launchpids.c \
                       attest-agent/launchseccomp.c attest-agent/cborenc.c attest-agent/digest.c \
                       verifier/check/launchpolicy.c verifier/check/reasons.c \
                       lib/cborutil.c lib/ctlproto.c lib/fileio.c lib/hexutil.c lib/log.c
fuzz_ociconfig_LIBS := -ljansson -lcbor -lcrypto
fuzz_launchpolicy_SRCS := verifier/check/launchpolicy.c verifier/check/reasons.c lib/cborutil.c lib/ctlproto.c \
                          lib/log.c
fuzz_launchpolicy_LIBS := -ljansson -lcbor
fuzz_agentreply_INC := -Iattest-agent
fuzz_agentreply_SRCS := attest-agent/evidence.c attest-agent/cborenc.c lib/ctlproto.c lib/log.c
fuzz_agentreply_LIBS := -lcbor -ljansson
fuzz_hostquote_INC  := -Iattest-agent
fuzz_hostquote_SRCS := vtpm-mgr/daemon/hostquote.c attest-agent/mgrclient.c lib/pcrlist.c \
                       lib/ctlproto.c lib/log.c
fuzz_hostquote_LIBS := -lcbor -lcrypto
fuzz_uefilog_SRCS   := verifier/boot/uefilog.c verifier/boot/bootpolicy.c verifier/check/errfmt.c verifier/check/reasons.c lib/fileio.c lib/hexutil.c lib/log.c
fuzz_uefilog_LIBS   := -ljansson -lcrypto

fuzz_kmodlist_SRCS  := verifier/check/kmodlist.c lib/hexutil.c
fuzz_kmodlist_LIBS  := -lcrypto

fuzz_slowtpm_INC    := -Iswtpm-ci/slowtpm
fuzz_slowtpm_SRCS   := swtpm-ci/slowtpm/inspect.c
fuzz_slowtpm_LIBS   := -ltss2-mu

fuzz_admission_SRCS := verifier/sched/admission.c verifier/sched/podspec.c verifier/check/policy.c verifier/check/launchpolicy.c \
                       verifier/check/imagesig.c verifier/check/sigkeys.c verifier/check/refbundle.c \
                       verifier/check/runtime.c \
                       verifier/boot/bootpolicy.c verifier/check/errfmt.c verifier/boot/uefilog.c \
                       verifier/check/reasons.c verifier/boot/eventlog.c verifier/check/tpmobj.c \
                       lib/cborutil.c lib/ctlproto.c lib/fileio.c lib/hexutil.c lib/log.c
fuzz_admission_LIBS := -ljansson -lcbor -lcrypto -ltss2-mu -lcjson -lunistring

fuzz_imagesig_SRCS  := verifier/check/imagesig.c verifier/check/sigkeys.c verifier/check/refbundle.c verifier/check/policy.c \
                       verifier/check/runtime.c \
                       verifier/check/launchpolicy.c verifier/check/reasons.c verifier/boot/bootpolicy.c verifier/check/errfmt.c \
                       verifier/boot/uefilog.c verifier/boot/eventlog.c verifier/check/tpmobj.c \
                       lib/cborutil.c lib/ctlproto.c lib/fileio.c lib/hexutil.c lib/log.c
fuzz_imagesig_LIBS  := -ljansson -lcbor -lcrypto -ltss2-mu

fuzz_rtmanifest_SRCS := verifier/check/runtime.c verifier/check/rtcache.c verifier/check/policy.c verifier/check/launchpolicy.c \
                        verifier/check/imagesig.c verifier/check/sigkeys.c verifier/check/refbundle.c \
                        verifier/check/reasons.c verifier/check/tpmobj.c verifier/boot/bootpolicy.c verifier/check/errfmt.c \
                        verifier/boot/uefilog.c verifier/boot/eventlog.c \
                        lib/cborutil.c lib/ctlproto.c lib/fileio.c lib/hexutil.c lib/log.c
fuzz_rtmanifest_LIBS := -ljansson -lcbor -lcrypto -ltss2-mu

fuzz_rtmonparse_INC  := -Iattest-agent
fuzz_rtmonparse_SRCS := attest-agent/rtmonparse.c
fuzz_rtmonparse_LIBS :=

FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS   := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRCS))

$(B)/fuzz/%: tests/fuzz/%.c $$($$*_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $($*_INC) -o $@ $< $($*_SRCS) $($*_LIBS)

fuzzers: $(FUZZERS)
