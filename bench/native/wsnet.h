/*
 * What the bench's two C programs (receiver.c, floor.c) share: a growable byte buffer, the
 * monotonic clock, non-blocking sockets, WebSocket frame headers (RFC 6455 section 5.2),
 * base64, and the lifetime guard that ends a program when the bench runner is gone.
 *
 * Header-only (static functions), so each program builds from one `cc` call.
 */
#ifndef ROOMCAST_BENCH_WSNET_H
#define ROOMCAST_BENCH_WSNET_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Largest frame either program accepts; bigger means a broken stream, not a bench payload. */
#define WS_MAX_FRAME (16u * 1024u * 1024u)

/* A growable byte buffer. */
typedef struct {
  uint8_t *data;
  size_t len;
  size_t cap;
} buf_t;

static inline void buf_reserve(buf_t *b, size_t extra) {
  if (b->len + extra <= b->cap) return;
  size_t cap = b->cap == 0 ? 256 : b->cap;
  while (cap < b->len + extra) cap *= 2;
  uint8_t *p = realloc(b->data, cap);
  if (p == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(70);
  }
  b->data = p;
  b->cap = cap;
}

static inline void buf_append(buf_t *b, const void *data, size_t n) {
  buf_reserve(b, n);
  memcpy(b->data + b->len, data, n);
  b->len += n;
}

/* Drops the first n bytes. */
static inline void buf_consume(buf_t *b, size_t n) {
  if (n >= b->len) {
    b->len = 0;
    return;
  }
  memmove(b->data, b->data + n, b->len - n);
  b->len -= n;
}

static inline void buf_free(buf_t *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* CLOCK_MONOTONIC in ns: the clock Node's process.hrtime.bigint() reads, so stamps compare. */
static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int set_nonblock(int fd) {
  int flags = fcntl(fd, F_GETFL, 0);
  return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* Writes a frame header for `len` payload bytes; masked frames get `mask` after it. Returns its size. */
static inline size_t ws_header(uint8_t *out, int opcode, uint64_t len, const uint8_t *mask) {
  size_t n = 0;
  out[n++] = (uint8_t)(0x80 | opcode);
  uint8_t m = mask != NULL ? 0x80 : 0;
  if (len < 126) {
    out[n++] = (uint8_t)(m | len);
  } else if (len < 65536) {
    out[n++] = m | 126;
    out[n++] = (uint8_t)(len >> 8);
    out[n++] = (uint8_t)len;
  } else {
    out[n++] = m | 127;
    for (int i = 7; i >= 0; i--) out[n++] = (uint8_t)(len >> (8 * i));
  }
  if (mask != NULL) {
    memcpy(out + n, mask, 4);
    n += 4;
  }
  return n;
}

/*
 * Reads one frame header at buf[0, avail). Returns 0 when more bytes are needed, -1 for a frame
 * the programs do not accept (`why` says which), else the header size; fills the fields.
 */
static inline int ws_parse_header(const uint8_t *buf, size_t avail, int *fin, int *opcode, uint64_t *len, const uint8_t **mask, const char **why) {
  if (avail < 2) return 0;
  *fin = (buf[0] & 0x80) != 0;
  *opcode = buf[0] & 0x0f;
  int masked = (buf[1] & 0x80) != 0;
  uint64_t size = buf[1] & 0x7f;
  size_t head = 2;
  if (size == 126) {
    if (avail < 4) return 0;
    size = ((uint64_t)buf[2] << 8) | buf[3];
    head = 4;
  } else if (size == 127) {
    if (avail < 10) return 0;
    size = 0;
    for (int i = 0; i < 8; i++) size = (size << 8) | buf[2 + i];
    head = 10;
  }
  if (size > WS_MAX_FRAME) {
    *why = "frame larger than 16 MiB";
    return -1;
  }
  if (masked) {
    if (avail < head + 4) return 0;
    *mask = buf + head;
    head += 4;
  } else {
    *mask = NULL;
  }
  *len = size;
  return (int)head;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 of n bytes into out (NUL-terminated); out needs 4 * ceil(n / 3) + 1 bytes. */
static inline void base64_encode(const uint8_t *in, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16;
    if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
    if (i + 2 < n) v |= in[i + 2];
    out[o++] = B64[(v >> 18) & 63];
    out[o++] = B64[(v >> 12) & 63];
    out[o++] = i + 1 < n ? B64[(v >> 6) & 63] : '=';
    out[o++] = i + 2 < n ? B64[v & 63] : '=';
  }
  out[o] = '\0';
}

/* Value of a base64 character, -1 for anything else ('=' included). */
static inline int base64_value(uint8_t c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/*
 * The lifetime guard: the bench runner holds the write end of this program's stdin, and the
 * kernel closes it when the runner ends however it ends (even SIGKILL). A program adds fd 0 to
 * its epoll set and calls this when it is readable; it also checks its parent and its deadline
 * once a second (guard_tick), so it stops by itself whatever happens.
 */
static pid_t guard_parent;
static uint64_t guard_deadline_ns;

static inline void guard_init(double max_seconds) {
  guard_parent = getppid();
  guard_deadline_ns = now_ns() + (uint64_t)(max_seconds * 1e9);
}

static inline void guard_tick(const char *name) {
  if (getppid() != guard_parent) exit(0);
  if (now_ns() > guard_deadline_ns) {
    fprintf(stderr, "%s %d: lifetime over, exiting\n", name, (int)getpid());
    exit(3);
  }
}

#endif
