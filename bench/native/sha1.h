/*
 * SHA-1 of a message (see sha1.c): only for the WebSocket handshake's Sec-WebSocket-Accept.
 */
#ifndef ROOMCAST_BENCH_SHA1_H
#define ROOMCAST_BENCH_SHA1_H

#include <stddef.h>
#include <stdint.h>

/* The 20-byte SHA-1 digest of msg[0, len) into out. */
void sha1(const uint8_t *msg, size_t len, uint8_t out[20]);

#endif
