/**
 * Clients in three languages in one room of a live server: the Go example (gorilla/websocket +
 * protoc-gen-go code), the Python example (websockets + protoc's _pb2) and the TypeScript SDK.
 * Each sees the others' messages, in the order of the room's sequence numbers, and exclude-self
 * holds across languages. Then the same over the JSON fallback, where Go reads and writes with
 * protojson and Python with json_format, strictly: the standard proto3 JSON mapping. Last, each
 * example rides out an admin disconnect (4003): it reconnects, rejoins with its last position and
 * prints the events it missed, replayed, and a `recovered` line.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient, type RoomcastClient, type RoomEvent } from '../../src/client/index.js';
import { hsToken, httpRequest, startServer, type TestServer } from '../helpers.js';
import { type ExampleProcess, missingTools, prepareWorkspace, startGo, startPython, type Workspace } from './examples.js';

const skip = missingTools();

/** Waits until `pred` holds, polling. */
async function until(pred: () => boolean, what: () => string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('Go, Python and TypeScript clients in one room', { skip }, () => {
  let ws: Workspace;
  let srv: TestServer;
  const running: ExampleProcess[] = [];
  const clients: RoomcastClient[] = [];
  before(async () => {
    ws = prepareWorkspace();
    srv = await startServer();
  });
  after(async () => {
    // After a failure, nothing may keep running (a client would reconnect forever).
    for (const p of running) p.kill();
    await Promise.all(clients.map((c) => c.close()));
    // before() may have failed before it assigned these.
    await (srv as TestServer | undefined)?.close();
    (ws as Workspace | undefined)?.remove();
  });

  /** Starts the TypeScript client and both examples in `room`, each joined. */
  async function threeClients(room: string, encoding: 'proto' | 'json', goArgs: string[], pyArgs: string[]) {
    const ts: RoomcastClient = createClient({ url: srv.url(), encoding, rooms: [room] });
    clients.push(ts);
    const tsEvents: RoomEvent[] = [];
    ts.on('event', (e) => tsEvents.push(e));
    await ts.connect();
    const go = startGo(ws, ['-url', srv.url(), '-room', room, ...goArgs]);
    const py = startPython(ws, ['--url', srv.url(), '--room', room, ...pyArgs]);
    running.push(go, py);
    for (const p of [go, py]) {
      await p.line(new RegExp(`^connected subprotocol=roomcast\\.v1\\.${encoding}$`));
      await p.line(new RegExp(`^joined room=${room} seq=`));
    }
    return { ts, tsEvents, go, py, goConn: await go.connId(), pyConn: await py.connId() };
  }

  it('over binary protobuf: everyone sees the others, exclude-self holds across languages', async () => {
    const room = 'interop-proto';
    const { ts, tsEvents, go, py, goConn, pyConn } = await threeClients(room, 'proto', ['-exclude-self'], []);
    const seen = (p: ExampleProcess, seq: number) => () => p.events().some((e) => e.seq === seq);
    const tsSeen = (seq: number) => () => tsEvents.some((e) => e.seq === seq);

    go.write('hello from go'); // seq 1, excluding Go itself
    await until(
      () => tsSeen(1)() && seen(py, 1)(),
      () => `seq 1 at TS and Python; ${py.describe()}`,
    );
    py.write('hello from python'); // seq 2, to everyone
    await until(
      () => tsSeen(2)() && seen(py, 2)() && seen(go, 2)(),
      () => `seq 2 everywhere; ${go.describe()}`,
    );
    await ts.publish(room, 'hello from typescript', { excludeSelf: true }); // seq 3
    await until(
      () => seen(py, 3)() && seen(go, 3)(),
      () => `seq 3 at Go and Python; ${go.describe()}`,
    );
    go.write('more from go'); // seq 4, excluding Go
    await until(
      () => tsSeen(4)() && seen(py, 4)(),
      () => `seq 4 at TS and Python`,
    );
    await ts.publish(room, 'last from typescript'); // seq 5, to everyone: closes the window for 4
    await until(
      () => tsSeen(5)() && seen(py, 5)() && seen(go, 5)(),
      () => `seq 5 everywhere; ${go.describe()}`,
    );

    // Events arrive in sequence order, so a missing number followed by a later one was never sent.
    assert.deepEqual(
      go.events().map((e) => [e.seq, e.from, e.text]),
      [
        [2, pyConn, 'hello from python'],
        [3, ts.connId, 'hello from typescript'],
        [5, ts.connId, 'last from typescript'],
      ],
      'Go gets everything but its own exclude-self publishes',
    );
    assert.deepEqual(
      py.events().map((e) => [e.seq, e.from, e.text]),
      [
        [1, goConn, 'hello from go'],
        [2, pyConn, 'hello from python'],
        [3, ts.connId, 'hello from typescript'],
        [4, goConn, 'more from go'],
        [5, ts.connId, 'last from typescript'],
      ],
      'Python publishes without exclude-self and so gets its own too',
    );
    assert.deepEqual(
      tsEvents.map((e) => [e.seq, e.connId, e.text, e.fromSelf]),
      [
        [1, goConn, 'hello from go', false],
        [2, pyConn, 'hello from python', false],
        [4, goConn, 'more from go', false],
        [5, ts.connId, 'last from typescript', true],
      ],
      'TypeScript misses only its own exclude-self publish',
    );
    await go.line(/^published room=interop-proto seq=4$/);
    await py.line(/^published room=interop-proto seq=2$/);

    assert.equal(await go.end(), 0, go.describe());
    assert.equal(await py.end(), 0, py.describe());
    await go.line(/^closed code=1000$/);
    await py.line(/^closed code=1000$/);
    await ts.close();
  });

  it('over proto3 JSON with protojson and json_format: text, bytes as base64, unicode', async () => {
    const room = 'interop-json';
    const { ts, tsEvents, go, py, goConn, pyConn } = await threeClients(room, 'json', ['-json', '-bytes'], ['--json']);
    assert.ok(go.lines.some((l) => l.startsWith('welcome ')) && py.lines.some((l) => l.startsWith('welcome ')));

    go.write('bytes from go ✓'); // published as bytes: base64 in JSON
    py.write('ünïcödé text from python ✓');
    await until(
      () => tsEvents.length === 2,
      () => `two events at TS`,
    );
    await ts.publish(room, new Uint8Array([0, 1, 2, 253, 254, 255]));
    await until(
      () => go.events().length === 3 && py.events().length === 3,
      () => `three events at Go and Python; ${go.describe()}; ${py.describe()}`,
    );

    const goBytes = Buffer.from('bytes from go ✓').toString('base64');
    const byGo = tsEvents.find((e) => e.connId === goConn);
    const byPy = tsEvents.find((e) => e.connId === pyConn);
    assert.deepEqual(byGo?.data, new Uint8Array(Buffer.from('bytes from go ✓')));
    assert.equal(byGo.text, undefined);
    assert.equal(byPy?.text, 'ünïcödé text from python ✓');
    for (const p of [go, py]) {
      // Go and Python publish concurrently, so which of them got seq 1 is not fixed.
      assert.deepEqual(
        p.events().map((e) => e.seq),
        [1, 2, 3],
        p.describe(),
      );
      const byPublisher = new Map(p.events().map((e) => [e.from, e.text ?? `data=${String(e.data)}`]));
      assert.deepEqual(
        byPublisher,
        new Map([
          [goConn, `data=${goBytes}`],
          [pyConn, 'ünïcödé text from python ✓'],
          [ts.connId, 'data=AAEC/f7/'],
        ]),
        p.describe(),
      );
    }
    // Exit code 0: the strict parsers read every frame the server sent (a frame they could not
    // read would have stopped the program with an error).
    assert.equal(await go.end(), 0, go.describe());
    assert.equal(await py.end(), 0, py.describe());
    await ts.close();
  });
});

describe('Go and Python examples reconnect and recover', { skip }, () => {
  const SECRET = 'interop-secret-interop-secret-interop-secret';
  const API_KEY = 'interop-api-key-0123456789';
  let ws: Workspace;
  let srv: TestServer;
  const running: ExampleProcess[] = [];
  const clients: RoomcastClient[] = [];
  before(async () => {
    ws = prepareWorkspace();
    // Tokens give each example a user id, which the admin API disconnects by.
    srv = await startServer({ authSecret: SECRET, anonymous: 'allow', apiKey: API_KEY });
  });
  after(async () => {
    for (const p of running) p.kill();
    await Promise.all(clients.map((c) => c.close()));
    // before() may have failed before it assigned these.
    await (srv as TestServer | undefined)?.close();
    (ws as Workspace | undefined)?.remove();
  });

  it('after an admin disconnect with reconnect (4003): the missed events, replayed, then a recovered line, then live ones', async () => {
    const room = 'interop-recover';
    const ts: RoomcastClient = createClient({ url: srv.url(), rooms: [room] });
    clients.push(ts);
    await ts.connect();
    const url = async (user: string): Promise<string> => srv.url(`/ws?token=${await hsToken(SECRET, { sub: user })}`);
    const go = startGo(ws, ['-url', await url('go-user'), '-room', room]);
    const py = startPython(ws, ['--url', await url('py-user'), '--room', room, '--json']);
    running.push(go, py);
    for (const p of [go, py]) await p.line(new RegExp(`^joined room=${room} seq=0$`));
    await ts.publish(room, 'one');
    await ts.publish(room, 'two');
    await until(
      () => go.events().length === 2 && py.events().length === 2,
      () => `events 1 and 2; ${go.describe()}; ${py.describe()}`,
    );

    for (const user of ['go-user', 'py-user']) {
      const r = await httpRequest(srv.http, 'POST', `/api/users/${user}/disconnect`, {
        body: JSON.stringify({ reconnect: true, reason: 'interop' }),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
      });
      assert.equal(r.status, 200, r.body.toString());
    }
    // While they are away (each waits 250 ms before reconnecting).
    for (const text of ['three', 'four', 'five']) await ts.publish(room, text);
    for (const p of [go, py]) {
      await p.line(/^closed code=4003$/);
      await p.line(new RegExp(`^recovered room=${room} missed=3$`));
    }
    await ts.publish(room, 'six');
    await until(
      () => go.events().length === 6 && py.events().length === 6,
      () => `six events; ${go.describe()}; ${py.describe()}`,
    );
    for (const p of [go, py]) {
      assert.deepEqual(
        p.events().map((e) => [e.seq, e.text]),
        [
          [1, 'one'],
          [2, 'two'],
          [3, 'three'],
          [4, 'four'],
          [5, 'five'],
          [6, 'six'],
        ],
        p.describe(),
      );
      const welcomes = p.lines.filter((l) => l.startsWith('welcome conn='));
      assert.equal(new Set(welcomes).size, 2, `two connections; ${p.describe()}`);
      // The replay came before the join reply, which came before the live event.
      const at = (re: RegExp): number => p.lines.findIndex((l) => re.test(l));
      assert.ok(at(/^event .* seq=5 /) < at(/^recovered /) && at(/^recovered /) < at(/^event .* seq=6 /), p.describe());
      assert.equal(await p.end(), 0, p.describe());
    }
    await ts.close();
  });
});
