/*
 * Where the stamp is in each wire (see dialects.h).
 */
#define _GNU_SOURCE
#include "dialects.h"

#include "wsnet.h"

static int varint(const uint8_t *b, size_t *pos, size_t end, uint64_t *v) {
  uint64_t r = 0;
  int shift = 0;
  while (*pos < end && shift < 64) {
    uint8_t x = b[(*pos)++];
    r |= (uint64_t)(x & 0x7f) << shift;
    if (x < 0x80) {
      *v = r;
      return 1;
    }
    shift += 7;
  }
  return 0;
}

static int skip(const uint8_t *b, size_t *pos, size_t end, int wt) {
  uint64_t v;
  if (wt == 0) return varint(b, pos, end, &v);
  if (wt == 2) {
    if (!varint(b, pos, end, &v)) return 0;
    *pos += v;
  } else if (wt == 1) *pos += 8;
  else if (wt == 5) *pos += 4;
  else return 0;
  return *pos <= end;
}

/* roomcast's protobuf ServerMessage: error = 2, event = 8 (its data = 5), welcome = 9. */
static int read_proto(const uint8_t *b, size_t start, size_t end, const uint8_t **stamp) {
  size_t pos = start;
  uint64_t key;
  while (pos < end && varint(b, &pos, end, &key)) {
    uint64_t field = key >> 3;
    int wt = (int)(key & 7);
    if (field == 8 && wt == 2) {
      uint64_t len;
      if (!varint(b, &pos, end, &len) || pos + len > end) return K_OTHER;
      size_t ev_end = pos + len;
      uint64_t k;
      while (pos < ev_end && varint(b, &pos, ev_end, &k)) {
        if (k == (5 << 3 | 2)) {
          uint64_t dl;
          if (!varint(b, &pos, ev_end, &dl) || dl < STAMP_BYTES || pos + dl > ev_end) return K_OTHER;
          *stamp = b + pos;
          return K_EVENT;
        }
        if (!skip(b, &pos, ev_end, (int)(k & 7))) return K_OTHER;
      }
      return K_OTHER;
    }
    if (field == 9) return K_WELCOME;
    if (field == 2) return K_ERROR;
    if (!skip(b, &pos, end, wt)) return K_OTHER;
  }
  return K_OTHER;
}

static int starts(const uint8_t *b, size_t start, size_t end, const char *prefix) {
  size_t n = strlen(prefix);
  return end - start >= n && memcmp(b + start, prefix, n) == 0;
}

/* roomcast's JSON: the stamp is the first 16 bytes of the base64 "data" string (24 characters). */
static int read_json(const uint8_t *b, size_t start, size_t end, uint8_t *scratch, const uint8_t **stamp) {
  if (starts(b, start, end, "{\"event\":")) {
    const uint8_t *at = memmem(b + start, end - start, "\"data\":\"", 8);
    if (at == NULL || (size_t)(at - b) + 8 + 24 > end) return K_OTHER;
    const uint8_t *p = at + 8;
    for (int o = 0; o < 18; o += 3, p += 4) {
      int last = o == 15;
      int v0 = base64_value(p[0]), v1 = base64_value(p[1]), v2 = base64_value(p[2]), v3 = base64_value(p[3]);
      if (last) v2 = v2 < 0 ? 0 : v2, v3 = v3 < 0 ? 0 : v3;
      if ((v0 | v1 | v2 | v3) < 0) return K_OTHER;
      uint32_t n = (uint32_t)v0 << 18 | (uint32_t)v1 << 12 | (uint32_t)v2 << 6 | (uint32_t)v3;
      scratch[o] = (uint8_t)(n >> 16), scratch[o + 1] = (uint8_t)(n >> 8), scratch[o + 2] = (uint8_t)n;
    }
    *stamp = scratch;
    return K_EVENT;
  }
  if (starts(b, start, end, "{\"welcome\":")) return K_WELCOME;
  return memmem(b + start, end - start, "\"error\":", 8) != NULL ? K_ERROR : K_OTHER;
}

int read_frame(int dialect, int opcode, const uint8_t *b, size_t start, size_t end, uint8_t scratch[18], const uint8_t **stamp, const char **answer) {
  *answer = NULL;
  switch (dialect) {
  case D_ROOMCAST:
    return opcode == 0x2 ? read_proto(b, start, end, stamp) : read_json(b, start, end, scratch, stamp);
  case D_RAW:
    if (opcode == 0x1) return K_WELCOME;
    if (end - start < STAMP_BYTES) return K_OTHER;
    *stamp = b + start;
    return K_EVENT;
  default: /* socketio */
    if (opcode == 0x2) {
      if (end - start < STAMP_BYTES) return K_OTHER;
      *stamp = b + start;
      return K_EVENT;
    }
    if (end == start) return K_OTHER;
    if (b[start] == '0') *answer = "40"; /* Engine.IO open: connect to the main namespace */
    else if (b[start] == '2') *answer = "3"; /* Engine.IO ping: pong */
    else if (b[start] == '4') {
      if (end - start > 1 && b[start + 1] == '4') return K_ERROR;
      if (starts(b, start, end, "42[\"welcome\"")) return K_WELCOME;
    }
    return K_OTHER;
  }
}
