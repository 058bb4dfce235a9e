/* SPDX-License-Identifier: BSD-3-Clause */
/* Phase timing of the hook on stderr when VTPM_AGENT_TIMING=1 (latency profiling). */
#ifndef AGENT_TIMING_H
#define AGENT_TIMING_H

/* Reads VTPM_AGENT_TIMING once and starts the clock; also reports the time the process
 * spent before main (exec, dynamic linking, library constructors). */
void timing_init(void);
/* "attest-agent: timing: PHASE +N.N ms (at N.N ms)" since the previous mark, if enabled. */
void timing_mark(const char *phase);

#endif
