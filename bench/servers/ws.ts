/**
 * Peer: the `ws` library, fanning out the way most Node code does: a Set of members per room
 * and a JavaScript loop that sends each binary message to every member but the sender.
 * No compression (ws would negotiate permessage-deflate otherwise).
 *
 * Runs alone: `node --import tsx bench/servers/ws.ts --port 9102`.
 */
import http from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { announce, listenArgs, stopOnSignal } from './serve.js';

const { host, port } = listenArgs();
const rooms = new Map<string, Set<WebSocket>>();
const server = http.createServer();
const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 16 * 1024 * 1024 });

wss.on('connection', (ws, req) => {
  const m = /^\/rooms\/([^/?]+)/.exec(req.url ?? '');
  if (m === null) {
    ws.close(1008, 'use /rooms/<room>');
    return;
  }
  const room = decodeURIComponent(m[1] as string);
  let members = rooms.get(room);
  if (members === undefined) {
    members = new Set();
    rooms.set(room, members);
  }
  const own = members;
  own.add(ws);
  ws.send('welcome');
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return;
    for (const other of own) {
      if (other !== ws && other.readyState === WebSocket.OPEN) other.send(data, { binary: true });
    }
  });
  ws.on('close', () => {
    own.delete(ws);
    if (own.size === 0) rooms.delete(room);
  });
});

server.listen(port, host, () => {
  const address = server.address();
  announce('ws', typeof address === 'object' && address !== null ? address.port : port);
});
stopOnSignal(
  () =>
    new Promise<void>((resolve) => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.close(() => resolve());
    }),
);
