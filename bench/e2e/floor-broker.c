/*
 * floor-broker: the floor a broker can reach on this machine, for bench:e2e (BROKERS=...,floor).
 *
 * One thread, one epoll loop, no allocation per message. It frames MQTT packets and forwards
 * QoS 0 PUBLISH packets, unchanged, to the connections subscribed to exactly that topic or to a
 * filter "prefix/#" (or "#"); a filter with "+" gets a SUBACK and matches nothing. Replies and forwarded packets are
 * appended to a per-connection buffer and written with one write() per connection per loop turn
 * (the batching a real broker can at best achieve). No sessions, no retained messages, no QoS 1
 * or 2, no keep-alive, no authentication: it is not a broker, it is the cost of the sockets and
 * the loop with almost nothing else, measured with the same load generator in the same run, so
 * that "how far from the floor" can be told apart from "how noisy is the host".
 *
 *   cc -O2 -o floor-broker floor-broker.c && ./floor-broker PORT   (listens on 127.0.0.1)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf_t;

struct topic;
typedef struct conn {
    int fd, v5, dirty, closed;
    buf_t in, out;
    struct topic **subs; /* topics this connection subscribed to */
    int nsubs, capsubs;
    struct conn *next_dirty, *next_dead;
} conn_t;

typedef struct topic {
    char *name;
    uint16_t len;
    conn_t **c;
    int n, cap;
    struct topic *next; /* hash chain */
} topic_t;

#define HASH_BITS 16
static topic_t *g_topics[1 << HASH_BITS];
/* "prefix/#" filters, matched by a scan (a benchmark has one or two); name = "prefix/" */
static topic_t **g_prefix;
static int g_nprefix;
static conn_t *g_dirty;
static conn_t *g_dead; /* closed this turn, freed at its end */
static int g_ep;

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n);
    if (!p) die("realloc");
    return p;
}

static void reserve(buf_t *b, size_t more) {
    if (b->len + more <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more) cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

static void emit(conn_t *c, const uint8_t *p, size_t n) {
    if (c->closed) return;
    reserve(&c->out, n);
    memcpy(c->out.p + c->out.len, p, n);
    c->out.len += n;
    if (!c->dirty) {
        c->dirty = 1;
        c->next_dirty = g_dirty;
        g_dirty = c;
    }
}

static uint32_t hash(const uint8_t *s, size_t n) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 16777619u;
    return h & ((1u << HASH_BITS) - 1);
}

static topic_t *new_topic(const uint8_t *name, uint16_t len) {
    topic_t *t = calloc(1, sizeof *t);
    if (!t) die("calloc");
    t->name = xrealloc(NULL, len ? len : 1);
    memcpy(t->name, name, len);
    t->len = len;
    return t;
}

static topic_t *find_prefix(const uint8_t *filter, uint16_t len) {
    uint16_t pl = (uint16_t)(len - 1); /* "a/b/#" -> "a/b/", "#" -> "" */
    for (int i = 0; i < g_nprefix; i++)
        if (g_prefix[i]->len == pl && memcmp(g_prefix[i]->name, filter, pl) == 0) return g_prefix[i];
    topic_t *t = new_topic(filter, pl);
    g_prefix = xrealloc(g_prefix, sizeof *g_prefix * (size_t)(g_nprefix + 1));
    g_prefix[g_nprefix++] = t;
    return t;
}

static topic_t *find_topic(const uint8_t *name, uint16_t len, int create) {
    topic_t **head = &g_topics[hash(name, len)];
    for (topic_t *t = *head; t; t = t->next)
        if (t->len == len && memcmp(t->name, name, len) == 0) return t;
    if (!create) return NULL;
    topic_t *t = new_topic(name, len);
    t->next = *head;
    *head = t;
    return t;
}

static void subscribe(conn_t *c, const uint8_t *filter, uint16_t len) {
    if (memchr(filter, '+', len)) return; /* granted, matches nothing */
    const uint8_t *hash_at = memchr(filter, '#', len);
    topic_t *t;
    if (!hash_at) t = find_topic(filter, len, 1);
    else if (hash_at == filter + len - 1 && (len == 1 || filter[len - 2] == '/')) t = find_prefix(filter, len);
    else return;
    for (int i = 0; i < t->n; i++)
        if (t->c[i] == c) return;
    if (t->n == t->cap) t->c = xrealloc(t->c, sizeof *t->c * (t->cap = t->cap ? t->cap * 2 : 4));
    t->c[t->n++] = c;
    if (c->nsubs == c->capsubs)
        c->subs = xrealloc(c->subs, sizeof *c->subs * (c->capsubs = c->capsubs ? c->capsubs * 2 : 4));
    c->subs[c->nsubs++] = t;
}

static void close_conn(conn_t *c) {
    if (c->closed) return;
    c->closed = 1;
    for (int i = 0; i < c->nsubs; i++) {
        topic_t *t = c->subs[i];
        for (int j = 0; j < t->n; j++)
            if (t->c[j] == c) {
                t->c[j] = t->c[--t->n];
                break;
            }
    }
    epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    /* freed at the end of the loop turn: this turn's events and dirty list may still name it */
    c->next_dead = g_dead;
    g_dead = c;
}

/* A variable byte integer at p[*off]: 1 and *off past it, 0 = need more bytes, -1 = over 4 bytes. */
static int varint(const uint8_t *p, size_t n, size_t *off, uint32_t *v) {
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        if (*off >= n) return 0;
        uint8_t b = p[(*off)++];
        x |= (uint32_t)(b & 127) << (7 * i);
        if (!(b & 128)) {
            *v = x;
            return 1;
        }
    }
    return -1;
}

/* One whole packet: 0 to go on, -1 to close the connection. */
static int packet(conn_t *c, const uint8_t *pkt, size_t hdr, uint32_t rl) {
    const uint8_t *b = pkt + hdr;
    uint8_t type = pkt[0] >> 4;
    switch (type) {
    case 1: { /* CONNECT: protocol name, level */
        if (rl < 7) return -1;
        uint16_t nl = (uint16_t)(b[0] << 8 | b[1]);
        if ((uint32_t)nl + 3 > rl) return -1;
        c->v5 = b[2 + nl] == 5;
        static const uint8_t ack4[] = {0x20, 2, 0, 0}, ack5[] = {0x20, 3, 0, 0, 0};
        if (c->v5) emit(c, ack5, sizeof ack5);
        else emit(c, ack4, sizeof ack4);
        return 0;
    }
    case 3: { /* PUBLISH */
        if ((pkt[0] >> 1 & 3) != 0 || rl < 2) return -1; /* QoS 0 only */
        uint16_t tl = (uint16_t)(b[0] << 8 | b[1]);
        if ((uint32_t)tl + 2 > rl) return -1;
        size_t n = hdr + rl;
        topic_t *t = find_topic(b + 2, tl, 0);
        if (t)
            for (int i = 0; i < t->n; i++) emit(t->c[i], pkt, n);
        for (int i = 0; i < g_nprefix; i++) {
            topic_t *p = g_prefix[i];
            if (p->len <= tl && memcmp(p->name, b + 2, p->len) == 0)
                for (int j = 0; j < p->n; j++) emit(p->c[j], pkt, n);
        }
        return 0;
    }
    case 8: { /* SUBSCRIBE */
        if (rl < 2) return -1;
        size_t off = 2;
        uint32_t plen = 0;
        if (c->v5) {
            if (varint(b, rl, &off, &plen) <= 0 || off + plen > rl) return -1;
            off += plen;
        }
        uint8_t ack[8 + 4096];
        size_t na = 0;
        while (off < rl) {
            if (off + 2 > rl) return -1;
            uint16_t fl = (uint16_t)(b[off] << 8 | b[off + 1]);
            if (off + 2 + fl + 1 > rl || na == 4096) return -1;
            subscribe(c, b + off + 2, fl);
            ack[8 + na++] = b[off + 2 + fl] & 3;
            off += 2 + fl + 1;
        }
        /* fixed header, packet id, (v5: empty properties), then the codes at ack + 8 */
        uint32_t body = 2 + (c->v5 ? 1 : 0) + (uint32_t)na;
        uint8_t head[8];
        size_t nh = 0;
        head[nh++] = 0x90;
        for (uint32_t v = body;; v >>= 7) {
            head[nh++] = (uint8_t)((v & 127) | (v > 127 ? 128 : 0));
            if (v <= 127) break;
        }
        head[nh++] = b[0];
        head[nh++] = b[1];
        if (c->v5) head[nh++] = 0;
        memcpy(ack + 8 - nh, head, nh);
        emit(c, ack + 8 - nh, nh + na);
        return 0;
    }
    case 10: { /* UNSUBSCRIBE: acknowledged, subscriptions kept until the connection closes */
        if (rl < 2) return -1;
        uint8_t ack4[] = {0xb0, 2, b[0], b[1]}, ack5[] = {0xb0, 3, b[0], b[1], 0};
        if (c->v5) emit(c, ack5, sizeof ack5);
        else emit(c, ack4, sizeof ack4);
        return 0;
    }
    case 12: { /* PINGREQ */
        static const uint8_t resp[] = {0xd0, 0};
        emit(c, resp, sizeof resp);
        return 0;
    }
    case 14: /* DISCONNECT */
        return -1;
    default:
        return -1;
    }
}

/* Whole packets at p: returns the bytes used, or -1 when the connection was closed. */
static ssize_t parse(conn_t *c, const uint8_t *p, size_t n) {
    size_t off = 0;
    while (!c->closed && n - off >= 2) {
        uint32_t rl;
        size_t hdr = 1; /* the Remaining Length follows the first byte */
        int r = varint(p + off, n - off, &hdr, &rl);
        if (r < 0) break;
        if (r == 0 || n - off < hdr + rl) return (ssize_t)off;
        if (packet(c, p + off, hdr, rl) < 0) break;
        off += hdr + rl;
    }
    if (c->closed || n - off >= 2) { /* malformed, refused, or closed by a DISCONNECT */
        close_conn(c);
        return -1;
    }
    return (ssize_t)off;
}

/* Reads go to one shared buffer; only a partial packet is kept per connection. */
static uint8_t g_rbuf[256 * 1024];

static void on_readable(conn_t *c) {
    for (;;) {
        ssize_t r = read(c->fd, g_rbuf, sizeof g_rbuf);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            close_conn(c);
            return;
        }
        if (r < 0) {
            if (errno == EINTR) continue;
            return;
        }
        const uint8_t *p = g_rbuf;
        size_t n = (size_t)r;
        if (c->in.len) { /* a partial packet waits: complete it in the connection's buffer */
            reserve(&c->in, n);
            memcpy(c->in.p + c->in.len, p, n);
            c->in.len += n;
            p = c->in.p;
            n = c->in.len;
        }
        ssize_t used = parse(c, p, n);
        if (used < 0) return;
        if (p == c->in.p) {
            memmove(c->in.p, c->in.p + used, n - (size_t)used);
            c->in.len = n - (size_t)used;
        } else if ((size_t)used < n) {
            reserve(&c->in, n - (size_t)used);
            memcpy(c->in.p, p + used, n - (size_t)used);
            c->in.len = n - (size_t)used;
        }
        if ((size_t)r < sizeof g_rbuf) return; /* a short read: the socket is drained (EPOLLET) */
    }
}

static void flush(conn_t *c) {
    while (c->out.len && !c->closed) {
        ssize_t w = write(c->fd, c->out.p, c->out.len);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) close_conn(c);
            break; /* EPOLLOUT (edge-triggered, always armed) brings us back */
        }
        memmove(c->out.p, c->out.p + w, c->out.len - (size_t)w);
        c->out.len -= (size_t)w;
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: floor-broker PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (listen(ls, 4096) < 0) die("listen");
    g_ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(g_ep, EPOLL_CTL_ADD, ls, &ev);
    fprintf(stderr, "floor-broker: listening on 127.0.0.1:%s\n", argv[1]);
    struct epoll_event evs[512];
    for (;;) {
        int n = epoll_wait(g_ep, evs, 512, -1);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conn_t *nc = calloc(1, sizeof *nc);
                    if (!nc) die("calloc");
                    nc->fd = fd;
                    struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP, .data.ptr = nc};
                    epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &e);
                }
                continue;
            }
            if (c->closed) continue;
            if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) on_readable(c);
            if (!c->closed && (evs[i].events & EPOLLOUT)) flush(c);
        }
        for (conn_t *c = g_dirty, *next; c; c = next) { /* one write per connection per turn */
            next = c->next_dirty;
            c->dirty = 0;
            flush(c);
        }
        g_dirty = NULL;
        for (conn_t *c = g_dead, *next; c; c = next) {
            next = c->next_dead;
            free(c->in.p);
            free(c->out.p);
            free(c->subs);
            free(c);
        }
        g_dead = NULL;
    }
}
