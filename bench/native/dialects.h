/*
 * The wires of the servers under test, as the C receiver reads them (the same rules as
 * ../loadgen/dialect-*.ts): where the bench's 16-byte stamp sits in a frame, and which frames
 * mean "joined" or "refused". Nothing is decoded beyond what finding the stamp needs.
 */
#ifndef ROOMCAST_BENCH_DIALECTS_H
#define ROOMCAST_BENCH_DIALECTS_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of the stamp at the start of every bench payload (../loadgen/payload.ts). */
#define STAMP_BYTES 16

/* roomcast's protobuf and JSON frames; the raw bytes of uWS, ws and the floor; Socket.IO. */
enum dialect { D_ROOMCAST, D_RAW, D_SOCKETIO };

/* What a frame was: nothing counted, a room event, the join signal, a refusal. */
enum kind { K_OTHER, K_EVENT, K_WELCOME, K_ERROR };

/*
 * Reads the text (0x1) or binary (0x2) frame b[start, end) of `dialect`. For an event, points
 * `stamp` at the stamp (in the frame, or in `scratch` when it had to be decoded from base64).
 * Where the protocol wants an answer (Socket.IO's handshake and pings), sets `answer` to the
 * text frame to send back.
 */
int read_frame(int dialect, int opcode, const uint8_t *b, size_t start, size_t end, uint8_t scratch[18], const uint8_t **stamp, const char **answer);

#endif
