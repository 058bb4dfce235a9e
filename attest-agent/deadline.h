/* SPDX-License-Identifier: BSD-3-Clause */
/* The agent's overall time budget: a monotonic deadline that every blocking step shares. */
#ifndef AGENT_DEADLINE_H
#define AGENT_DEADLINE_H

#include <stdint.h>
#include <time.h>

static inline int64_t deadline_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline (a deadline_now_ms() value), at least 1. */
static inline int deadline_left_ms(int64_t deadline)
{
    int64_t left = deadline - deadline_now_ms();

    return left < 1 ? 1 : left > 3600000 ? 3600000 : (int)left;
}

#endif
