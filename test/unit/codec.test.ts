/**
 * The wire codec: every message of the proto round-trips through the generated code in both
 * encodings; the hand-written event encoders match the generic ones; the strict JSON reader
 * refuses what the proto3 JSON mapping does not allow.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import descriptor from '../../src/gen/roomcast.json' with { type: 'json' };
import { roomcast } from '../../src/gen/roomcast.js';
import { decodeClientFrame } from '../../src/protocol/client-frame.js';
import { decodeJson, decodeProto, encodeJson, encodeProto } from '../../src/protocol/codec.js';
import { decodeEventFields, decodeEventFrame, encodeEventJson, encodeEventProto, type EventFields, spliceEventFrame } from '../../src/protocol/events.js';
import { ErrorCode, ProtocolError } from '../../src/protocol/errors.js';
import { JsonShapeError, readProto3Json } from '../../src/protocol/json-read.js';
import { writeProto3Json } from '../../src/protocol/json-write.js';

interface Field {
  type: string;
  id: number;
  rule?: string;
}
interface TypeDesc {
  fields?: Record<string, Field>;
  oneofs?: Record<string, { oneof: string[] }>;
  values?: Record<string, number>;
}

const types = (descriptor as unknown as { nested: { roomcast: { nested: { v1: { nested: Record<string, TypeDesc> } } } } }).nested.roomcast.nested.v1.nested;
const messageNames = Object.keys(types).filter((n) => types[n]?.fields);
const enumNames = Object.keys(types).filter((n) => types[n]?.values);

interface GeneratedType {
  encode(m: object): { finish(): Uint8Array };
  decode(b: Uint8Array): object;
  toObject(m: object, o: object): Record<string, unknown>;
  fromObject(o: object): object;
  verify(o: object): string | null;
}
const generated = roomcast.v1 as unknown as Record<string, GeneratedType>;

/** A value for one field, different per field so swaps would show. */
function sample(field: Field, name: string, depth: number): unknown {
  const t = field.type;
  if (enumNames.includes(t)) {
    const values = Object.values(types[t]?.values ?? {});
    return values[values.length - 1];
  }
  if (messageNames.includes(t)) return depth > 3 ? {} : samples(t, depth + 1)[0];
  switch (t) {
    case 'string':
      return `${name} ✓ "quoted" \\ ${field.id}`;
    case 'bytes':
      return new Uint8Array([0, 255, field.id, 128, 62, 63]);
    case 'bool':
      return true;
    case 'uint64':
    case 'int64':
      return 2 ** 52 + field.id;
    default:
      return 1000 + field.id;
  }
}

/** Plain objects of message `name` with every field set: one per member of its largest oneof. */
function samples(name: string, depth = 0): Array<Record<string, unknown>> {
  const d = types[name] as TypeDesc;
  const oneofs = Object.values(d.oneofs ?? {}).map((o) => o.oneof);
  const inOneof = new Set(oneofs.flat());
  const base: Record<string, unknown> = {};
  for (const [fname, f] of Object.entries(d.fields ?? {})) {
    if (inOneof.has(fname)) continue;
    const v = sample(f, fname, depth);
    base[fname] = f.rule === 'repeated' ? [v, v] : v;
  }
  const variants = Math.max(1, ...oneofs.map((o) => o.length));
  return Array.from({ length: variants }, (_, i) => {
    const obj = { ...base };
    for (const members of oneofs) {
      const member = members[i % members.length] as string;
      obj[member] = sample(d.fields?.[member] as Field, member, depth);
    }
    return obj;
  });
}

/** Normalises decoded values (Buffer vs Uint8Array) for comparison. */
function norm(v: unknown): unknown {
  if (v instanceof Uint8Array) return [...v];
  if (Array.isArray(v)) return v.map(norm);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}

describe('every message round-trips through the generated code', () => {
  it('the descriptor has the messages the server speaks', () => {
    for (const n of ['ClientMessage', 'ServerMessage', 'Event', 'Error', 'Welcome', 'RoomList']) assert.ok(messageNames.includes(n), n);
  });

  for (const name of messageNames) {
    it(`${name}: protobuf and proto3 JSON`, () => {
      const T = generated[name] as GeneratedType;
      for (const obj of samples(name)) {
        assert.equal(T.verify(obj), null, `sample of ${name} verifies`);
        const want = norm(obj);
        // protobuf: encode -> decode -> plain object
        const bytes = T.encode(obj).finish();
        const back = T.toObject(T.decode(bytes), { longs: Number });
        assert.deepEqual(norm(back), want, `${name} via protobuf`);
        // proto3 JSON: the generated writer -> text -> our strict reader
        const json = JSON.stringify(T.toObject(T.fromObject(obj), { longs: String, enums: String, bytes: String, json: true }));
        const read = readProto3Json(name, JSON.parse(json));
        assert.deepEqual(norm(read), want, `${name} via JSON: ${json}`);
        // and what the reader produces encodes to the same protobuf bytes
        assert.deepEqual([...T.encode(read).finish()], [...bytes], `${name}: JSON-read object encodes identically`);
        // our writer gives the canonical form: what protobufjs prints for the decoded message
        const canonical = T.toObject(T.decode(bytes), { longs: String, enums: String, bytes: String, json: true, arrays: true });
        assert.deepEqual(writeProto3Json(name, obj), canonical, `${name}: writeProto3Json`);
      }
    });
  }
});

describe('writeProto3Json', () => {
  it('leaves out scalars holding their default, keeps oneof members, empty messages and empty lists', () => {
    assert.deepEqual(writeProto3Json('ServerMessage', { id: 0, publish: { room: '', seq: 0 } }), { publish: {} });
    assert.deepEqual(writeProto3Json('ServerMessage', { id: 3, echo: { text: '' } }), { id: 3, echo: { text: '' } });
    assert.deepEqual(
      writeProto3Json('ServerMessage', { welcome: { connId: 'c', rooms: [], authRequired: false } }),
      { welcome: { connId: 'c', rooms: [] } },
      'lists are written even when empty',
    );
    assert.deepEqual(writeProto3Json('ServerMessage', { error: { code: 0, message: 'x' } }), { error: { message: 'x' } });
    assert.deepEqual(writeProto3Json('ServerMessage', { presenceEvent: { action: 2, room: 'r' } }), {
      presenceEvent: { room: 'r', action: 'PRESENCE_ACTION_LEAVE' },
    });
    assert.deepEqual(writeProto3Json('ServerMessage', { echo: { data: new Uint8Array([]) } }), { echo: { data: '' } }, 'an empty oneof bytes member is kept');
  });
});

describe('the publish-path event encoders', () => {
  const events: EventFields[] = [
    { room: 'lobby', seq: 1, timeUs: 1_790_000_000_000_123, text: 'hi', connId: 'abcd1234-1', userId: 'ada' },
    { room: 'user:ada', seq: 2 ** 40, timeUs: 5, data: new Uint8Array([0, 1, 254, 255]), connId: '', userId: '' },
    { room: 'x', seq: 7, timeUs: 9, text: '', connId: 'n-2', userId: '' },
    { room: 'q', seq: 3, timeUs: 1, text: 'line\nbreak "quote" \u2028 ☃ \u0000', connId: '', userId: 'ü "x"' },
    { room: 'src', seq: 4, timeUs: 2, text: '2026-12-01T00:00:00.000Z', connId: '', userId: '', source: 'ticker' },
    { room: 'src2', seq: 5, timeUs: 3, data: new Uint8Array([7]), connId: '', userId: '', source: 'billing:v2 "q"' },
  ];
  for (const e of events) {
    it(`JSON and protobuf agree with the generic writer (${e.room})`, () => {
      const viaGeneric = encodeJson('ServerMessage', { event: e });
      assert.deepEqual(JSON.parse(encodeEventJson(e)), JSON.parse(viaGeneric));
      assert.deepEqual([...encodeEventProto(e)], [...encodeProto('ServerMessage', { event: e })]);
      const fromJson = decodeJson('ServerMessage', encodeEventJson(e)).event;
      const fromProto = decodeProto('ServerMessage', encodeEventProto(e)).event;
      assert.deepEqual(norm(fromJson), norm(fromProto));
      assert.equal(fromProto?.seq, e.seq);
    });

    it(`a spliced frame (Event bytes from another process + seq) decodes like a fresh one (${e.room})`, () => {
      const withoutSeq = encodeProto('Event', { ...e, seq: 0 });
      const spliced = decodeProto('ServerMessage', Uint8Array.from(spliceEventFrame(withoutSeq, e.seq)));
      assert.deepEqual(norm(spliced), norm(decodeProto('ServerMessage', Uint8Array.from(encodeEventProto(e)))));
      assert.deepEqual(norm(decodeEventFields(withoutSeq, e.seq)), norm({ ...e, text: e.text, data: e.data, source: e.source ?? '' }));
      // A stored frame (history replay to a JSON member) gives back every field, source too.
      assert.deepEqual(norm(decodeEventFrame(Uint8Array.from(encodeEventProto(e)))), norm({ ...e, text: e.text, data: e.data, source: e.source ?? '' }));
    });
  }
});

describe('decodeClientFrame', () => {
  const code = (fn: () => unknown): ErrorCode | undefined => {
    try {
      fn();
    } catch (err) {
      if (err instanceof ProtocolError) return err.code;
      throw err;
    }
    return undefined;
  };
  const json = (s: string) => new TextEncoder().encode(s);

  it('names the command of a good frame in both encodings', () => {
    const bin = roomcast.v1.ClientMessage.encode({ id: 4, join: { room: 'a' } }).finish();
    assert.equal(decodeClientFrame(bin, true).command, 'join');
    const txt = decodeClientFrame(json('{"id":"4","publish":{"room":"a","text":"t","excludeSelf":true}}'), false);
    assert.equal(txt.command, 'publish');
    assert.equal(txt.id, 4, 'integers may be strings in proto3 JSON');
    assert.equal(txt.message.publish?.excludeSelf, true);
  });

  it('refuses what proto3 JSON does not allow', () => {
    const malformed = [
      '{"id": 1.5}',
      '{"id": -1}',
      '{"id": 4294967296}',
      '{"join": {"room": ["a"]}}',
      '{"publish": {"room": "a", "excludeSelf": "yes"}}',
      '{"echo": {"text": "a"}, "join": {"room": "a"}}',
      '{"id": 1, "id": 2, "echo": {}, "echo": {}}'.replace(', "echo": {}, "echo": {}', ''),
      'null',
      '"just a string"',
    ];
    for (const m of malformed.slice(0, 6))
      assert.equal(
        code(() => decodeClientFrame(json(m), false)),
        ErrorCode.ERROR_CODE_MALFORMED_FRAME,
        m,
      );
    assert.equal(
      code(() => decodeClientFrame(json(malformed[7] as string), false)),
      ErrorCode.ERROR_CODE_MALFORMED_FRAME,
    );
    assert.equal(
      code(() => decodeClientFrame(json(malformed[8] as string), false)),
      ErrorCode.ERROR_CODE_MALFORMED_FRAME,
    );
    assert.equal(
      code(() => decodeClientFrame(new Uint8Array([0xc3, 0x28]), false)),
      ErrorCode.ERROR_CODE_MALFORMED_FRAME,
      'invalid UTF-8',
    );
  });

  it('reads a frame whose only key is unknown as no command, naming the key', () => {
    const d = decodeClientFrame(json('{"id": 3, "subscribe": {"room": "a"}}'), false);
    assert.equal(d.command, undefined);
    assert.equal(d.id, 3);
    assert.equal(d.unknownKey, 'subscribe');
  });

  it('skips unknown fields at every depth in both encodings: the known command still runs', () => {
    const t = decodeClientFrame(json('{"id": 5, "trace": "abc", "join": {"room": "a", "colour": {"r": 1}}}'), false);
    assert.equal(t.command, 'join');
    assert.deepEqual(t.message.join, { room: 'a' });
    // ClientMessage{id 5, join{room "a", field 99 = varint 1}} and a top-level unknown field 15.
    const join = roomcast.v1.ClientMessage.encode({ id: 5, join: { room: 'a' } }).finish();
    const inner = roomcast.v1.Join.encode({ room: 'a' }).finish();
    const bytes = new Uint8Array([0x08, 0x05, 0x7a, 0x01, 0x00, join[2] ?? 0, inner.length + 3, ...inner, 0x98, 0x06, 0x01]);
    const b = decodeClientFrame(bytes, true);
    assert.equal(b.command, 'join');
    assert.equal(b.message.join?.room, 'a');
  });

  it('accepts null as "absent" and both spellings of field names', () => {
    const r = decodeClientFrame(json('{"id": null, "publish": {"room": "a", "text": "x", "exclude_self": true, "data": null}}'), false);
    assert.equal(r.id, 0);
    assert.equal(r.message.publish?.excludeSelf, true);
    assert.equal(r.message.publish.data, undefined);
  });

  it('refuses invalid UTF-8 inside protobuf strings', () => {
    // id 1, join { room: <0xff 0xfe> }
    const bytes = new Uint8Array([0x08, 0x01, 0x1a, 0x04, 0x0a, 0x02, 0xff, 0xfe]);
    assert.equal(
      code(() => decodeClientFrame(bytes, true)),
      ErrorCode.ERROR_CODE_MALFORMED_FRAME,
    );
  });

  it('JsonShapeError paths name the field', () => {
    assert.throws(
      () => readProto3Json('ClientMessage', { publish: { room: 5 } }),
      (e: unknown) => e instanceof JsonShapeError && e.message.includes('publish.room'),
    );
  });
});
