/**
 * Peer: bare uWebSockets.js, the ceiling of roomcast's stack. A member subscribes to its room's
 * topic; a binary message from a member is published as-is to the topic with `ws.publish`
 * (everyone but the sender), so the fan-out is uWS's C++ and nothing else. The limits match
 * roomcast's defaults (1 MiB backpressure, slow consumers closed, no compression).
 *
 * Runs alone: `node --import tsx bench/servers/uws.ts --port 9101`.
 */
import uWS from 'uWebSockets.js';
import { announce, listenArgs, stopOnSignal } from './serve.js';

interface Member {
  room: string;
}

const { host, port } = listenArgs();
const app = uWS.App();
app.ws<Member>('/rooms/:room', {
  compression: uWS.DISABLED,
  maxPayloadLength: 16 * 1024 * 1024,
  maxBackpressure: 1024 * 1024,
  closeOnBackpressureLimit: 1,
  idleTimeout: 120,
  sendPingsAutomatically: true,
  upgrade: (res, req, context) => {
    res.upgrade<Member>(
      { room: decodeURIComponent(req.getParameter(0)) },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  },
  open: (ws) => {
    ws.subscribe(ws.getUserData().room);
    ws.send('welcome', false);
  },
  message: (ws, message, isBinary) => {
    if (isBinary) ws.publish(ws.getUserData().room, message, true);
  },
});
app.listen(host, port, (socket) => {
  if (socket === false) {
    process.stderr.write(`uws peer: cannot listen on ${host}:${port}\n`);
    process.exit(1);
  }
  announce('uws', uWS.us_socket_local_port(socket));
});
// Present in uWS.js v20.30 but missing from its type definitions.
stopOnSignal(() => (app as typeof app & { close(): void }).close());
