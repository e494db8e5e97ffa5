/*
 * The bench's receiver in C: the Node receiver (../loadgen/receiver.ts) without Node's cost per
 * message, so the load generator's own CPU stays out of the latency it measures.
 *
 * One thread, one epoll set. It opens the member sockets it is told to (a minimal WebSocket
 * client: the upgrade handshake, then unmasked server frames), waits for each one's join signal,
 * and records every delivery: the bench's 16-byte stamp is read where the peer's wire puts it,
 * without decoding the frame, and the clock is read once per socket read (every frame in it
 * arrived together), as the Node receiver does.
 *
 * The runner drives it over stdin, one command a line, and it answers on stdout, one JSON
 * object a line, with the same messages as the Node receiver's IPC (../loadgen/ipc.ts), except
 * that a window's latencies come as [value µs, count] pairs instead of an HdrHistogram; the
 * runner's side (../harness/native-receiver.ts) turns them into one.
 *
 *   connect HOST PORT DIALECT CONCURRENCY ADDR[,ADDR...] N   then N lines "PATH PROTOCOL|-"
 *   measure FROM PER_WINDOW WINDOWS
 *   count | report | close
 *
 * DIALECT is roomcast, raw (uWS, ws and the floor) or socketio (dialects.c, as
 * ../loadgen/dialect-*.ts); what is recorded per delivery is recorder.c's.
 * It stops when stdin ends (the runner is gone), when its parent changes, and after
 * BENCH_LOADGEN_MAX_MS (30 minutes by default).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "dialects.h"
#include "recorder.h"
#include "wsnet.h"

#define READ_BUFFER (256 * 1024)
#define TIMEOUT_NS 15000000000ull
enum state { S_CONNECTING, S_HANDSHAKE, S_WELCOME, S_OPEN, S_DONE };

typedef struct {
  int fd;
  int state;
  char *path;  /* request path, e.g. /rooms/r0 */
  char *proto; /* offered subprotocol, or NULL */
  uint64_t started_ns;
  buf_t in;
} conn_t;

/* ---- output ---- */

static buf_t out;

static void flush_out(void) {
  size_t off = 0;
  while (off < out.len) {
    ssize_t w = write(1, out.data + off, out.len - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      exit(0); /* the runner is gone */
    }
    off += (size_t)w;
  }
  out.len = 0;
}

static void outf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void outf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char tmp[512];
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  buf_append(&out, tmp, n < (int)sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A JSON string literal of s (control characters escaped). */
static void out_json_string(const char *s) {
  buf_append(&out, "\"", 1);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') {
      char e[2] = {'\\', (char)ch};
      buf_append(&out, e, 2);
    } else if (ch < 0x20) {
      outf("\\u%04x", ch);
    } else {
      buf_append(&out, s, 1);
    }
  }
  buf_append(&out, "\"", 1);
}

static void fatal(const char *message) {
  outf("{\"type\":\"fatal\",\"message\":");
  out_json_string(message);
  outf("}\n");
  flush_out();
  exit(1);
}

/* ---- connections ---- */

static int ep;
static int dialect;
static conn_t *conns;
static size_t nconns;
static conn_t **by_fd;
static int max_fd;
static size_t next_conn, in_flight, concurrency;
static size_t connected, failed;
static char first_error[256];
static int connecting;
static uint64_t errors;
static int closing;
static char first_read_error[256];
static struct sockaddr_in server;
static struct in_addr *locals;
static size_t nlocals;
static char host_header[80];
static uint64_t chunk_ns;
static uint8_t readbuf[READ_BUFFER];

/* Close codes seen, as (code, count). */
static int close_codes[64];
static uint64_t close_counts[64];
static int nclose;

static void count_close(int code) {
  if (closing) return;
  for (int i = 0; i < nclose; i++)
    if (close_codes[i] == code) {
      close_counts[i]++;
      return;
    }
  if (nclose < 64) close_codes[nclose] = code, close_counts[nclose++] = 1;
}

static void send_masked(conn_t *c, int opcode, const uint8_t *payload, size_t n) {
  uint8_t frame[160];
  if (n > sizeof frame - 14) return;
  uint8_t mask[4];
  uint32_t r = (uint32_t)rand();
  memcpy(mask, &r, 4);
  size_t h = ws_header(frame, opcode, n, mask);
  for (size_t i = 0; i < n; i++) frame[h + i] = payload[i] ^ mask[i & 3];
  /* Control frames and Socket.IO's two-byte answers: a socket with room for them is assumed. */
  if (send(c->fd, frame, h + n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN) count_close(1006);
}

static void conn_end(conn_t *c) {
  if (c->fd >= 0) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    by_fd[c->fd] = NULL;
  }
  c->fd = -1;
  c->state = S_DONE;
  buf_free(&c->in);
}

static void start_next(void);

/* A socket that never became a member. */
static void conn_fail(conn_t *c, const char *why) {
  if (first_error[0] == '\0') snprintf(first_error, sizeof first_error, "%s", why);
  failed++;
  in_flight--;
  conn_end(c);
  start_next();
}

static void became_member(conn_t *c) {
  c->state = S_OPEN;
  connected++;
  in_flight--;
  start_next();
}

/* Reads the frames in buf[0, len); returns bytes used, or -1 when the connection ended. */
static ssize_t frames(conn_t *c, uint8_t *buf, size_t len) {
  size_t pos = 0;
  uint8_t scratch[18];
  for (;;) {
    int fin, opcode;
    uint64_t size;
    const uint8_t *mask;
    const char *why = "a masked frame from a server";
    int head = ws_parse_header(buf + pos, len - pos, &fin, &opcode, &size, &mask, &why);
    if (head == 0) return (ssize_t)pos;
    if (head > 0 && (!fin || opcode == 0x0)) why = "fragmented frame: not expected from the servers under test";
    if (head < 0 || mask != NULL || !fin || opcode == 0x0) {
      if (first_read_error[0] == '\0') snprintf(first_read_error, sizeof first_read_error, "%s", why);
      if (c->state == S_OPEN) count_close(1002);
      if (c->state == S_OPEN) conn_end(c);
      else conn_fail(c, why);
      return -1;
    }
    if (len - pos - (size_t)head < size) return (ssize_t)pos;
    size_t start = pos + (size_t)head, end = start + size;
    pos = end;
    if (opcode == 0x9) {
      send_masked(c, 0xA, buf + start, size);
    } else if (opcode == 0x8) {
      int code = size >= 2 ? (buf[start] << 8 | buf[start + 1]) : 1005;
      if (c->state == S_OPEN) {
        count_close(code);
        conn_end(c);
      } else {
        char why2[64];
        snprintf(why2, sizeof why2, "closed by the server (%d) before joining", code);
        conn_fail(c, why2);
      }
      return -1;
    } else if (opcode == 0x1 || opcode == 0x2) {
      const uint8_t *stamp = NULL;
      const char *answer = NULL;
      int kind = read_frame(dialect, opcode, buf, start, end, scratch, &stamp, &answer);
      if (answer != NULL) send_masked(c, 0x1, (const uint8_t *)answer, strlen(answer));
      if (kind == K_EVENT) recorder_record(stamp, chunk_ns);
      else if (kind == K_WELCOME && c->state == S_WELCOME) became_member(c);
      else if (kind == K_ERROR) errors++;
    }
  }
}

static void on_handshake(conn_t *c) {
  uint8_t *end = memmem(c->in.data, c->in.len, "\r\n\r\n", 4);
  if (end == NULL) {
    if (c->in.len > 16384) conn_fail(c, "handshake response too long");
    return;
  }
  if (c->in.len < 12 || memcmp(c->in.data, "HTTP/1.1 101", 12) != 0) {
    char why[160];
    size_t line = strcspn((char *)c->in.data, "\r");
    snprintf(why, sizeof why, "handshake refused: %.*s", (int)(line < 120 ? line : 120), (char *)c->in.data);
    conn_fail(c, why);
    return;
  }
  buf_consume(&c->in, (size_t)(end - c->in.data) + 4);
  c->state = S_WELCOME;
  if (c->in.len > 0) {
    ssize_t used = frames(c, c->in.data, c->in.len);
    if (used > 0) buf_consume(&c->in, (size_t)used);
  }
}

static void on_readable(conn_t *c) {
  ssize_t n = read(c->fd, readbuf, sizeof readbuf);
  chunk_ns = now_ns();
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    if (c->state == S_OPEN) {
      count_close(1006);
      conn_end(c);
    } else {
      conn_fail(c, n == 0 ? "connection closed during the handshake" : strerror(errno));
    }
    return;
  }
  if (n < 0) return;
  if (c->state == S_HANDSHAKE) {
    buf_append(&c->in, readbuf, (size_t)n);
    on_handshake(c);
  } else if (c->in.len == 0) {
    ssize_t used = frames(c, readbuf, (size_t)n);
    if (used >= 0 && used < n) buf_append(&c->in, readbuf + used, (size_t)(n - used));
  } else {
    buf_append(&c->in, readbuf, (size_t)n);
    ssize_t used = frames(c, c->in.data, c->in.len);
    if (used > 0) buf_consume(&c->in, (size_t)used);
  }
}

static void send_request(conn_t *c) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    conn_fail(c, strerror(err));
    return;
  }
  uint8_t nonce[16];
  for (int i = 0; i < 16; i++) nonce[i] = (uint8_t)rand();
  char key[32];
  base64_encode(nonce, 16, key);
  char req[1024];
  const char *proto = c->proto, *path = c->path;
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s%s%s\r\n", path,
                   host_header, key, proto ? "Sec-WebSocket-Protocol: " : "", proto ? proto : "", proto ? "\r\n" : "");
  if (n >= (int)sizeof req || send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
    conn_fail(c, "could not send the handshake request");
    return;
  }
  c->state = S_HANDSHAKE;
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = c->fd};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void start_next(void) {
  static int starting; /* conn_fail calls back in: keep the stack flat */
  if (starting) return;
  starting = 1;
  while (connecting && in_flight < concurrency && next_conn < nconns) {
    size_t i = next_conn++;
    conn_t *c = &conns[i];
    c->started_ns = now_ns();
    in_flight++;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) {
      conn_fail(c, strerror(errno));
      continue;
    }
    if (c->fd >= max_fd) {
      close(c->fd);
      c->fd = -1;
      conn_fail(c, "file descriptor over the limit");
      continue;
    }
    by_fd[c->fd] = c;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* Let connect() pick the port, per destination, instead of bind() per address. */
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_addr = locals[i % nlocals]};
    if (bind(c->fd, (struct sockaddr *)&local, sizeof local) != 0 ||
        (connect(c->fd, (struct sockaddr *)&server, sizeof server) != 0 && errno != EINPROGRESS)) {
      conn_fail(c, strerror(errno));
      continue;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.fd = c->fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
  }
  starting = 0;
  if (connecting && connected + failed == nconns) {
    connecting = 0;
    outf("{\"type\":\"connected\",\"connected\":%zu,\"failed\":%zu,\"firstError\":", connected, failed);
    if (first_error[0] != '\0') out_json_string(first_error);
    else outf("null");
    outf("}\n");
    flush_out();
  }
}

static void check_timeouts(void) {
  uint64_t now = now_ns();
  for (size_t i = 0; i < next_conn; i++) {
    conn_t *c = &conns[i];
    if (c->state <= S_WELCOME && c->fd >= 0 && now - c->started_ns > TIMEOUT_NS)
      conn_fail(c, c->state == S_WELCOME ? "no welcome within 15000 ms" : "handshake timed out");
  }
}

/* ---- commands ---- */

static buf_t cmd;
static size_t members_left;

static void report(void) {
  outf("{\"type\":\"report\",\"windows\":");
  recorder_write_windows(&out);
  outf(",\"unmeasured\":%llu,\"closes\":{", (unsigned long long)recorder_unmeasured());
  for (int i = 0; i < nclose; i++) outf("%s\"%d\":%llu", i ? "," : "", close_codes[i], (unsigned long long)close_counts[i]);
  outf("},\"errors\":%llu,\"firstReadError\":", (unsigned long long)errors);
  if (first_read_error[0] != '\0') out_json_string(first_read_error);
  else outf("null");
  outf("}\n");
  flush_out();
}

static void on_command(char *line) {
  if (members_left > 0) {
    conn_t *c = &conns[nconns - members_left];
    char path[512], proto[128];
    if (sscanf(line, "%511s %127s", path, proto) != 2) fatal("bad member line");
    c->path = strdup(path);
    c->proto = strcmp(proto, "-") == 0 ? NULL : strdup(proto);
    c->fd = -1;
    c->state = S_CONNECTING;
    if (--members_left == 0) {
      connecting = 1;
      start_next();
    }
    return;
  }
  char host[64], dname[16], addrs[4096];
  unsigned port, conc;
  size_t n;
  unsigned from, per, windows;
  if (sscanf(line, "connect %63s %u %15s %u %4095s %zu", host, &port, dname, &conc, addrs, &n) == 6) {
    dialect = strcmp(dname, "roomcast") == 0 ? D_ROOMCAST : strcmp(dname, "socketio") == 0 ? D_SOCKETIO : strcmp(dname, "raw") == 0 ? D_RAW : -1;
    if (dialect < 0) fatal("unknown dialect");
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &server.sin_addr) != 1) fatal("connect: the host must be an IPv4 address");
    snprintf(host_header, sizeof host_header, "%s:%u", host, port);
    nlocals = 0;
    locals = calloc(64, sizeof *locals);
    for (char *a = strtok(addrs, ","); a != NULL && nlocals < 64; a = strtok(NULL, ","))
      if (inet_pton(AF_INET, a, &locals[nlocals]) == 1) nlocals++;
    if (nlocals == 0) fatal("connect: no local address");
    concurrency = conc == 0 ? 1 : conc;
    conns = calloc(n == 0 ? 1 : n, sizeof *conns);
    nconns = n;
    members_left = n;
    if (n == 0) {
      connecting = 1;
      start_next();
    }
  } else if (sscanf(line, "measure %u %u %u", &from, &per, &windows) == 3) {
    if (!recorder_measure(from, per, windows)) fatal("out of memory for the measure plan");
  } else if (strcmp(line, "count") == 0) {
    outf("{\"type\":\"count\",\"received\":%llu}\n", (unsigned long long)recorder_measured());
    flush_out();
  } else if (strcmp(line, "report") == 0) {
    report();
  } else if (strcmp(line, "close") == 0) {
    closing = 1;
    exit(0);
  } else {
    fatal("unknown command");
  }
}

static void on_stdin(void) {
  char tmp[65536];
  ssize_t n = read(0, tmp, sizeof tmp);
  if (n <= 0) exit(0); /* the runner is gone */
  buf_append(&cmd, tmp, (size_t)n);
  size_t start = 0;
  for (size_t i = 0; i < cmd.len; i++) {
    if (cmd.data[i] != '\n') continue;
    cmd.data[i] = '\0';
    on_command((char *)cmd.data + start);
    start = i + 1;
  }
  buf_consume(&cmd, start);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const char *max_ms = getenv("BENCH_LOADGEN_MAX_MS");
  guard_init(max_ms != NULL ? atof(max_ms) / 1000 : 30 * 60);
  srand((unsigned)(now_ns() ^ (uint64_t)getpid()));
  max_fd = 1 << 20;
  by_fd = calloc((size_t)max_fd, sizeof *by_fd);
  ep = epoll_create1(0);
  struct epoll_event in = {.events = EPOLLIN, .data.fd = 0};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &in) != 0) {
    fprintf(stderr, "this is a load-generator process: the bench runner starts it (npm run bench)\n");
    return 2;
  }
  struct epoll_event events[512];
  uint64_t next_tick = now_ns() + 500000000ull;
  for (;;) {
    int n = epoll_wait(ep, events, 512, connecting ? 100 : 500);
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == 0) {
        on_stdin();
        continue;
      }
      conn_t *c = by_fd[fd];
      if (c == NULL) continue;
      if (c->state == S_CONNECTING) send_request(c);
      else on_readable(c);
    }
    uint64_t now = now_ns();
    if (now >= next_tick) {
      guard_tick("receiver");
      if (connecting) {
        check_timeouts();
        if (connecting) {
          outf("{\"type\":\"progress\",\"connected\":%zu}\n", connected);
          flush_out();
        }
      }
      next_tick = now + 500000000ull;
    }
  }
}
