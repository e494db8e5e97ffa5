/*
 * The `floor` peer: the least a WebSocket rooms server can do, in C, so the bench can show how
 * close the others come to the machine's physical floor.
 *
 * One thread, one epoll set. A client that asks for GET /rooms/<room> with a WebSocket upgrade
 * joins that room and gets one text frame ("welcome", the raw dialect's join signal). A binary
 * frame from a member is written to every other member of its room: one frame per send(2), no
 * batching, no copies beyond the one frame buffer. Text frames are ignored, pings answered,
 * close frames echoed. A member whose unsent bytes pass 1 MiB is closed (as uWS's
 * closeOnBackpressureLimit does for the uWS peer and roomcast).
 *
 * Usage: floor [--host 127.0.0.1] [--port 0] [--max-seconds 7200]
 * Prints {"name":"floor","port":N,"msg":"listening"} once listening. Stops on SIGTERM/SIGINT,
 * when stdin reaches its end (the bench runner holds its write end), when its parent changes,
 * or after --max-seconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "sha1.h"
#include "wsnet.h"

#define MAX_BACKPRESSURE (1024u * 1024u)
#define MAX_REQUEST 8192
#define READ_BUFFER (256 * 1024)
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* ---- connections and rooms ---- */

typedef struct room room_t;

typedef struct {
  int fd;
  int open;    /* 1 once upgraded */
  int dead;    /* closed while a publish loop ran over its room; freed after it */
  room_t *room;
  size_t slot; /* index in room->members */
  buf_t in;    /* bytes of an unfinished request or frame */
  buf_t out;   /* bytes the kernel did not take yet */
} conn_t;

struct room {
  char *name;
  conn_t **members;
  size_t count, cap;
  room_t *next; /* hash chain */
};

#define ROOM_BUCKETS 4096
static room_t *rooms[ROOM_BUCKETS];
static conn_t **conns; /* by fd */
static int max_fd;
static int ep;
static uint8_t readbuf[READ_BUFFER];
static buf_t frame; /* the frame being fanned out */
static conn_t **doomed;
static size_t ndoomed, capdoomed;

static size_t hash(const char *s, size_t n) {
  size_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
  return h % ROOM_BUCKETS;
}

static room_t *room_get(const char *name, size_t n) {
  size_t b = hash(name, n);
  for (room_t *r = rooms[b]; r != NULL; r = r->next)
    if (strlen(r->name) == n && memcmp(r->name, name, n) == 0) return r;
  room_t *r = calloc(1, sizeof *r);
  if (r == NULL) exit(70);
  r->name = strndup(name, n);
  r->next = rooms[b];
  rooms[b] = r;
  return r;
}

static void room_join(room_t *r, conn_t *c) {
  if (r->count == r->cap) {
    r->cap = r->cap == 0 ? 16 : r->cap * 2;
    r->members = realloc(r->members, r->cap * sizeof *r->members);
    if (r->members == NULL) exit(70);
  }
  c->room = r;
  c->slot = r->count;
  r->members[r->count++] = c;
}

static void room_leave(conn_t *c) {
  room_t *r = c->room;
  if (r == NULL) return;
  conn_t *last = r->members[--r->count];
  r->members[c->slot] = last;
  last->slot = c->slot;
  c->room = NULL;
}

static void conn_free(conn_t *c) {
  room_leave(c);
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  conns[c->fd] = NULL;
  buf_free(&c->in);
  buf_free(&c->out);
  free(c);
}

/* Closes now, or after the publish loop in progress when `later`. */
static void conn_close(conn_t *c, int later) {
  if (c->dead) return;
  if (!later) {
    conn_free(c);
    return;
  }
  c->dead = 1;
  if (ndoomed == capdoomed) {
    capdoomed = capdoomed == 0 ? 64 : capdoomed * 2;
    doomed = realloc(doomed, capdoomed * sizeof *doomed);
    if (doomed == NULL) exit(70);
  }
  doomed[ndoomed++] = c;
}

static void want_write(conn_t *c, int on) {
  struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.fd = c->fd};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Sends bytes in order: straight to the kernel when nothing is queued, else behind the queue. */
static void conn_send(conn_t *c, const uint8_t *data, size_t n, int later) {
  if (c->dead) return;
  size_t sent = 0;
  if (c->out.len == 0) {
    ssize_t w = send(c->fd, data, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      conn_close(c, later);
      return;
    }
    sent = w < 0 ? 0 : (size_t)w;
    if (sent == n) return;
    want_write(c, 1);
  }
  if (c->out.len + (n - sent) > MAX_BACKPRESSURE) {
    conn_close(c, later); /* a slow consumer */
    return;
  }
  buf_append(&c->out, data + sent, n - sent);
}

static void conn_flush(conn_t *c) {
  while (c->out.len > 0) {
    ssize_t w = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      conn_close(c, 0);
      return;
    }
    buf_consume(&c->out, (size_t)w);
  }
  want_write(c, 0);
}

static void send_frame(conn_t *c, int opcode, const uint8_t *payload, size_t n) {
  uint8_t head[14];
  size_t h = ws_header(head, opcode, n, NULL);
  uint8_t small[256];
  if (h + n <= sizeof small) {
    memcpy(small, head, h);
    memcpy(small + h, payload, n);
    conn_send(c, small, h + n, 0);
  } else {
    conn_send(c, head, h, 0);
    conn_send(c, payload, n, 0);
  }
}

/* Every other member of the sender's room gets the frame, one send each. */
static void publish(conn_t *from, const uint8_t *payload, size_t n) {
  room_t *r = from->room;
  frame.len = 0;
  buf_reserve(&frame, n + 14);
  frame.len = ws_header(frame.data, 0x2, n, NULL);
  buf_append(&frame, payload, n);
  for (size_t i = 0; i < r->count; i++) {
    conn_t *m = r->members[i];
    if (m != from) conn_send(m, frame.data, frame.len, 1);
  }
  for (size_t i = 0; i < ndoomed; i++) conn_free(doomed[i]);
  ndoomed = 0;
}

static void respond_and_close(conn_t *c, const char *status) {
  char res[256];
  int n = snprintf(res, sizeof res, "HTTP/1.1 %s\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", status);
  send(c->fd, res, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
  conn_close(c, 0);
}

/* Handles the upgrade request in c->in; returns 0 when the connection was closed. */
static int upgrade(conn_t *c) {
  uint8_t *end = memmem(c->in.data, c->in.len, "\r\n\r\n", 4);
  if (end == NULL) {
    if (c->in.len > MAX_REQUEST) {
      respond_and_close(c, "431 Request Header Fields Too Large");
      return 0;
    }
    return 1;
  }
  size_t head = (size_t)(end - c->in.data) + 4;
  char *req = strndup((char *)c->in.data, head);
  buf_consume(&c->in, head);
  const char *prefix = "GET /rooms/";
  if (strncmp(req, prefix, strlen(prefix)) != 0) {
    free(req);
    respond_and_close(c, "404 Not Found");
    return 0;
  }
  const char *name = req + strlen(prefix);
  size_t name_len = strcspn(name, " ?");
  const char *key = NULL;
  size_t key_len = 0;
  for (char *line = strstr(req, "\r\n"); line != NULL && line[2] != '\r'; line = strstr(line + 2, "\r\n")) {
    if (strncasecmp(line + 2, "sec-websocket-key:", 18) == 0) {
      key = line + 20;
      while (*key == ' ') key++;
      key_len = strcspn(key, " \r");
    }
  }
  if (name_len == 0 || key == NULL || key_len > 64) {
    free(req);
    respond_and_close(c, "400 Bad Request");
    return 0;
  }
  char joined[128];
  memcpy(joined, key, key_len);
  memcpy(joined + key_len, WS_GUID, strlen(WS_GUID));
  uint8_t digest[20];
  sha1((uint8_t *)joined, key_len + strlen(WS_GUID), digest);
  char accept[32];
  base64_encode(digest, 20, accept);
  room_join(room_get(name, name_len), c);
  free(req);
  char res[256];
  int n = snprintf(res, sizeof res,
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                   "\x81\x07welcome",
                   accept);
  c->open = 1;
  int fd = c->fd;
  conn_send(c, (uint8_t *)res, (size_t)n, 0);
  return conns[fd] == c;
}

/* Reads the frames in buf[0, len); returns bytes used, or -1 when the connection was closed. */
static ssize_t frames(conn_t *c, uint8_t *buf, size_t len) {
  const int fd = c->fd;
  size_t pos = 0;
  for (;;) {
    int fin, opcode;
    uint64_t size;
    const uint8_t *mask;
    const char *why = "";
    int head = ws_parse_header(buf + pos, len - pos, &fin, &opcode, &size, &mask, &why);
    if (head == 0) return (ssize_t)pos;
    if (head < 0 || mask == NULL || !fin || opcode == 0x0) {
      conn_close(c, 0); /* a broken stream, an unmasked or a fragmented client frame */
      return -1;
    }
    if (len - pos - (size_t)head < size) return (ssize_t)pos;
    uint8_t *p = buf + pos + head;
    for (uint64_t i = 0; i < size; i++) p[i] ^= mask[i & 3];
    pos += (size_t)head + size;
    if (opcode == 0x2) {
      publish(c, p, size);
    } else if (opcode == 0x9) {
      send_frame(c, 0xA, p, size);
    } else if (opcode == 0x8) {
      send_frame(c, 0x8, p, size < 2 ? 0 : 2);
      conn_close(c, 0);
      return -1;
    }
    if (conns[fd] != c) return -1; /* a failed send closed it */
  }
}

static void on_readable(conn_t *c) {
  ssize_t n = read(c->fd, readbuf, sizeof readbuf);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    conn_close(c, 0);
    return;
  }
  if (n < 0) return;
  if (!c->open) {
    buf_append(&c->in, readbuf, (size_t)n);
    if (!upgrade(c)) return;
    if (c->in.len == 0) return;
    ssize_t used = frames(c, c->in.data, c->in.len);
    if (used > 0) buf_consume(&c->in, (size_t)used);
    return;
  }
  if (c->in.len == 0) {
    ssize_t used = frames(c, readbuf, (size_t)n);
    if (used >= 0 && used < n) buf_append(&c->in, readbuf + used, (size_t)(n - used));
  } else {
    buf_append(&c->in, readbuf, (size_t)n);
    ssize_t used = frames(c, c->in.data, c->in.len);
    if (used > 0) buf_consume(&c->in, (size_t)used);
  }
}

static volatile sig_atomic_t stopping;
static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  int port = 0;
  double max_seconds = 7200;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) host = argv[++i];
    else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) port = atoi(argv[++i]);
    else if (strcmp(argv[i], "--max-seconds") == 0 && i + 1 < argc) max_seconds = atof(argv[++i]);
    else {
      fprintf(stderr, "usage: floor [--host 127.0.0.1] [--port 0] [--max-seconds 7200]\n");
      return 2;
    }
  }
  if (port < 0 || port > 65535 || max_seconds <= 0) {
    fprintf(stderr, "floor: bad --port or --max-seconds\n");
    return 2;
  }
  guard_init(max_seconds);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  max_fd = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1048576 ? 1048576 : (int)rl.rlim_cur;
  conns = calloc((size_t)max_fd, sizeof *conns);

  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1 || bind(ls, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(ls, 4096) != 0) {
    fprintf(stderr, "floor: cannot listen on %s:%d: %s\n", host, port, strerror(errno));
    return 1;
  }
  socklen_t alen = sizeof addr;
  getsockname(ls, (struct sockaddr *)&addr, &alen);
  printf("{\"name\":\"floor\",\"port\":%d,\"msg\":\"listening\"}\n", ntohs(addr.sin_port));
  fflush(stdout);

  ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  struct epoll_event in = {.events = EPOLLIN, .data.fd = 0};
  int watch_stdin = epoll_ctl(ep, EPOLL_CTL_ADD, 0, &in) == 0;

  struct epoll_event events[256];
  uint64_t next_tick = now_ns() + 1000000000ull;
  while (!stopping) {
    int n = epoll_wait(ep, events, 256, 1000);
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == ls) {
        for (;;) {
          int cfd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
          if (cfd < 0) break;
          if (cfd >= max_fd) {
            close(cfd);
            continue;
          }
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conn_t *c = calloc(1, sizeof *c);
          if (c == NULL) exit(70);
          c->fd = cfd;
          conns[cfd] = c;
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = cfd};
          epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev);
        }
      } else if (fd == 0 && watch_stdin) {
        char tmp[256];
        ssize_t r = read(0, tmp, sizeof tmp);
        if (r <= 0) return 0; /* the runner is gone */
      } else {
        conn_t *c = conns[fd];
        if (c == NULL) continue;
        if (events[i].events & EPOLLOUT) conn_flush(c);
        if (conns[fd] == c && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) on_readable(c);
      }
    }
    if (now_ns() >= next_tick) {
      guard_tick("floor");
      next_tick = now_ns() + 1000000000ull;
    }
  }
  return 0;
}
