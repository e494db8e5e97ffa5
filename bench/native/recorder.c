/*
 * What the C receiver records per delivery (as ../loadgen/recorder.ts does for the Node one):
 * per measured window a latency histogram, and per publish how many deliveries came and the
 * latest one's latency. No allocation per delivery.
 *
 * The histogram is log-linear: exact below 2048 µs, then 1024 buckets per power of two, so a
 * value is kept to within 0.1 % (HdrHistogram's 3 significant digits), from 1 µs to 10 minutes.
 * A bucket is reported as the middle of its range.
 */
#define _GNU_SOURCE
#include "recorder.h"

#include <stdarg.h>

#define SUB 2048
#define HALF 1024
#define BUCKETS (SUB + 21 * HALF)

#define MAX_LATENCY_US 600000000ull

static int measuring;
static uint32_t m_from, m_per_window, m_windows, m_end;
static uint64_t *hist;        /* [windows][BUCKETS] */
static uint32_t *received;    /* [windows] */
static uint32_t *counts;      /* [per_window * windows] */
static double *last_us;       /* [per_window * windows] */
static uint64_t *last_ns; /* [windows] */
static uint64_t unmeasured, measured;

static int bucket_of(uint64_t v) {
  if (v < SUB) return (int)v;
  int e = 63 - __builtin_clzll(v) - 10; /* v >> e in [1024, 2047] */
  return SUB + (e - 1) * HALF + (int)((v >> e) - HALF);
}

/* The middle of a bucket's range, the value reported for it. */
static uint64_t bucket_value(int b) {
  if (b < SUB) return (uint64_t)b;
  int e = (b - SUB) / HALF + 1;
  uint64_t lo = ((uint64_t)((b - SUB) % HALF) + HALF) << e;
  return lo + ((1ull << e) >> 1);
}

int recorder_measure(uint32_t from, uint32_t per_window, uint32_t windows) {
  free(hist), free(received), free(counts), free(last_us), free(last_ns);
  m_from = from, m_per_window = per_window, m_windows = windows, m_end = from + per_window * windows;
  size_t k = (size_t)per_window * windows;
  hist = calloc((size_t)windows * BUCKETS, sizeof *hist);
  received = calloc(windows, sizeof *received);
  counts = calloc(k == 0 ? 1 : k, sizeof *counts);
  last_us = calloc(k == 0 ? 1 : k, sizeof *last_us);
  last_ns = calloc(windows, sizeof *last_ns);
  if (!hist || !received || !counts || !last_us || !last_ns) return 0;
  measuring = 1;
  measured = 0;
  return 1;
}

static uint64_t unmeasured_before_plan;

void recorder_record(const uint8_t *stamp, uint64_t arrival_ns) {
  uint64_t time_ns = 0;
  for (int i = 7; i >= 0; i--) time_ns = (time_ns << 8) | stamp[i];
  uint32_t index = (uint32_t)stamp[8] | (uint32_t)stamp[9] << 8 | (uint32_t)stamp[10] << 16 | (uint32_t)stamp[11] << 24;
  if (!measuring) {
    unmeasured_before_plan++;
    return;
  }
  if (index < m_from || index >= m_end) {
    unmeasured++;
    return;
  }
  uint32_t k = index - m_from;
  uint32_t w = k / m_per_window;
  /* A clock read before the stamp is impossible on one host; clamp rounding to the floor. */
  int64_t d = (int64_t)(arrival_ns - time_ns);
  uint64_t us = d <= 0 ? 1 : (uint64_t)((d + 500) / 1000);
  if (us < 1) us = 1;
  if (us > MAX_LATENCY_US) us = MAX_LATENCY_US;
  hist[(size_t)w * BUCKETS + bucket_of(us)]++;
  received[w]++;
  counts[k]++;
  if ((double)us > last_us[k]) last_us[k] = (double)us;
  if (arrival_ns > last_ns[w]) last_ns[w] = arrival_ns;
  measured++;
}

uint64_t recorder_measured(void) { return measured; }

uint64_t recorder_unmeasured(void) { return unmeasured + unmeasured_before_plan; }

static void put(buf_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(buf_t *out, const char *fmt, ...) {
  char tmp[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  buf_append(out, tmp, n < (int)sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void recorder_write_windows(buf_t *out) {
  put(out, "[");
  for (uint32_t w = 0; measuring && w < m_windows; w++) {
    put(out, "%s{\"received\":%u,\"latency\":[", w ? "," : "", received[w]);
    int first = 1;
    for (int b = 0; b < BUCKETS; b++) {
      uint64_t n = hist[(size_t)w * BUCKETS + b];
      if (n == 0) continue;
      put(out, "%s[%llu,%llu]", first ? "" : ",", (unsigned long long)bucket_value(b), (unsigned long long)n);
      first = 0;
    }
    put(out, "],\"counts\":[");
    for (uint32_t k = 0; k < m_per_window; k++) put(out, "%s%u", k ? "," : "", counts[(size_t)w * m_per_window + k]);
    put(out, "],\"lastUs\":[");
    for (uint32_t k = 0; k < m_per_window; k++) put(out, "%s%.0f", k ? "," : "", last_us[(size_t)w * m_per_window + k]);
    put(out, "],\"lastArrivalNs\":%llu}", (unsigned long long)last_ns[w]);
  }
  put(out, "]");
}
