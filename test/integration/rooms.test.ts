/**
 * Rooms: joining by URL and by command, leaving, publish and publish-excluding-self across a
 * mix of protobuf and JSON members, sequence numbers, and rooms vanishing when emptied.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.js';
import { httpRequest, refusedUpgrade, sleep, startServer, TestClient, type TestServer } from '../helpers.js';

let srv: TestServer;
before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv.close();
});

async function roomList(server: TestServer = srv): Promise<Array<{ name: string; members: number }>> {
  const res = await httpRequest(server.http, 'GET', '/api/rooms');
  assert.equal(res.status, 200);
  return (res.json() as { rooms: Array<{ name: string; members: number }> }).rooms;
}

async function waitForRooms(pred: (rooms: Array<{ name: string; members: number }>) => boolean, what: string, server: TestServer = srv): Promise<void> {
  const deadline = Date.now() + 3000;
  let last: unknown;
  while (Date.now() < deadline) {
    const rooms = await roomList(server);
    if (pred(rooms)) return;
    last = rooms;
    await sleep(10);
  }
  assert.fail(`${what}; rooms were ${JSON.stringify(last)}`);
}

describe('joining and leaving', () => {
  it('joins the room in the URL path on connect, and reports its sequence number', async () => {
    const c = await TestClient.connect(srv.url('/rooms/url-room'), 'json');
    const joined = c.received[0]?.welcome?.rooms ?? [];
    assert.deepEqual(
      joined.map((r) => ({ room: r.room, seq: r.seq })),
      [{ room: 'url-room', seq: 0 }],
    );
    assert.match(String(joined[0]?.epoch), /^[0-9a-f]{16}$/, "the room stream's epoch");
    await waitForRooms((rooms) => rooms.some((r) => r.name === 'url-room' && r.members === 1), 'url-room should have 1 member');
    c.close();
    await waitForRooms((rooms) => !rooms.some((r) => r.name === 'url-room'), 'url-room should be gone after its only member left');
  });

  it('percent-decodes the room in the URL path', async () => {
    const c = await TestClient.connect(srv.url('/rooms/team%3Ablue'), 'proto');
    assert.equal(c.received[0]?.welcome?.rooms?.[0]?.room, 'team:blue');
    c.close();
  });

  it('joins and leaves more rooms by command; join is idempotent; leaving a room you are not in is an error', async () => {
    const c = await TestClient.connect(srv.url(), 'proto');
    const j1 = await c.request({ join: { room: 'cmd-a' } });
    assert.deepEqual({ room: j1.join?.room, seq: j1.join?.seq }, { room: 'cmd-a', seq: 0 });
    assert.match(String(j1.join?.epoch), /^[0-9a-f]{16}$/);
    await c.request({ join: { room: 'cmd-b' } });
    const again = await c.request({ join: { room: 'cmd-a' } });
    assert.equal(again.join?.room, 'cmd-a');
    await waitForRooms(
      (rooms) => rooms.filter((r) => r.name.startsWith('cmd-')).every((r) => r.members === 1) && rooms.filter((r) => r.name.startsWith('cmd-')).length === 2,
      'two rooms with one member each',
    );
    const left = await c.request({ leave: { room: 'cmd-a' } });
    assert.deepEqual(left.leave, { room: 'cmd-a' });
    const notIn = await c.request({ leave: { room: 'cmd-a' } });
    assert.equal(notIn.error?.code, ErrorCode.ERROR_CODE_NOT_A_MEMBER);
    await waitForRooms((rooms) => !rooms.some((r) => r.name === 'cmd-a') && rooms.some((r) => r.name === 'cmd-b'), 'cmd-a gone, cmd-b kept');
    c.close();
    await waitForRooms((rooms) => !rooms.some((r) => r.name === 'cmd-b'), 'cmd-b gone on close');
  });

  it('refuses bad room names: by command with ERROR_CODE_BAD_ROOM_NAME, by URL with HTTP 400', async () => {
    const c = await TestClient.connect(srv.url(), 'json');
    for (const room of ['', 'has space', 'x'.repeat(129), 'slash/inside', 'émoji']) {
      const r = await c.request({ join: { room } });
      assert.equal(r.error?.code, ErrorCode.ERROR_CODE_BAD_ROOM_NAME, `room ${JSON.stringify(room)}`);
    }
    const { status, body } = await refusedUpgrade(srv.url('/rooms/bad%20name'));
    assert.equal(status, 400);
    assert.equal((JSON.parse(body) as { code: string }).code, 'ERROR_CODE_BAD_ROOM_NAME');
    const ok = await c.request({ echo: { text: 'alive' } });
    assert.equal(ok.echo?.text, 'alive');
    c.close();
  });
});

describe('publishing', () => {
  it('reaches every member, across protobuf and JSON members, with increasing sequence numbers', async () => {
    const room = 'mixed';
    const members = await Promise.all([
      TestClient.connect(srv.url(`/rooms/${room}`), 'proto'),
      TestClient.connect(srv.url(`/rooms/${room}`), 'json'),
      TestClient.connect(srv.url(`/rooms/${room}`), 'proto'),
      TestClient.connect(srv.url(`/rooms/${room}`), 'json'),
    ]);
    const [a, b] = members;
    const r1 = await a.request({ publish: { room, text: 'from proto' } });
    const r2 = await b.request({ publish: { room, data: new Uint8Array([9, 8, 7]) } });
    const r3 = await a.request({ publish: { room, text: '' } });
    assert.deepEqual([r1.publish?.seq, r2.publish?.seq, r3.publish?.seq], [1, 2, 3]);
    for (const m of members) {
      const evs = await m.events(room, 3);
      assert.deepEqual(
        evs.map((e) => e?.seq),
        [1, 2, 3],
        `${m.encoding} member sees seq 1..3 in order`,
      );
      assert.equal(evs[0]?.text, 'from proto');
      assert.equal(evs[0].connId, a.connId);
      assert.deepEqual(new Uint8Array(evs[1]?.data ?? []), new Uint8Array([9, 8, 7]));
      assert.equal(evs[1]?.connId, b.connId);
      assert.equal(evs[2]?.text, '', 'an empty text payload is still a text payload');
      const timeUs = Number(evs[0].timeUs ?? 0);
      assert.ok(Math.abs(timeUs / 1000 - Date.now()) < 60_000, `timeUs ${timeUs} is a current time in microseconds`);
      assert.equal(m.binary[m.received.findIndex((x) => x.event != null)], m.encoding === 'proto');
    }
    for (const m of members) m.close();
  });

  it('publish with excludeSelf reaches every member but the sender, in either encoding', async () => {
    const room = 'noself';
    const p1 = await TestClient.connect(srv.url(`/rooms/${room}`), 'proto');
    const p2 = await TestClient.connect(srv.url(`/rooms/${room}`), 'proto');
    const j1 = await TestClient.connect(srv.url(`/rooms/${room}`), 'json');
    const j2 = await TestClient.connect(srv.url(`/rooms/${room}`), 'json');
    await p1.request({ publish: { room, text: 'p1 no self', excludeSelf: true } });
    await j1.request({ publish: { room, text: 'j1 no self', excludeSelf: true } });
    // A marker everyone gets, so "did not receive" is checked after delivery is known to be done.
    await p2.request({ publish: { room, text: 'marker' } });
    for (const m of [p1, p2, j1, j2]) await m.events(room, 2);
    const texts = (c: TestClient): string[] => c.eventsSoFar(room).map((e) => e.text ?? '');
    assert.deepEqual(texts(p1), ['j1 no self', 'marker']);
    assert.deepEqual(texts(j1), ['p1 no self', 'marker']);
    assert.deepEqual(texts(p2), ['p1 no self', 'j1 no self', 'marker']);
    assert.deepEqual(texts(j2), ['p1 no self', 'j1 no self', 'marker']);
    for (const m of [p1, p2, j1, j2]) m.close();
  });

  it('only members may publish, and payloads must be present and within maxPayloadBytes', async () => {
    const c = await TestClient.connect(srv.url('/rooms/limits'), 'json');
    const notMember = await c.request({ publish: { room: 'elsewhere', text: 'x' } });
    assert.equal(notMember.error?.code, ErrorCode.ERROR_CODE_NOT_A_MEMBER);
    const empty = await c.request({ publish: { room: 'limits' } });
    assert.equal(empty.error?.code, ErrorCode.ERROR_CODE_BAD_REQUEST);
    const big = await c.request({ publish: { room: 'limits', text: 'é'.repeat(9000) } });
    assert.equal(big.error?.code, ErrorCode.ERROR_CODE_PAYLOAD_TOO_LARGE, '18000 UTF-8 bytes > 16384');
    const bigData = await c.request({ publish: { room: 'limits', data: new Uint8Array(16385) } });
    assert.equal(bigData.error?.code, ErrorCode.ERROR_CODE_PAYLOAD_TOO_LARGE);
    const justFits = await c.request({ publish: { room: 'limits', data: new Uint8Array(16384) } });
    assert.equal(justFits.publish?.seq, 1);
    c.close();
  });

  it('with history (the default) sequence numbers continue in the same epoch when a room empties and fills again', async () => {
    const a = await TestClient.connect(srv.url('/rooms/kept'), 'proto');
    await a.request({ publish: { room: 'kept', text: '1' } });
    await a.request({ publish: { room: 'kept', text: '2' } });
    const epoch = a.received[0]?.welcome?.rooms?.[0]?.epoch;
    a.close();
    await a.closed;
    await waitForRooms((rooms) => !rooms.some((r) => r.name === 'kept'), 'room gone');
    const b = await TestClient.connect(srv.url('/rooms/kept'), 'proto');
    assert.equal(b.received[0]?.welcome?.rooms?.[0]?.seq, 2);
    assert.equal(b.received[0].welcome.rooms[0].epoch, epoch);
    const r = await b.request({ publish: { room: 'kept', text: '3' } });
    assert.equal(r.publish?.seq, 3);
    b.close();
  });

  it('without history sequence numbers start over, in a new epoch, when a room empties and fills again', async () => {
    const bare = await startServer({ history: [] });
    const a = await TestClient.connect(bare.url('/rooms/again'), 'proto');
    await a.request({ publish: { room: 'again', text: '1' } });
    await a.request({ publish: { room: 'again', text: '2' } });
    a.close();
    await a.closed;
    await waitForRooms((rooms) => !rooms.some((r) => r.name === 'again'), 'room gone', bare);
    const epoch = a.received[0]?.welcome?.rooms?.[0]?.epoch;
    const b = await TestClient.connect(bare.url('/rooms/again'), 'proto');
    assert.equal(b.received[0]?.welcome?.rooms?.[0]?.seq, 0);
    assert.notEqual(b.received[0].welcome.rooms[0].epoch, epoch, 'a new epoch');
    const r = await b.request({ publish: { room: 'again', text: '1' } });
    assert.equal(r.publish?.seq, 1);
    b.close();
    await bare.close();
  });
});
