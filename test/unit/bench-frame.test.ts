/**
 * The load generator's WebSocket framing: the parser finds every frame however the stream is cut,
 * refuses what servers must not send, and client frames are masked correctly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closeCode, encodeClientFrame, FrameParser, Opcode } from '../../bench/loadgen/frame.js';
import { unmask } from '../bench-helpers.js';

/** A server frame (unmasked) with `size` bytes of payload. */
function serverFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, n]) : n < 65536 ? Buffer.from([0x80 | opcode, 126, n >> 8, n & 0xff]) : Buffer.alloc(10);
  if (n >= 65536) {
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeUInt32BE(n, 6);
  }
  return Buffer.concat([head, payload]);
}

function collect(): { parser: FrameParser; frames: Array<[number, string]> } {
  const frames: Array<[number, string]> = [];
  const parser = new FrameParser((op, buf, start, end) => frames.push([op, buf.subarray(start, end).toString('hex')]));
  return { parser, frames };
}

describe('bench frame parser', () => {
  const payloads = [Buffer.alloc(0), Buffer.from('hi'), Buffer.alloc(125, 1), Buffer.alloc(126, 2), Buffer.alloc(300, 3), Buffer.alloc(70_000, 4)];
  const stream = Buffer.concat(payloads.map((p, i) => serverFrame(i % 2 === 0 ? Opcode.binary : Opcode.text, p)));
  const expected = payloads.map((p, i): [number, string] => [i % 2 === 0 ? Opcode.binary : Opcode.text, p.toString('hex')]);

  it('reads frames of every length encoding from one chunk', () => {
    const { parser, frames } = collect();
    parser.push(stream);
    assert.deepEqual(frames, expected);
    assert.equal(parser.buffered, 0);
  });

  it('reads the same frames whatever the chunk boundaries', () => {
    for (const cut of [1, 2, 3, 7, 127, 1000, 65_537]) {
      const { parser, frames } = collect();
      for (let at = 0; at < stream.length; at += cut) parser.push(stream.subarray(at, at + cut));
      assert.deepEqual(frames, expected, `chunks of ${cut}`);
    }
  });

  it('hands over frames inside the chunk without copying', () => {
    const chunk = serverFrame(Opcode.binary, Buffer.from('abcd'));
    let seen: Buffer | undefined;
    new FrameParser((_op, buf) => (seen = buf)).push(chunk);
    assert.equal(seen, chunk);
  });

  it('refuses masked and fragmented frames from a server', () => {
    assert.throws(() => collect().parser.push(Buffer.from([0x82, 0x81, 0, 0, 0, 0, 1])), /masked/);
    assert.throws(() => collect().parser.push(Buffer.from([0x02, 0x01, 1])), /fragmented/);
    assert.throws(() => collect().parser.push(Buffer.from([0x80, 0x01, 1])), /fragmented/);
  });

  it('reads the close code, 1005 when there is none', () => {
    const body = Buffer.from([0x0f, 0xa0, 0x61]);
    assert.equal(closeCode(body, 0, 3), 4000);
    assert.equal(closeCode(body, 0, 0), 1005);
  });
});

describe('bench client frames', () => {
  it('are masked and unmask to the payload, at every length encoding', () => {
    for (const size of [0, 5, 125, 126, 65_535, 65_536, 100_000]) {
      const payload = Buffer.alloc(size, 0x5a);
      const frame = encodeClientFrame(Opcode.binary, payload);
      const head = size < 126 ? 2 : size < 65536 ? 4 : 10;
      assert.equal(frame.length, head + 4 + size);
      assert.equal(frame[0], 0x80 | Opcode.binary);
      const { opcode, payload: back } = unmask(frame);
      assert.equal(opcode, Opcode.binary);
      assert.ok(back.equals(payload), `size ${size}`);
    }
    assert.equal(unmask(encodeClientFrame(Opcode.text, 'héllo')).payload.toString(), 'héllo');
  });
});
