# SPDX-License-Identifier: BSD-3-Clause
# libFuzzer harnesses: one per parser of untrusted input, each with the sources it exercises.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all -Ilib -Ivtpm-mgr/include -Ivtpm-mgr/daemon -Ivtpm-mgr/worker

fuzz_ctlproto_SRCS  := lib/ctlproto.c lib/log.c
fuzz_ctlproto_LIBS  := -lcbor
fuzz_meta_SRCS      := vtpm-mgr/daemon/instance.c lib/ctlproto.c lib/log.c
fuzz_meta_LIBS      := -lcbor -luuid
fuzz_statefile_SRCS := vtpm-mgr/daemon/statestore.c lib/fileio.c lib/log.c
fuzz_statefile_LIBS := -lcrypto
fuzz_evidence_SRCS  := verifier/evidence.c verifier/eventlog.c verifier/quote.c verifier/chain.c \
                       verifier/tpmobj.c verifier/policy.c verifier/reasons.c verifier/verify.c \
                       lib/cborutil.c lib/ctlproto.c lib/fileio.c lib/log.c
fuzz_evidence_LIBS  := -lcbor -ljansson -lcrypto -ltss2-mu

FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS   := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRCS))

$(B)/fuzz/%: tests/fuzz/%.c $$($$*_SRCS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $($*_SRCS) $($*_LIBS)

fuzzers: $(FUZZERS)
