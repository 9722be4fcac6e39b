/*
 * Copied from the team's peerbench tool (shared/peerbench/mqload.c, unchanged below this
 * comment) so that `npm run bench:e2e` needs nothing outside the project. Fix it there first.
 * bench/e2e/run.mjs builds it with: cc -O2 -o <cache>/mqload bench/e2e/mqload.c -lpthread
 */
/*
 * mqload.c - MQTT 3.1.1 / 5.0 load generator (epoll, non-blocking, pre-encoded packets)
 *
 * Build: gcc -O2 -o mqload mqload.c -lpthread
 *
 * Every payload starts with a 24-byte header:
 *   u32 magic 'MQLD' | u32 publisher index | u64 sequence | u64 send time (CLOCK_MONOTONIC ns)
 * Subscribers use it for end-to-end latency, per-(subscriber,publisher) loss and
 * duplicate detection (bitmap of received sequence numbers).
 *
 * Timeline: setup (connect + subscribe) -> warmup -> measurement window -> drain
 * (publishers stopped, wait for in-flight) -> DISCONNECT. Every phase is bounded
 * in time; the program always stops by itself.
 *
 * Output: one JSON line on stdout. Diagnostics on stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x444C514Du /* "MQLD" little endian */
#define HDR_BYTES 24
#define SCRATCH (256 * 1024)
#define OB_HIGH (64 * 1024)
#define SUB_BITS 6
#define NBUCKETS (64 * (64 - SUB_BITS + 1))
#define FILTERS_PER_SUBSCRIBE 32
#define CKPTS 64
#define TICK_NS 100000000LL /* housekeeping tick: 100 ms */
#define MAXEV 1024
#define E2E_BUDGET 20000

enum { M_PAIRS, M_FANIN, M_FANOUT, M_SHARED, M_CONN };
static const char *mode_names[] = {"pairs", "fanin", "fanout", "shared", "conn"};
enum { R_PUB, R_SUB, R_CONN };
enum { S_IDLE, S_TCP, S_CONNACK, S_SUBACK, S_READY, S_CLOSING, S_CLOSED };
enum { PH_SETUP, PH_RUN, PH_DRAIN, PH_DONE };

static struct {
    char host[256];
    int port, pubs, subs, topics, qos, subqos, size, mode, wild, threads, v5;
    int inflight, e2e, keepalive, conns, conn_window, verbose, batch, quickack;
    double rate, duration, warmup, drain, setup_timeout, conn_timeout, e2e_timeout;
    char prefix[64];
    char watch[512];
} cfg;

/* ---- shared state ---- */
typedef struct {
    _Alignas(64) _Atomic uint64_t delivered; /* deliveries seen by subscribers (any thread) */
    _Atomic uint64_t seq;                    /* messages published so far (owner thread writes) */
    _Atomic int inflight;                    /* unacked QoS1/2 (owner thread writes) */
    uint64_t fanout;                         /* expected deliveries per message */
    int th;                                  /* owner thread */
} pubsh_t;

typedef struct {
    uint64_t *w;
    uint64_t nwords;
    uint64_t dups, rcv;
} track_t;

typedef struct conn {
    int fd, role, idx, state, th;
    uint8_t *ob;
    uint32_t olen, ooff, ocap;
    uint8_t wblocked;
    uint8_t *ib;
    uint32_t ilen, icap;
    int64_t t0; /* start of current setup state */
    /* publisher */
    pubsh_t *ps;
    uint8_t *tmpl;
    uint32_t tlen, pid_off, pl_off;
    uint64_t seq, seq_start, seq_end;
    uint8_t started_meas, done_sending;
    int window, inflight, nfree;
    uint16_t *freeslots;
    uint8_t *slotst;
    double tokens;
    int64_t last_tok;
    uint64_t ck[CKPTS];
    uint32_t ckpos;
    /* subscriber */
    int subacks_pending;
    track_t *tr;
    int tr_base, tr_n;
} conn_t;

typedef struct thr {
    int id, ep, efd;
    pthread_t th;
    conn_t **conns;
    int nconns, cap;
    conn_t **pubs;
    int npubs, pcap;
    int next_connect, pending;
    uint8_t *scratch;
    uint64_t hist[NBUCKETS];
    uint64_t lat_n, lat_max;
    double lat_sum;
    uint64_t recv_window, recv_total, recv_dupflag, foreign, unexpected;
    uint64_t errors, disconnects, sub_fail, connect_fail, connect_ok, pub_rejected, e2e_blocked;
    int64_t first_connect, last_connack;
    uint64_t *delta;
    int *dirty;
    uint8_t *isdirty;
    int ndirty;
    uint8_t *wake;
    _Atomic int sleeping;
    int64_t next_tick, last_ping;
    int closing_started, nclosing, more;
    uint64_t loops, nsend, nrecv;
    int64_t close_deadline;
} thr_t;

static _Atomic int g_phase = PH_SETUP;
static _Atomic int g_resolved = 0; /* conns that are READY or failed during setup */
static _Atomic int g_stop = 0;
static int64_t g_t_run, g_t_start, g_t_end;
static double g_pub_rate, g_burst;
static int g_loss_ticks;
static pubsh_t *g_ps;
static conn_t *g_pub, *g_sub, *g_conn;
static int g_npub, g_nsub, g_nconn, g_total;
static thr_t *g_thr;
static struct sockaddr_in g_addr;
static int g_pid;

static inline int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
static void die(const char *m) {
    fprintf(stderr, "mqload: %s\n", m);
    exit(2);
}
static void *xcalloc(size_t n, size_t s) {
    void *p = calloc(n ? n : 1, s ? s : 1);
    if (!p) die("out of memory");
    return p;
}
static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) die("out of memory");
    return p;
}
static int enc_varint(uint8_t *p, uint32_t v) {
    int n = 0;
    do {
        uint8_t b = v % 128;
        v /= 128;
        if (v) b |= 128;
        p[n++] = b;
    } while (v);
    return n;
}
/* decode varint from p (len bytes available); returns bytes used or 0 on error */
static int dec_varint(const uint8_t *p, uint32_t len, uint32_t *out) {
    uint32_t v = 0;
    for (int k = 0; k < 4 && (uint32_t)k < len; k++) {
        v |= (uint32_t)(p[k] & 127) << (7 * k);
        if (!(p[k] & 128)) {
            *out = v;
            return k + 1;
        }
    }
    return 0;
}

/* ---- latency histogram (log-linear, ~1.6% resolution) ---- */
static inline int hbucket(uint64_t v) {
    if (v < (1u << SUB_BITS)) return (int)v;
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - SUB_BITS;
    return ((shift + 1) << SUB_BITS) + (int)((v >> shift) - (1u << SUB_BITS));
}
static inline uint64_t hlow(int b) {
    if (b < (1 << SUB_BITS)) return (uint64_t)b;
    int shift = (b >> SUB_BITS) - 1;
    uint64_t m = (uint64_t)(b & ((1 << SUB_BITS) - 1)) + (1u << SUB_BITS);
    return m << shift;
}
static double hpct(const uint64_t *h, uint64_t n, double q, uint64_t maxv) {
    if (!n) return 0;
    uint64_t target = (uint64_t)(q * (double)n);
    if (target >= n) target = n - 1;
    uint64_t acc = 0;
    for (int b = 0; b < NBUCKETS; b++) {
        acc += h[b];
        if (acc > target) {
            uint64_t lo = hlow(b), hi = hlow(b + 1);
            double mid = (double)lo + (double)(hi - lo) / 2.0;
            if (mid > (double)maxv) mid = (double)maxv;
            return mid;
        }
    }
    return (double)maxv;
}

/* ---- output buffer ---- */
static void ob_reserve(conn_t *c, uint32_t n) {
    if (c->ocap - c->olen >= n) return;
    if (c->ooff) {
        memmove(c->ob, c->ob + c->ooff, c->olen - c->ooff);
        c->olen -= c->ooff;
        c->ooff = 0;
        if (c->ocap - c->olen >= n) return;
    }
    uint32_t nc = c->ocap ? c->ocap : 256;
    while (nc - c->olen < n) nc *= 2;
    c->ob = xrealloc(c->ob, nc);
    c->ocap = nc;
}
static void ob_put(conn_t *c, const uint8_t *p, uint32_t n) {
    ob_reserve(c, n);
    memcpy(c->ob + c->olen, p, n);
    c->olen += n;
}
static void ob_ack(conn_t *c, uint8_t type, uint16_t pid) {
    uint8_t a[4] = {type, 2, (uint8_t)(pid >> 8), (uint8_t)pid};
    ob_put(c, a, 4);
}

static void conn_lost(thr_t *t, conn_t *c, const char *why);

static void do_write(thr_t *t, conn_t *c) {
    while (c->ooff < c->olen) {
        ssize_t n = send(c->fd, c->ob + c->ooff, c->olen - c->ooff, MSG_NOSIGNAL | MSG_DONTWAIT);
        g_thr[c->th].nsend++;
        if (n > 0) {
            c->ooff += (uint32_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->wblocked = 1;
            return;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            conn_lost(t, c, "write");
            return;
        }
    }
    c->ooff = c->olen = 0;
}

/* ---- topics / filters ---- */
static int pub_topic(int i) {
    if (cfg.mode == M_PAIRS) return i;
    return i % cfg.topics;
}
static int sub_nfilters(conn_t *c) {
    (void)c;
    int base;
    switch (cfg.mode) {
    case M_PAIRS: base = 1; break;
    case M_FANIN: base = 1; break;
    default: base = cfg.topics; break;
    }
    return base + cfg.wild;
}
static int sub_filter(conn_t *c, int k, char *buf, size_t bl) {
    int nb = sub_nfilters(c) - cfg.wild;
    const char *P = cfg.prefix;
    if (k < nb) {
        switch (cfg.mode) {
        case M_PAIRS: return snprintf(buf, bl, "%s/t/%d", P, c->idx);
        case M_FANIN: return snprintf(buf, bl, "%s/t/#", P);
        case M_FANOUT: return snprintf(buf, bl, "%s/t/%d", P, k);
        case M_SHARED: return snprintf(buf, bl, "$share/g/%s/t/%d", P, k);
        }
    }
    /* extra wildcard filters: share prefixes with real topics so the matcher has to
     * walk them, but never match a published topic (prefix/t/N has exactly 3 levels). */
    int j = k - nb, s = c->idx;
    switch (j % 4) {
    case 0: return snprintf(buf, bl, "%s/t/%d/+/w%d", P, s, j);
    case 1: return snprintf(buf, bl, "%s/+/%d/s%dw%d/#", P, s, s, j);
    case 2: return snprintf(buf, bl, "+/t/%dx%d", s, j);
    default: return snprintf(buf, bl, "%s/+/+/w%d/#", P, j);
    }
}

/* ---- packets ---- */
static void send_connect(conn_t *c) {
    char cid[32];
    static const char rc[] = {'p', 's', 'c'};
    int cl = snprintf(cid, sizeof cid, "mq%05d%c%d", g_pid % 100000, rc[c->role], c->idx);
    uint8_t p[64];
    uint32_t vh = 10 + (cfg.v5 ? 1 : 0);
    uint32_t rl = vh + 2 + (uint32_t)cl;
    int o = 0;
    p[o++] = 0x10;
    o += enc_varint(p + o, rl);
    p[o++] = 0;
    p[o++] = 4;
    memcpy(p + o, "MQTT", 4);
    o += 4;
    p[o++] = cfg.v5 ? 5 : 4;
    p[o++] = 0x02; /* clean session / clean start */
    p[o++] = (uint8_t)(cfg.keepalive >> 8);
    p[o++] = (uint8_t)cfg.keepalive;
    if (cfg.v5) p[o++] = 0; /* no properties */
    p[o++] = 0;
    p[o++] = (uint8_t)cl;
    memcpy(p + o, cid, cl);
    o += cl;
    ob_put(c, p, o);
}

static void send_subscribe(conn_t *c) {
    int nf = sub_nfilters(c);
    char f[256];
    int chunks = 0;
    for (int s = 0; s < nf; s += FILTERS_PER_SUBSCRIBE) {
        int e = s + FILTERS_PER_SUBSCRIBE < nf ? s + FILTERS_PER_SUBSCRIBE : nf;
        uint32_t rl = 2 + (cfg.v5 ? 1 : 0);
        for (int k = s; k < e; k++) rl += 2 + (uint32_t)sub_filter(c, k, f, sizeof f) + 1;
        uint8_t h[8];
        int o = 0;
        h[o++] = 0x82;
        o += enc_varint(h + o, rl);
        uint16_t pid = (uint16_t)(chunks + 1);
        h[o++] = (uint8_t)(pid >> 8);
        h[o++] = (uint8_t)pid;
        if (cfg.v5) h[o++] = 0;
        ob_put(c, h, o);
        for (int k = s; k < e; k++) {
            int l = sub_filter(c, k, f, sizeof f);
            uint8_t lb[2] = {(uint8_t)(l >> 8), (uint8_t)l};
            ob_put(c, lb, 2);
            ob_put(c, (uint8_t *)f, l);
            uint8_t q = (uint8_t)cfg.subqos;
            ob_put(c, &q, 1);
        }
        chunks++;
    }
    c->subacks_pending = chunks;
}

static void build_template(conn_t *c) {
    char topic[128];
    int tl = snprintf(topic, sizeof topic, "%s/t/%d", cfg.prefix, pub_topic(c->idx));
    uint32_t rl = 2 + tl + (cfg.qos ? 2 : 0) + (cfg.v5 ? 1 : 0) + cfg.size;
    uint8_t h[8];
    int o = 0;
    h[o++] = (uint8_t)(0x30 | (cfg.qos << 1));
    o += enc_varint(h + o, rl);
    c->tlen = o + rl;
    c->tmpl = xcalloc(1, c->tlen);
    uint8_t *p = c->tmpl;
    memcpy(p, h, o);
    p += o;
    *p++ = (uint8_t)(tl >> 8);
    *p++ = (uint8_t)tl;
    memcpy(p, topic, tl);
    p += tl;
    if (cfg.qos) {
        c->pid_off = (uint32_t)(p - c->tmpl);
        p += 2;
    }
    if (cfg.v5) *p++ = 0;
    c->pl_off = (uint32_t)(p - c->tmpl);
    for (int i = 0; i < cfg.size; i++) p[i] = (uint8_t)('a' + i % 26);
    uint32_t m = MAGIC, pi = (uint32_t)c->idx;
    memcpy(p, &m, 4);
    memcpy(p + 4, &pi, 4);
}

static void pub_init_window(conn_t *c, int w) {
    if (w < 1) w = 1;
    if (w > 65535) w = 65535;
    c->window = w;
    free(c->freeslots);
    free(c->slotst);
    c->freeslots = xcalloc(w, sizeof(uint16_t));
    c->slotst = xcalloc(w, 1);
    c->nfree = w;
    for (int i = 0; i < w; i++) c->freeslots[i] = (uint16_t)(w - 1 - i);
    c->inflight = 0;
}

/* ---- state transitions ---- */
static void finish_pub(conn_t *c) {
    if (c->done_sending) return;
    c->done_sending = 1;
    c->seq_end = c->seq;
    if (!c->started_meas) {
        c->seq_start = c->seq;
        c->started_meas = 1;
    }
}

static void became_ready(thr_t *t, conn_t *c) {
    (void)t;
    c->state = S_READY;
    atomic_fetch_add(&g_resolved, 1);
}

static void conn_close_fd(conn_t *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->state = S_CLOSED;
}

static void conn_lost(thr_t *t, conn_t *c, const char *why) {
    int st = c->state;
    if (st == S_CLOSED) return;
    conn_close_fd(c);
    if (st == S_CLOSING) {
        t->nclosing--;
        return;
    }
    if (st == S_TCP || st == S_CONNACK) {
        t->connect_fail++;
        t->pending--;
        atomic_fetch_add(&g_resolved, 1);
    } else if (st == S_SUBACK) {
        t->sub_fail++;
        atomic_fetch_add(&g_resolved, 1);
    } else {
        t->disconnects++;
    }
    if (c->role == R_PUB) {
        finish_pub(c);
        atomic_store_explicit(&c->ps->inflight, 0, memory_order_relaxed);
    }
    if (cfg.verbose) fprintf(stderr, "mqload: conn %c%d lost (%s, state %d, errno %d)\n", "psc"[c->role], c->idx, why, st, errno);
}

/* ---- receive path ---- */
static inline track_t *sub_track(conn_t *c, uint32_t pidx) {
    int k = (int)pidx - c->tr_base;
    if (k < 0 || k >= c->tr_n) return NULL;
    return &c->tr[k];
}

static void on_publish(thr_t *t, conn_t *c, uint8_t h, const uint8_t *p, uint32_t rl, int64_t now) {
    int qos = (h >> 1) & 3;
    if (rl < 2) {
        t->errors++;
        return;
    }
    uint32_t tl = ((uint32_t)p[0] << 8) | p[1];
    uint32_t pos = 2 + tl;
    uint16_t pid = 0;
    if (qos) {
        if (pos + 2 > rl) {
            t->errors++;
            return;
        }
        pid = (uint16_t)((p[pos] << 8) | p[pos + 1]);
        pos += 2;
    }
    if (cfg.v5) {
        uint32_t pl;
        int n = dec_varint(p + pos, rl - pos, &pl);
        if (!n) {
            t->errors++;
            return;
        }
        pos += n + pl;
    }
    if (qos == 1) ob_ack(c, 0x40, pid);
    else if (qos == 2) ob_ack(c, 0x50, pid);
    if (qos == 3 || pos > rl) {
        t->errors++;
        return;
    }
    if (h & 0x08) t->recv_dupflag++;
    const uint8_t *pl = p + pos;
    uint32_t plen = rl - pos;
    uint32_t m, pidx;
    if (plen < HDR_BYTES || (memcpy(&m, pl, 4), m != MAGIC)) {
        t->foreign++;
        return;
    }
    memcpy(&pidx, pl + 4, 4);
    uint64_t seq, ts;
    memcpy(&seq, pl + 8, 8);
    memcpy(&ts, pl + 16, 8);
    if (pidx >= (uint32_t)g_npub) {
        t->foreign++;
        return;
    }
    track_t *tr = sub_track(c, pidx);
    if (!tr) {
        t->unexpected++;
        return;
    }
    uint64_t wi = seq >> 6, bit = 1ULL << (seq & 63);
    if (wi >= tr->nwords) {
        uint64_t nw = tr->nwords ? tr->nwords : 64;
        while (nw <= wi) nw *= 2;
        tr->w = xrealloc(tr->w, nw * 8);
        memset(tr->w + tr->nwords, 0, (nw - tr->nwords) * 8);
        tr->nwords = nw;
    }
    if (tr->w[wi] & bit) tr->dups++;
    else tr->w[wi] |= bit;
    tr->rcv++;
    t->recv_total++;
    if (now >= g_t_start && now < g_t_end) t->recv_window++;
    if ((int64_t)ts >= g_t_start && (int64_t)ts < g_t_end) {
        uint64_t lat = now > (int64_t)ts ? (uint64_t)(now - (int64_t)ts) : 0;
        t->hist[hbucket(lat)]++;
        t->lat_n++;
        t->lat_sum += (double)lat;
        if (lat > t->lat_max) t->lat_max = lat;
    }
    if (!t->delta[pidx]++) {
        t->dirty[t->ndirty++] = (int)pidx;
    }
}

static int skip_props_find(const uint8_t *p, uint32_t len, int want, uint32_t *val) {
    /* walk MQTT5 properties; return 1 and value if id `want` found (integer types) */
    uint32_t o = 0;
    while (o < len) {
        uint8_t id = p[o++];
        uint32_t v = 0, n = 0;
        switch (id) {
        case 0x01: case 0x17: case 0x19: case 0x24: case 0x25: case 0x28: case 0x29: case 0x2A:
            if (o + 1 > len) return 0;
            v = p[o];
            n = 1;
            break;
        case 0x13: case 0x21: case 0x22: case 0x23:
            if (o + 2 > len) return 0;
            v = ((uint32_t)p[o] << 8) | p[o + 1];
            n = 2;
            break;
        case 0x02: case 0x11: case 0x18: case 0x27:
            if (o + 4 > len) return 0;
            v = ((uint32_t)p[o] << 24) | ((uint32_t)p[o + 1] << 16) | ((uint32_t)p[o + 2] << 8) | p[o + 3];
            n = 4;
            break;
        case 0x0B: {
            int k = dec_varint(p + o, len - o, &v);
            if (!k) return 0;
            n = (uint32_t)k;
            break;
        }
        case 0x03: case 0x08: case 0x12: case 0x15: case 0x1A: case 0x1C: case 0x1F: case 0x09: case 0x16:
            if (o + 2 > len) return 0;
            n = 2 + (((uint32_t)p[o] << 8) | p[o + 1]);
            break;
        case 0x26: {
            if (o + 2 > len) return 0;
            uint32_t a = 2 + (((uint32_t)p[o] << 8) | p[o + 1]);
            if (o + a + 2 > len) return 0;
            uint32_t b = 2 + (((uint32_t)p[o + a] << 8) | p[o + a + 1]);
            n = a + b;
            break;
        }
        default: return 0;
        }
        if (id == want) {
            *val = v;
            return 1;
        }
        o += n;
    }
    return 0;
}

static void on_connack(thr_t *t, conn_t *c, const uint8_t *p, uint32_t rl, int64_t now) {
    if (c->state != S_CONNACK || rl < 2) {
        t->errors++;
        return;
    }
    uint8_t rc = p[1];
    if (rc != 0) {
        if (cfg.verbose) fprintf(stderr, "mqload: CONNACK refused rc=0x%02x\n", rc);
        conn_close_fd(c);
        c->state = S_CLOSED;
        t->connect_fail++;
        t->pending--;
        atomic_fetch_add(&g_resolved, 1);
        if (c->role == R_PUB) finish_pub(c);
        return;
    }
    t->pending--;
    t->connect_ok++;
    if (now > t->last_connack) t->last_connack = now;
    if (c->role == R_PUB && cfg.qos) {
        int w = cfg.inflight;
        if (cfg.v5 && rl > 2) {
            uint32_t pl, v;
            int n = dec_varint(p + 2, rl - 2, &pl);
            if (n && 2 + n + pl <= rl && skip_props_find(p + 2 + n, pl, 0x21, &v) && v > 0 && (int)v < w) {
                if (cfg.verbose && c->idx == 0) fprintf(stderr, "mqload: server receive-maximum %u clamps window\n", v);
                w = (int)v;
            }
        }
        pub_init_window(c, w);
    }
    if (c->role == R_SUB) {
        send_subscribe(c);
        c->state = S_SUBACK;
        c->t0 = now;
    } else {
        became_ready(t, c);
    }
}

static void on_suback(thr_t *t, conn_t *c, const uint8_t *p, uint32_t rl) {
    if (c->state != S_SUBACK || rl < 2) {
        t->errors++;
        return;
    }
    uint32_t pos = 2;
    if (cfg.v5) {
        uint32_t pl;
        int n = dec_varint(p + pos, rl - pos, &pl);
        if (!n) {
            t->errors++;
            return;
        }
        pos += n + pl;
    }
    int bad = 0;
    for (; pos < rl; pos++)
        if (p[pos] >= 0x80) bad++;
    if (bad) {
        t->sub_fail++;
        if (cfg.verbose) fprintf(stderr, "mqload: SUBACK with %d failed filters on s%d\n", bad, c->idx);
    }
    if (--c->subacks_pending <= 0) became_ready(t, c);
}

static void pub_release(thr_t *t, conn_t *c, uint16_t pid, int expect_state) {
    int slot = (int)pid - 1;
    if (c->role != R_PUB || !c->slotst || slot < 0 || slot >= c->window || c->slotst[slot] != expect_state) {
        t->errors++;
        return;
    }
    c->slotst[slot] = 0;
    c->freeslots[c->nfree++] = (uint16_t)slot;
    c->inflight--;
    atomic_store_explicit(&c->ps->inflight, c->inflight, memory_order_relaxed);
}

static void handle_packet(thr_t *t, conn_t *c, uint8_t h, const uint8_t *p, uint32_t rl, int64_t now) {
    if (c->state == S_CLOSING) return;
    uint8_t type = h >> 4;
    uint16_t pid = rl >= 2 ? (uint16_t)((p[0] << 8) | p[1]) : 0;
    switch (type) {
    case 3: on_publish(t, c, h, p, rl, now); break;
    case 2: on_connack(t, c, p, rl, now); break;
    case 9: on_suback(t, c, p, rl); break;
    case 4: /* PUBACK */
        if (cfg.qos != 1) {
            t->errors++;
            break;
        }
        if (rl > 2 && p[2] >= 0x80) t->pub_rejected++;
        pub_release(t, c, pid, 1);
        break;
    case 5: /* PUBREC */
        if (cfg.qos != 2) {
            t->errors++;
            break;
        }
        if (rl > 2 && p[2] >= 0x80) {
            t->pub_rejected++;
            pub_release(t, c, pid, 1);
            break;
        }
        {
            int slot = (int)pid - 1;
            if (c->role != R_PUB || !c->slotst || slot < 0 || slot >= c->window || c->slotst[slot] != 1) {
                t->errors++;
                break;
            }
            c->slotst[slot] = 2;
            ob_ack(c, 0x62, pid);
        }
        break;
    case 6: /* PUBREL (we are receiver of a QoS2 message) */
        ob_ack(c, 0x70, pid);
        break;
    case 7: /* PUBCOMP */ pub_release(t, c, pid, 2); break;
    case 11: /* UNSUBACK */
    case 13: /* PINGRESP */ break;
    case 14: /* DISCONNECT from server */
        t->errors++;
        if (cfg.verbose) fprintf(stderr, "mqload: server DISCONNECT reason 0x%02x\n", rl ? p[0] : 0);
        break;
    default: t->errors++; break;
    }
}

/* parse complete packets in buf[0..have); returns bytes consumed; *need = size of next incomplete packet if known */
static uint32_t parse_buf(thr_t *t, conn_t *c, const uint8_t *buf, uint32_t have, int64_t now, uint32_t *need) {
    uint32_t off = 0;
    *need = 0;
    while (have - off >= 2) {
        uint32_t rl;
        int n = dec_varint(buf + off + 1, have - off - 1, &rl);
        if (!n) {
            if (have - off - 1 >= 4) { /* malformed */
                t->errors++;
                conn_lost(t, c, "malformed");
                return have;
            }
            break;
        }
        uint32_t tot = 1 + n + rl;
        if (have - off < tot) {
            *need = tot;
            break;
        }
        handle_packet(t, c, buf[off], buf + off + 1 + n, rl, now);
        if (c->state == S_CLOSED) return have;
        off += tot;
    }
    return off;
}

static void do_read(thr_t *t, conn_t *c) {
    for (;;) {
        uint8_t *buf;
        uint32_t have, cap;
        if (c->ilen) {
            if (c->icap - c->ilen < 16384) {
                c->icap = c->icap * 2 > c->ilen + 16384 ? c->icap * 2 : c->ilen + 16384;
                c->ib = xrealloc(c->ib, c->icap);
            }
            buf = c->ib;
            have = c->ilen;
            cap = c->icap;
        } else {
            buf = t->scratch;
            have = 0;
            cap = SCRATCH;
        }
        uint32_t want = cap - have;
        ssize_t n = recv(c->fd, buf + have, want, MSG_DONTWAIT);
        t->nrecv++;
        if (n == 0) {
            conn_lost(t, c, "eof");
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            conn_lost(t, c, "read");
            return;
        }
        if (cfg.quickack) {
            int one = 1;
            setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        }
        int64_t now = now_ns();
        have += (uint32_t)n;
        uint32_t need;
        uint32_t used = parse_buf(t, c, buf, have, now, &need);
        if (c->state == S_CLOSED) return;
        uint32_t rest = have - used;
        if (rest) {
            uint32_t sz = need > rest ? need : rest;
            if (buf == c->ib) {
                memmove(c->ib, c->ib + used, rest);
            } else {
                if (c->icap < sz + 16384) {
                    c->icap = sz + 16384;
                    c->ib = xrealloc(c->ib, c->icap);
                }
                memcpy(c->ib, buf + used, rest);
            }
            if (need > c->icap) {
                c->icap = need + 16384;
                c->ib = xrealloc(c->ib, c->icap);
            }
        }
        c->ilen = rest;
        if ((uint32_t)n < want) break; /* drained; edge-triggered epoll reports new data */
    }
    if (c->olen > c->ooff && !c->wblocked) do_write(t, c);
}

/* ---- connect ---- */
static void start_connect(thr_t *t, conn_t *c, int64_t now) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        t->connect_fail++;
        c->state = S_CLOSED;
        atomic_fetch_add(&g_resolved, 1);
        if (cfg.verbose) perror("mqload: socket");
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    c->t0 = now;
    if (!t->first_connect) t->first_connect = now;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP, .data.ptr = c};
    if (epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
    t->pending++;
    int r = connect(fd, (struct sockaddr *)&g_addr, sizeof g_addr);
    if (r == 0) {
        c->state = S_CONNACK;
        send_connect(c);
        do_write(t, c);
    } else if (errno == EINPROGRESS) {
        c->state = S_TCP;
    } else {
        c->state = S_TCP;
        conn_lost(t, c, "connect");
    }
}

static void start_connects(thr_t *t, int64_t now) {
    int per = cfg.conn_window / cfg.threads;
    if (per < 1) per = 1;
    while (t->pending < per && t->next_connect < t->nconns) start_connect(t, t->conns[t->next_connect++], now);
}

static void on_event(thr_t *t, conn_t *c, uint32_t ev) {
    if (c->state == S_CLOSED) return;
    if (c->state == S_TCP) {
        if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            errno = err;
            conn_lost(t, c, "connect");
            return;
        }
        c->state = S_CONNACK;
        send_connect(c);
        do_write(t, c);
        if (c->state == S_CLOSED) return;
    }
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) do_read(t, c);
    if (c->state != S_CLOSED && (ev & EPOLLOUT)) {
        c->wblocked = 0;
        if (c->olen > c->ooff) do_write(t, c);
    }
}

/* ---- publishing ---- */
static int pump(thr_t *t, conn_t *c, int64_t now) {
    if (c->state != S_READY || c->done_sending) return 0;
    if (now >= g_t_end) {
        finish_pub(c);
        return 0;
    }
    if (!c->started_meas && now >= g_t_start) {
        c->seq_start = c->seq;
        c->started_meas = 1;
    }
    uint64_t n = 256, minb = 1;
    if (cfg.rate > 0) {
        if (!c->last_tok) {
            c->last_tok = g_t_run;
            c->tokens = (double)c->idx / (double)g_npub; /* stagger publishers' phases */
        }
        c->tokens += (double)(now - c->last_tok) * 1e-9 * g_pub_rate;
        c->last_tok = now;
        if (c->tokens > g_burst) c->tokens = g_burst;
        if (c->tokens < 1.0) return 0;
        if ((uint64_t)c->tokens < n) n = (uint64_t)c->tokens;
    }
    if (cfg.qos) {
        int room = c->window - c->inflight;
        if (room <= 0) return 0;
        if ((uint64_t)room < n) n = (uint64_t)room;
        if (cfg.rate <= 0) minb = (uint64_t)(cfg.batch < c->window ? cfg.batch : c->window);
    }
    if (cfg.e2e > 0 && c->ps->fanout) {
        uint64_t del = atomic_load_explicit(&c->ps->delivered, memory_order_relaxed) / c->ps->fanout;
        /* messages older than e2e_timeout are considered delivered-or-lost (QoS0 loss must not stall the window) */
        if (c->ckpos >= (uint32_t)g_loss_ticks) {
            uint64_t fl = c->ck[(c->ckpos - g_loss_ticks) % CKPTS];
            if (fl > del) del = fl;
        }
        uint64_t out = c->seq > del ? c->seq - del : 0;
        if (out >= (uint64_t)cfg.e2e) {
            t->e2e_blocked++;
            return 0;
        }
        if ((uint64_t)cfg.e2e - out < n) n = (uint64_t)cfg.e2e - out;
        if (cfg.rate <= 0) {
            uint64_t b = (uint64_t)(cfg.batch < cfg.e2e ? cfg.batch : cfg.e2e);
            if (b > minb) minb = b;
        }
    }
    if (n < minb) return 0; /* window-limited: wait until a batch fits (fewer, fuller writes) */
    uint32_t pend = c->olen - c->ooff;
    if (pend >= OB_HIGH) return 0;
    uint64_t room = (OB_HIGH - pend) / c->tlen;
    if (room < 1) room = 1;
    if (room < n) n = room;
    if (n == 256) t->more = 1; /* batch-limited, not window-limited: come back without sleeping */
    ob_reserve(c, (uint32_t)(n * c->tlen));
    uint8_t *p = c->ob + c->olen;
    uint64_t ts = (uint64_t)now;
    for (uint64_t i = 0; i < n; i++) {
        memcpy(p, c->tmpl, c->tlen);
        if (cfg.qos) {
            uint16_t slot = c->freeslots[--c->nfree];
            c->slotst[slot] = 1;
            uint16_t pid = (uint16_t)(slot + 1);
            p[c->pid_off] = (uint8_t)(pid >> 8);
            p[c->pid_off + 1] = (uint8_t)pid;
        }
        memcpy(p + c->pl_off + 8, &c->seq, 8);
        memcpy(p + c->pl_off + 16, &ts, 8);
        c->seq++;
        p += c->tlen;
    }
    c->olen += (uint32_t)(n * c->tlen);
    if (cfg.qos) {
        c->inflight += (int)n;
        atomic_store_explicit(&c->ps->inflight, c->inflight, memory_order_relaxed);
    }
    if (cfg.rate > 0) c->tokens -= (double)n;
    atomic_store_explicit(&c->ps->seq, c->seq, memory_order_relaxed);
    if (!c->wblocked) do_write(t, c);
    return (int)n;
}

static int pump_all(thr_t *t) {
    int s = 0;
    t->more = 0;
    int64_t now = now_ns();
    for (int i = 0; i < t->npubs; i++) {
        int n = pump(t, t->pubs[i], now);
        if (n) { /* a write happened: refresh the send timestamp for the next publisher */
            s += n;
            now = now_ns();
        }
    }
    return s;
}

static void flush_deltas(thr_t *t) {
    if (!t->ndirty) return;
    for (int k = 0; k < t->ndirty; k++) {
        int i = t->dirty[k];
        atomic_fetch_add(&g_ps[i].delivered, t->delta[i]);
        t->delta[i] = 0;
        if (g_ps[i].th != t->id) t->wake[g_ps[i].th] = 1;
    }
    t->ndirty = 0;
    for (int j = 0; j < cfg.threads; j++) {
        if (!t->wake[j]) continue;
        t->wake[j] = 0;
        if (atomic_load(&g_thr[j].sleeping)) {
            uint64_t one = 1;
            if (write(g_thr[j].efd, &one, 8) < 0) { /* eventfd saturated: fine */
            }
        }
    }
}

static void housekeeping(thr_t *t, int64_t now, int ph) {
    for (int i = 0; i < t->nconns; i++) {
        conn_t *c = t->conns[i];
        if ((c->state == S_TCP || c->state == S_CONNACK || c->state == S_SUBACK) &&
            now - c->t0 > (int64_t)(cfg.conn_timeout * 1e9)) {
            errno = ETIMEDOUT;
            conn_lost(t, c, "setup timeout");
        }
    }
    if (cfg.keepalive > 0 && now - t->last_ping > (int64_t)cfg.keepalive * 500000000LL) {
        t->last_ping = now;
        static const uint8_t ping[2] = {0xC0, 0};
        for (int i = 0; i < t->nconns; i++) {
            conn_t *c = t->conns[i];
            if (c->state == S_READY || c->state == S_SUBACK) {
                ob_put(c, ping, 2);
                if (!c->wblocked) do_write(t, c);
            }
        }
    }
    if (ph == PH_RUN)
        for (int i = 0; i < t->npubs; i++) {
            conn_t *c = t->pubs[i];
            c->ck[c->ckpos % CKPTS] = c->seq;
            c->ckpos++;
        }
}

static void begin_close(thr_t *t, int64_t now) {
    static const uint8_t disc[2] = {0xE0, 0};
    t->closing_started = 1;
    t->close_deadline = now + 1000000000LL;
    for (int i = 0; i < t->nconns; i++) {
        conn_t *c = t->conns[i];
        if (c->state == S_CLOSED || c->state == S_IDLE) continue;
        if (c->state == S_TCP) {
            conn_close_fd(c);
            continue;
        }
        if (c->role == R_PUB) finish_pub(c);
        c->olen = c->ooff = 0; /* drop anything unsent */
        c->wblocked = 0;
        ob_put(c, disc, 2);
        c->state = S_CLOSING;
        t->nclosing++;
        do_write(t, c); /* the broker closes after DISCONNECT; we close on EOF */
    }
}

static void *thread_main(void *arg) {
    thr_t *t = arg;
    struct epoll_event evs[MAXEV];
    t->next_tick = now_ns() + TICK_NS;
    t->last_ping = now_ns();
    for (;;) {
        int ph = atomic_load_explicit(&g_phase, memory_order_acquire);
        int64_t now = now_ns();
        int timeout = 100;
        if (ph == PH_DONE) {
            if (!t->closing_started) begin_close(t, now);
            if (t->nclosing <= 0 || now > t->close_deadline) break;
            timeout = 10;
        } else {
            start_connects(t, now);
            if (t->pending > 0) timeout = 5;
        }
        atomic_store(&t->sleeping, 1);
        if (ph == PH_RUN || ph == PH_DRAIN) {
            pump_all(t);
            if (t->more) timeout = 0;
            else if (ph == PH_RUN && cfg.rate > 0) timeout = 1;
        }
        t->loops++;
        int n = epoll_wait(t->ep, evs, MAXEV, timeout);
        atomic_store(&t->sleeping, 0);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (!c) {
                uint64_t v;
                if (read(t->efd, &v, 8) < 0) { /* spurious */
                }
                continue;
            }
            on_event(t, c, evs[i].events);
        }
        flush_deltas(t);
        now = now_ns();
        if (now >= t->next_tick) {
            t->next_tick = now + TICK_NS;
            housekeeping(t, now, ph);
        }
    }
    for (int i = 0; i < t->nconns; i++)
        if (t->conns[i]->state != S_CLOSED && t->conns[i]->fd >= 0) conn_close_fd(t->conns[i]);
    return NULL;
}

/* ---- setup / main ---- */
static void thr_add(thr_t *t, conn_t *c) {
    if (t->nconns == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->conns = xrealloc(t->conns, t->cap * sizeof(conn_t *));
    }
    t->conns[t->nconns++] = c;
    if (c->role == R_PUB) {
        if (t->npubs == t->pcap) {
            t->pcap = t->pcap ? t->pcap * 2 : 64;
            t->pubs = xrealloc(t->pubs, t->pcap * sizeof(conn_t *));
        }
        t->pubs[t->npubs++] = c;
    }
}

static void wake_all(void) {
    uint64_t one = 1;
    for (int j = 0; j < cfg.threads; j++)
        if (write(g_thr[j].efd, &one, 8) < 0) {
        }
}

static void sleep_until(int64_t t) {
    for (;;) {
        int64_t n = now_ns();
        if (n >= t || atomic_load(&g_stop)) return;
        int64_t d = t - n;
        if (d > 50000000LL) d = 50000000LL;
        struct timespec ts = {d / 1000000000LL, d % 1000000000LL};
        nanosleep(&ts, NULL);
    }
}

/* CPU seconds (utime+stime) summed over the comma-separated --watch-pid list; -1 if none readable */
static double watch_cpu_s(void) {
    if (!cfg.watch[0]) return -1;
    char list[512];
    snprintf(list, sizeof list, "%s", cfg.watch);
    double tot = 0;
    int ok = 0;
    long tck = sysconf(_SC_CLK_TCK);
    for (char *sv = NULL, *tok = strtok_r(list, ",", &sv); tok; tok = strtok_r(NULL, ",", &sv)) {
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", atoi(tok));
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        char *p = strrchr(buf, ')');
        if (!p) continue;
        unsigned long long ut = 0, st = 0;
        /* after ") ": state(3) ... utime(14) stime(15) */
        if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2) {
            tot += (double)(ut + st) / (double)tck;
            ok = 1;
        }
    }
    return ok ? tot : -1;
}

static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static void on_sig(int s) {
    (void)s;
    atomic_store(&g_stop, 1);
}

static uint64_t popcount_range(const uint64_t *w, uint64_t nwords, uint64_t a, uint64_t b) {
    /* bits set in [a, b) */
    uint64_t cnt = 0;
    if (b > nwords * 64) b = nwords * 64;
    if (a >= b) return 0;
    uint64_t wa = a >> 6, wb = (b - 1) >> 6;
    for (uint64_t i = wa; i <= wb; i++) {
        uint64_t x = w[i];
        if (i == wa) x &= ~0ULL << (a & 63);
        if (i == wb && (b & 63)) x &= (1ULL << (b & 63)) - 1;
        cnt += (uint64_t)__builtin_popcountll(x);
    }
    return cnt;
}

static void usage(void) {
    fprintf(stderr,
            "usage: mqload [options]\n"
            "  --host H            broker address (default 127.0.0.1)\n"
            "  --port P            broker port (default 1883)\n"
            "  --mode M            pairs|fanin|fanout|shared|conn (default pairs)\n"
            "  --pubs N --subs N   publisher / subscriber connections\n"
            "  --topics N          topics (default: pubs); fanout forces topics=pubs\n"
            "  --qos 0|1|2         publish QoS and subscription max QoS\n"
            "  --sub-qos 0|1|2     subscription QoS if different\n"
            "  --size BYTES        payload size (>= %d, carries seq + timestamp)\n"
            "  --rate MSGS/S       total target publish rate; 0 = as fast as the windows allow\n"
            "  --inflight W        unacked QoS1/2 PUBLISH per publisher (default 16)\n"
            "  --e2e-window E      max messages per publisher not yet received by all its\n"
            "                      subscribers (0 = off). Default: ~%d deliveries in flight in\n"
            "                      total, 2..100 per publisher. Bounds broker queues.\n"
            "  --batch N           with --rate 0, a window-limited publisher waits until N\n"
            "                      messages fit before writing (default 1)\n"
            "  --duration S        measurement window (default 10)\n"
            "  --warmup S          warmup before window (default 2)\n"
            "  --drain S           max wait for in-flight after window (default 5)\n"
            "  --wildcard-subs N   extra non-matching +/# filters per subscriber\n"
            "  --conns N           connections for --mode conn (default pubs+subs)\n"
            "  --conn-window N     concurrent connection handshakes (default 64)\n"
            "  --threads T         generator threads (default 1)\n"
            "  --keepalive S       MQTT keepalive (default 60)\n"
            "  --v5                MQTT 5.0 (default 3.1.1); implied by --mode shared\n"
            "  --prefix STR        topic prefix (default mqload)\n"
            "  --setup-timeout S   (default 60)   --conn-timeout S (default 15)\n"
            "  --watch-pid P[,P..] report CPU%% these processes (the broker) used in the window\n"
            "  --e2e-timeout S     messages older than S count as delivered-or-lost for the\n"
            "                      e2e window (default 2; keeps QoS0 loss from stalling it)\n"
            "  --quickack          set TCP_QUICKACK after every read (experiment; default off)\n"
            "  -v                  verbose diagnostics on stderr\n",
            HDR_BYTES, E2E_BUDGET);
    exit(2);
}

int main(int argc, char **argv) {
    snprintf(cfg.host, sizeof cfg.host, "127.0.0.1");
    snprintf(cfg.prefix, sizeof cfg.prefix, "mqload");
    cfg.port = 1883;
    cfg.pubs = 1;
    cfg.subs = 1;
    cfg.topics = 0;
    cfg.qos = 0;
    cfg.subqos = -1;
    cfg.size = 64;
    cfg.rate = 0;
    cfg.duration = 10;
    cfg.warmup = 2;
    cfg.drain = 5;
    cfg.mode = M_PAIRS;
    cfg.threads = 1;
    cfg.inflight = 16;
    cfg.e2e = -1; /* auto: see below */
    cfg.batch = 1;
    cfg.keepalive = 60;
    cfg.conns = -1;
    cfg.conn_window = 64;
    cfg.setup_timeout = 60;
    cfg.conn_timeout = 15;
    cfg.e2e_timeout = 2;
    static struct option lo[] = {
        {"host", 1, 0, 'H'},        {"port", 1, 0, 'p'},      {"pubs", 1, 0, 'P'},         {"subs", 1, 0, 'S'},
        {"topics", 1, 0, 't'},      {"qos", 1, 0, 'q'},       {"sub-qos", 1, 0, 'Q'},      {"size", 1, 0, 's'},
        {"rate", 1, 0, 'r'},        {"duration", 1, 0, 'd'},  {"warmup", 1, 0, 'w'},       {"drain", 1, 0, 'D'},
        {"mode", 1, 0, 'm'},        {"wildcard-subs", 1, 0, 'W'}, {"threads", 1, 0, 'T'},  {"v5", 0, 0, '5'},
        {"inflight", 1, 0, 'i'},    {"e2e-window", 1, 0, 'e'}, {"keepalive", 1, 0, 'k'},   {"conns", 1, 0, 'c'},
        {"conn-window", 1, 0, 'C'}, {"prefix", 1, 0, 'x'},    {"setup-timeout", 1, 0, 'u'}, {"conn-timeout", 1, 0, 'U'},
        {"e2e-timeout", 1, 0, 'E'}, {"watch-pid", 1, 0, 'Z'}, {"batch", 1, 0, 'B'}, {"quickack", 0, 0, 'K'}, {"help", 0, 0, 'h'},      {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
        switch (o) {
        case 'H': snprintf(cfg.host, sizeof cfg.host, "%s", optarg); break;
        case 'p': cfg.port = atoi(optarg); break;
        case 'P': cfg.pubs = atoi(optarg); break;
        case 'S': cfg.subs = atoi(optarg); break;
        case 't': cfg.topics = atoi(optarg); break;
        case 'q': cfg.qos = atoi(optarg); break;
        case 'Q': cfg.subqos = atoi(optarg); break;
        case 's': cfg.size = atoi(optarg); break;
        case 'r': cfg.rate = atof(optarg); break;
        case 'd': cfg.duration = atof(optarg); break;
        case 'w': cfg.warmup = atof(optarg); break;
        case 'D': cfg.drain = atof(optarg); break;
        case 'W': cfg.wild = atoi(optarg); break;
        case 'T': cfg.threads = atoi(optarg); break;
        case '5': cfg.v5 = 1; break;
        case 'i': cfg.inflight = atoi(optarg); break;
        case 'e': cfg.e2e = atoi(optarg); break;
        case 'k': cfg.keepalive = atoi(optarg); break;
        case 'c': cfg.conns = atoi(optarg); break;
        case 'C': cfg.conn_window = atoi(optarg); break;
        case 'x': snprintf(cfg.prefix, sizeof cfg.prefix, "%s", optarg); break;
        case 'u': cfg.setup_timeout = atof(optarg); break;
        case 'U': cfg.conn_timeout = atof(optarg); break;
        case 'E': cfg.e2e_timeout = atof(optarg); break;
        case 'v': cfg.verbose = 1; break;
        case 'K': cfg.quickack = 1; break;
        case 'B': cfg.batch = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
        case 'Z': snprintf(cfg.watch, sizeof cfg.watch, "%s", optarg); break;
        case 'm': {
            int f = -1;
            for (int k = 0; k < 5; k++)
                if (!strcmp(optarg, mode_names[k])) f = k;
            if (f < 0) usage();
            cfg.mode = f;
            break;
        }
        default: usage();
        }
    }
    if (optind < argc) usage();
    if (cfg.qos < 0 || cfg.qos > 2) die("--qos must be 0..2");
    if (cfg.subqos < 0) cfg.subqos = cfg.qos;
    if (cfg.subqos > 2) die("--sub-qos must be 0..2");
    if (cfg.threads < 1 || cfg.threads > 64) die("--threads must be 1..64");
    if (cfg.size < HDR_BYTES) {
        fprintf(stderr, "mqload: --size raised to %d (timestamp header)\n", HDR_BYTES);
        cfg.size = HDR_BYTES;
    }
    if (cfg.size > 16 * 1024 * 1024) die("--size too large");
    if (cfg.duration <= 0 || cfg.duration > 3600) die("--duration must be in (0, 3600]");
    if (cfg.warmup < 0 || cfg.warmup > 600) die("--warmup must be in [0, 600]");
    if (cfg.drain < 0 || cfg.drain > 600) die("--drain must be in [0, 600]");
    if (cfg.inflight < 1) cfg.inflight = 1;
    if (cfg.inflight > 65535) cfg.inflight = 65535;
    if (cfg.pubs < 0 || cfg.subs < 0 || cfg.wild < 0) die("negative count");
    if (cfg.mode == M_SHARED && !cfg.v5) {
        fprintf(stderr, "mqload: --mode shared uses MQTT 5.0 ($share), enabling --v5\n");
        cfg.v5 = 1;
    }
    if (cfg.mode == M_CONN) {
        if (cfg.conns < 0) cfg.conns = cfg.pubs + cfg.subs;
        cfg.pubs = cfg.subs = 0;
    } else {
        cfg.conns = 0;
        if (cfg.topics <= 0 || cfg.mode == M_FANOUT || cfg.mode == M_PAIRS) cfg.topics = cfg.pubs > 0 ? cfg.pubs : 1;
    }
    g_pid = (int)getpid();
    g_loss_ticks = (int)(cfg.e2e_timeout * 10);
    if (g_loss_ticks < 1) g_loss_ticks = 1;
    if (g_loss_ticks > CKPTS - 1) g_loss_ticks = CKPTS - 1;

    memset(&g_addr, 0, sizeof g_addr);
    g_addr.sin_family = AF_INET;
    g_addr.sin_port = htons((uint16_t)cfg.port);
    if (inet_pton(AF_INET, cfg.host, &g_addr.sin_addr) != 1) {
        struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
        if (getaddrinfo(cfg.host, NULL, &hints, &res) != 0) die("cannot resolve host");
        g_addr.sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
        freeaddrinfo(res);
    }

    g_npub = cfg.pubs;
    g_nsub = cfg.subs;
    g_nconn = cfg.conns;
    g_total = g_npub + g_nsub + g_nconn;
    if (g_total == 0) die("nothing to do (no connections)");

    /* file descriptors */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rlim_t need = (rlim_t)g_total + 64 + 2 * cfg.threads;
    if (rl.rlim_cur < need) {
        if (rl.rlim_max < need) rl.rlim_max = need; /* works as root */
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            getrlimit(RLIMIT_NOFILE, &rl);
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
            fprintf(stderr, "mqload: warning: RLIMIT_NOFILE %llu < %llu needed (raise ulimit -n)\n",
                    (unsigned long long)rl.rlim_cur, (unsigned long long)need);
        }
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_sig);
    signal(SIGTERM, on_sig);

    g_ps = aligned_alloc(64, sizeof(pubsh_t) * (g_npub ? g_npub : 1));
    if (!g_ps) die("oom");
    memset(g_ps, 0, sizeof(pubsh_t) * (g_npub ? g_npub : 1));
    g_pub = xcalloc(g_npub, sizeof(conn_t));
    g_sub = xcalloc(g_nsub, sizeof(conn_t));
    g_conn = xcalloc(g_nconn, sizeof(conn_t));
    g_thr = xcalloc(cfg.threads, sizeof(thr_t));
    for (int j = 0; j < cfg.threads; j++) {
        thr_t *t = &g_thr[j];
        t->id = j;
        t->ep = epoll_create1(EPOLL_CLOEXEC);
        t->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (t->ep < 0 || t->efd < 0) die("epoll/eventfd");
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        epoll_ctl(t->ep, EPOLL_CTL_ADD, t->efd, &ev);
        t->scratch = xcalloc(1, SCRATCH);
        t->delta = xcalloc(g_npub, sizeof(uint64_t));
        t->dirty = xcalloc(g_npub, sizeof(int));
        t->wake = xcalloc(cfg.threads, 1);
    }
    /* subscribers first (they connect and subscribe before publishers start) */
    for (int i = 0; i < g_nsub; i++) {
        conn_t *c = &g_sub[i];
        c->role = R_SUB;
        c->idx = i;
        c->fd = -1;
        c->th = i % cfg.threads;
        if (cfg.mode == M_PAIRS) {
            c->tr_base = i;
            c->tr_n = i < g_npub ? 1 : 0;
        } else {
            c->tr_base = 0;
            c->tr_n = g_npub;
        }
        c->tr = xcalloc(c->tr_n, sizeof(track_t));
        thr_add(&g_thr[c->th], c);
    }
    for (int i = 0; i < g_npub; i++) {
        conn_t *c = &g_pub[i];
        c->role = R_PUB;
        c->idx = i;
        c->fd = -1;
        c->th = i % cfg.threads;
        c->ps = &g_ps[i];
        c->ps->th = c->th;
        switch (cfg.mode) {
        case M_PAIRS: c->ps->fanout = i < g_nsub ? 1 : 0; break;
        case M_FANIN:
        case M_FANOUT: c->ps->fanout = (uint64_t)g_nsub; break;
        case M_SHARED: c->ps->fanout = g_nsub ? 1 : 0; break;
        }
        build_template(c);
        if (cfg.qos) pub_init_window(c, cfg.inflight);
        thr_add(&g_thr[c->th], c);
    }
    for (int i = 0; i < g_nconn; i++) {
        conn_t *c = &g_conn[i];
        c->role = R_CONN;
        c->idx = i;
        c->fd = -1;
        c->th = i % cfg.threads;
        thr_add(&g_thr[c->th], c);
    }
    if (cfg.e2e < 0) {
        /* default end-to-end window: about E2E_BUDGET deliveries in flight in total, at least 2 and at
         * most 100 messages per publisher (closed loop: latency at saturation ~ budget / throughput) */
        uint64_t fo = 0;
        for (int i = 0; i < g_npub; i++) fo += g_ps[i].fanout;
        uint64_t e = fo ? (E2E_BUDGET + fo - 1) / fo : 1000;
        if (e < 2) e = 2;
        if (e > 100) e = 100;
        cfg.e2e = (int)e;
    }
    g_pub_rate = cfg.rate > 0 && g_npub ? cfg.rate / g_npub : 0;
    g_burst = g_pub_rate * 0.01; /* at most 10 ms of catch-up; beyond that the target rate is missed (see pub_rate) */
    if (g_burst < 2.0) g_burst = 2.0;
    g_t_start = g_t_end = INT64_MAX;

    int64_t t_setup0 = now_ns();
    double cpu0 = cpu_s();
    for (int j = 0; j < cfg.threads; j++)
        if (pthread_create(&g_thr[j].th, NULL, thread_main, &g_thr[j])) die("pthread_create");

    /* setup barrier */
    int64_t setup_deadline = t_setup0 + (int64_t)(cfg.setup_timeout * 1e9);
    while (atomic_load(&g_resolved) < g_total && now_ns() < setup_deadline && !atomic_load(&g_stop)) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    int64_t t_setup1 = now_ns();
    int resolved = atomic_load(&g_resolved);
    if (resolved < g_total) fprintf(stderr, "mqload: setup timeout: %d of %d connections resolved\n", resolved, g_total);
    if (cfg.verbose) fprintf(stderr, "mqload: setup %.3f s\n", (t_setup1 - t_setup0) / 1e9);

    double cpu_a, cpu_b, wcpu_a, wcpu_b;
    int64_t t_drain_end;
    int drained = 1;
    g_t_run = now_ns();
    if (cfg.mode == M_CONN) {
        g_t_start = g_t_run;
        g_t_end = g_t_start + (int64_t)(cfg.duration * 1e9);
        atomic_store_explicit(&g_phase, PH_RUN, memory_order_release);
        cpu_a = cpu_s();
        wcpu_a = watch_cpu_s();
        sleep_until(g_t_end);
        cpu_b = cpu_s();
        wcpu_b = watch_cpu_s();
        t_drain_end = now_ns();
    } else {
        g_t_start = g_t_run + (int64_t)(cfg.warmup * 1e9);
        g_t_end = g_t_start + (int64_t)(cfg.duration * 1e9);
        atomic_store_explicit(&g_phase, PH_RUN, memory_order_release);
        wake_all();
        sleep_until(g_t_start);
        cpu_a = cpu_s();
        wcpu_a = watch_cpu_s();
        if (cfg.verbose) { /* per-second progress on stderr */
            uint64_t prev = 0;
            for (int j = 0; j < cfg.threads; j++) prev += __atomic_load_n(&g_thr[j].recv_total, __ATOMIC_RELAXED);
            for (int64_t tt = g_t_start + 1000000000LL; tt <= g_t_end; tt += 1000000000LL) {
                sleep_until(tt);
                uint64_t r = 0;
                for (int j = 0; j < cfg.threads; j++) r += __atomic_load_n(&g_thr[j].recv_total, __ATOMIC_RELAXED);
                fprintf(stderr, "mqload: t=%.0fs recv/s=%llu\n", (tt - g_t_start) / 1e9, (unsigned long long)(r - prev));
                prev = r;
            }
        }
        sleep_until(g_t_end);
        cpu_b = cpu_s();
        wcpu_b = watch_cpu_s();
        atomic_store_explicit(&g_phase, PH_DRAIN, memory_order_release);
        wake_all();
        /* drain: wait until every sent message reached all its subscribers and all acks are in,
         * or no progress for 1 s, or --drain seconds */
        int64_t dl = now_ns() + (int64_t)(cfg.drain * 1e9), last_prog = now_ns();
        drained = 0;
        uint64_t last_del = UINT64_MAX;
        while (!atomic_load(&g_stop)) {
            uint64_t exp = 0, del = 0;
            int64_t infl = 0;
            for (int i = 0; i < g_npub; i++) {
                exp += atomic_load_explicit(&g_ps[i].seq, memory_order_relaxed) * g_ps[i].fanout;
                del += atomic_load_explicit(&g_ps[i].delivered, memory_order_relaxed);
                infl += atomic_load_explicit(&g_ps[i].inflight, memory_order_relaxed);
            }
            int64_t n = now_ns();
            if (del >= exp && infl == 0 && n > g_t_end + 20000000LL) {
                drained = 1;
                break;
            }
            if (del != last_del) {
                last_del = del;
                last_prog = n;
            }
            if (n - last_prog > 1000000000LL || n >= dl) break;
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
        }
        t_drain_end = now_ns();
    }
    atomic_store_explicit(&g_phase, PH_DONE, memory_order_release);
    wake_all();
    for (int j = 0; j < cfg.threads; j++) pthread_join(g_thr[j].th, NULL);
    double cpu_end = cpu_s();

    /* ---- aggregate ---- */
    static uint64_t hist[NBUCKETS];
    uint64_t lat_n = 0, lat_max = 0, recv_window = 0, recv_total = 0, errors = 0, disconnects = 0, sub_fail = 0;
    uint64_t connect_fail = 0, connect_ok = 0, pub_rejected = 0, foreign = 0, unexpected = 0, dupflag = 0, e2e_blocked = 0, loops = 0, nsend = 0, nrecv = 0;
    double lat_sum = 0;
    int64_t first_connect = INT64_MAX, last_connack = 0;
    for (int j = 0; j < cfg.threads; j++) {
        thr_t *t = &g_thr[j];
        for (int b = 0; b < NBUCKETS; b++) hist[b] += t->hist[b];
        lat_n += t->lat_n;
        lat_sum += t->lat_sum;
        if (t->lat_max > lat_max) lat_max = t->lat_max;
        recv_window += t->recv_window;
        recv_total += t->recv_total;
        errors += t->errors;
        disconnects += t->disconnects;
        sub_fail += t->sub_fail;
        connect_fail += t->connect_fail;
        connect_ok += t->connect_ok;
        pub_rejected += t->pub_rejected;
        foreign += t->foreign;
        unexpected += t->unexpected;
        dupflag += t->recv_dupflag;
        e2e_blocked += t->e2e_blocked;
        loops += t->loops;
        nsend += t->nsend;
        nrecv += t->nrecv;
        if (t->first_connect && t->first_connect < first_connect) first_connect = t->first_connect;
        if (t->last_connack > last_connack) last_connack = t->last_connack;
    }
    uint64_t sent = 0, expected = 0, received = 0, dup = 0, sent_total = 0;
    for (int i = 0; i < g_npub; i++) {
        finish_pub(&g_pub[i]);
        uint64_t m = g_pub[i].seq_end - g_pub[i].seq_start;
        sent += m;
        sent_total += g_pub[i].seq;
        expected += m * g_ps[i].fanout;
    }
    if (cfg.mode != M_SHARED) {
        for (int s = 0; s < g_nsub; s++) {
            conn_t *c = &g_sub[s];
            for (int k = 0; k < c->tr_n; k++) {
                track_t *tr = &c->tr[k];
                conn_t *p = &g_pub[c->tr_base + k];
                received += popcount_range(tr->w, tr->nwords, p->seq_start, p->seq_end);
                dup += tr->dups;
            }
        }
    } else {
        /* a message must reach exactly one group member: union over subscribers, overlaps are duplicates */
        for (int i = 0; i < g_npub; i++) {
            conn_t *p = &g_pub[i];
            uint64_t nw = (p->seq + 63) / 64 + 1;
            uint64_t *u = xcalloc(nw, 8);
            uint64_t indiv = 0;
            for (int s = 0; s < g_nsub; s++) {
                track_t *tr = &g_sub[s].tr[i];
                dup += tr->dups;
                for (uint64_t w = 0; w < tr->nwords && w < nw; w++) {
                    indiv += (uint64_t)__builtin_popcountll(tr->w[w]);
                    u[w] |= tr->w[w];
                }
            }
            uint64_t uni = 0;
            for (uint64_t w = 0; w < nw; w++) uni += (uint64_t)__builtin_popcountll(u[w]);
            dup += indiv - uni;
            received += popcount_range(u, nw, p->seq_start, p->seq_end);
            free(u);
        }
    }
    int64_t lost = (int64_t)expected - (int64_t)received;
    if (lost < 0) lost = 0;
    double dur = cfg.duration;
    double connect_rate = 0;
    if (connect_ok && last_connack > first_connect) connect_rate = (double)connect_ok / ((last_connack - first_connect) / 1e9);
    double gen_cpu = cpu_b - cpu_a;
    uint64_t all_errors = errors + disconnects + sub_fail + connect_fail + pub_rejected + unexpected;
    printf("{\"mode\":\"%s\",\"qos\":%d,\"size\":%d,\"pubs\":%d,\"subs\":%d,\"conns\":%d,\"v5\":%s,"
           "\"rate_target\":%.0f,\"duration\":%.3f,\"threads\":%d,"
           "\"sent\":%llu,\"received\":%llu,\"expected\":%llu,\"lost\":%lld,\"dup\":%llu,"
           "\"pub_rate\":%.1f,\"recv_rate\":%.1f,"
           "\"lat_p50_us\":%.1f,\"lat_p99_us\":%.1f,\"lat_p999_us\":%.1f,\"lat_max_us\":%.1f,\"lat_mean_us\":%.1f,"
           "\"connect_rate\":%.1f,\"connected\":%llu,\"connect_fail\":%llu,\"errors\":%llu,"
           "\"disconnects\":%llu,\"sub_fail\":%llu,\"pub_rejected\":%llu,\"unexpected\":%llu,\"foreign\":%llu,"
           "\"dup_flag\":%llu,\"sent_total\":%llu,\"recv_total\":%llu,\"e2e_blocked\":%llu,\"gen_loops\":%llu,\"gen_sends\":%llu,\"gen_recvs\":%llu,"
           "\"setup_s\":%.3f,\"drain_s\":%.3f,\"gen_cpu_s\":%.3f,\"gen_cpu_pct\":%.1f,\"gen_cpu_total_s\":%.3f,\"broker_cpu_pct\":%.1f,\"drained\":%s,\"e2e_window\":%d,\"inflight\":%d}\n",
           mode_names[cfg.mode], cfg.qos, cfg.size, g_npub, g_nsub, g_nconn, cfg.v5 ? "true" : "false", cfg.rate, dur,
           cfg.threads, (unsigned long long)sent, (unsigned long long)received, (unsigned long long)expected,
           (long long)lost, (unsigned long long)dup, sent / dur, recv_window / dur, hpct(hist, lat_n, 0.50, lat_max) / 1e3,
           hpct(hist, lat_n, 0.99, lat_max) / 1e3, hpct(hist, lat_n, 0.999, lat_max) / 1e3, lat_max / 1e3,
           lat_n ? lat_sum / lat_n / 1e3 : 0.0, connect_rate, (unsigned long long)connect_ok,
           (unsigned long long)connect_fail, (unsigned long long)all_errors, (unsigned long long)disconnects,
           (unsigned long long)sub_fail, (unsigned long long)pub_rejected, (unsigned long long)unexpected,
           (unsigned long long)foreign, (unsigned long long)dupflag, (unsigned long long)sent_total,
           (unsigned long long)recv_total, (unsigned long long)e2e_blocked, (unsigned long long)loops, (unsigned long long)nsend, (unsigned long long)nrecv, (t_setup1 - t_setup0) / 1e9,
           cfg.mode == M_CONN ? 0.0 : (t_drain_end - g_t_end) / 1e9, gen_cpu, gen_cpu / dur * 100.0, cpu_end - cpu0,
           (wcpu_a >= 0 && wcpu_b >= 0) ? (wcpu_b - wcpu_a) / dur * 100.0 : -1.0, drained ? "true" : "false", cfg.e2e,
           cfg.inflight);
    fflush(stdout);
    return atomic_load(&g_stop) ? 130 : 0;
}
