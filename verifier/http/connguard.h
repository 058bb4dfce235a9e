/* SPDX-License-Identifier: BSD-3-Clause */
/* The verifier service's connection guard: a deadline for each phase of a request and the
 * eviction of the longest-waiting connection when the server is nearly full, so that slow
 * clients cannot starve the others (docs/verifier.md, "Connection limits"). One guard serves
 * every serving thread of the service (server.c): each call takes the guard's lock, so the
 * limits hold for the whole service, and a thread may evict or time out a connection that
 * another thread's libmicrohttpd owns (shutdown(2) only; the owner closes it). */
#ifndef VERIFIER_CONNGUARD_H
#define VERIFIER_CONNGUARD_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#define GUARD_MAX_CONNS      256u
#define GUARD_PER_IP         32u
#define GUARD_RESERVE        32u
#define GUARD_HANDSHAKE_S    5u
#define GUARD_HEADER_S       10u
#define GUARD_BODY_S         30u
#define GUARD_IDLE_S         10u

struct guard_limits {
    unsigned max_conns;   /* all connections (refused at open beyond) */
    unsigned per_ip;      /* connections of one client address (refused at open beyond) */
    unsigned reserve;     /* eviction starts at max_conns - reserve live connections */
    unsigned handshake_s; /* accept to request line: the TLS handshake and the first line */
    unsigned header_s;    /* request line to the end of the headers */
    unsigned body_s;      /* end of the headers to the end of the body */
    unsigned idle_s;      /* a kept-alive connection waiting for its next request line */
};

enum guard_phase {
    GUARD_WAIT, /* accepted (handshake) or kept alive: waiting for a request line */
    GUARD_HEAD, /* request line seen, headers not complete */
    GUARD_BODY, /* headers complete, body not complete */
    GUARD_BUSY, /* request complete: being answered; no deadline here */
};

struct guard_conn {
    TAILQ_ENTRY(guard_conn) link;
    int fd;
    struct sockaddr_storage addr; /* the client's address (family AF_UNSPEC: unknown) */
    enum guard_phase phase;
    int served;        /* a request was answered on it: GUARD_WAIT is idle, not handshake */
    int killed;        /* shut down by the guard; libmicrohttpd has not closed it yet */
    uint64_t since_ms; /* when the current phase began */
    /* server.c's memo of the client certificate verified on this connection, touched only by
     * the thread that serves it: SHA-256 of its DER and when it was verified (0: never). */
    unsigned char peer_md[32];
    uint64_t peer_ok_ms;
    int peer_admission; /* that certificate's CN: 1 an --admission-client, 2 not, 0 not seen */
    /* server.c's body buffer kept between the connection's requests (freed with it): a new
     * buffer of 1 KiB or more for every request made malloc consolidate its fast bins */
    unsigned char *spare;
    size_t spare_cap;
};

/* Every field below the lock is the lock's; read the counters with guard_counts. */
struct guard {
    struct guard_limits lim;
    pthread_mutex_t lock;
    TAILQ_HEAD(, guard_conn) conns; /* in accept order */
    size_t open;                    /* connections in the list, killed ones included */
    size_t live;                    /* connections not killed */
    uint64_t timeouts, evictions, refused;
    uint64_t reaped_ms;             /* when guard_reap last walked the list */
};

void guard_init(struct guard *g, const struct guard_limits *lim);
/* A new connection (fd stays the caller's) from addr (NULL: unknown). NULL when it is refused
 * (max_conns live, or per_ip live from addr; counted in refused) or memory runs out: the
 * caller then drops fd. Killed connections do not count: their owner is closing them. Evicts the longest-waiting connections while more than
 * max_conns - reserve are live. */
struct guard_conn *guard_open(struct guard *g, int fd, const struct sockaddr *addr,
                              uint64_t now_ms);
/* 1 when a connection from addr would be admitted now: a check before any work is done for it
 * (libmicrohttpd's accept policy); guard_open decides. A refusal counts in refused. */
int guard_admit(struct guard *g, const struct sockaddr *addr);
void guard_close(struct guard *g, struct guard_conn *c); /* frees c */
void guard_phase(struct guard *g, struct guard_conn *c, enum guard_phase ph, uint64_t now_ms);
/* Shuts down (shutdown(2), the owner then sees EOF and closes) every connection past the
 * deadline of its phase. */
void guard_reap(struct guard *g, uint64_t now_ms);
/* guard_reap when GUARD_REAP_MS have passed since the last walk: every serving thread calls it
 * after each turn of its loop, and the list is walked once per period, by whichever comes. */
#define GUARD_REAP_MS 50u
void guard_tick(struct guard *g, uint64_t now_ms);
void guard_counts(struct guard *g, uint64_t *timeouts, uint64_t *evictions, uint64_t *refused);
/* Frees what is left (at stop), and the lock. */
void guard_free(struct guard *g);

uint64_t guard_now_ms(void); /* CLOCK_MONOTONIC */

#endif
