/*
 * The C receiver's delivery recorder (see recorder.c).
 */
#ifndef ROOMCAST_BENCH_RECORDER_H
#define ROOMCAST_BENCH_RECORDER_H

#include "wsnet.h"

/* Records publishes [from, from + per_window * windows) in `windows` windows; 0 when out of memory. */
int recorder_measure(uint32_t from, uint32_t per_window, uint32_t windows);

/* One delivery of the publish whose 16-byte stamp is at `stamp`, read at `arrival_ns`. */
void recorder_record(const uint8_t *stamp, uint64_t arrival_ns);

/* Deliveries inside the measured windows. */
uint64_t recorder_measured(void);

/* Deliveries outside them: before the plan came, in the warm-up, or past the last window. */
uint64_t recorder_unmeasured(void);

/* Appends the windows as the JSON array the runner reads (../harness/native-receiver.ts). */
void recorder_write_windows(buf_t *out);

#endif
