/**
 * Peer: Socket.IO rooms, the most used rooms server in Node. A member joins the room named in
 * its handshake query (`?room=`), is told so with a `welcome` event, and a `publish` event with
 * a binary payload is re-emitted to the room without the sender (`socket.to(room).emit`).
 * WebSocket transport only (no long-polling upgrade dance), no compression.
 *
 * Runs alone: `node --import tsx bench/servers/socketio.ts --port 9103`.
 */
import http from 'node:http';
import { Server } from 'socket.io';
import { announce, listenArgs, stopOnSignal } from './serve.js';

const { host, port } = listenArgs();
const server = http.createServer();
const io = new Server(server, { transports: ['websocket'], serveClient: false, perMessageDeflate: false, maxHttpBufferSize: 16 * 1024 * 1024 });

io.on('connection', (socket) => {
  const room = String(socket.handshake.query.room ?? '');
  void socket.join(room);
  socket.emit('welcome');
  socket.on('publish', (payload: Buffer) => {
    socket.to(room).emit('event', payload);
  });
});

server.listen(port, host, () => {
  const address = server.address();
  announce('socketio', typeof address === 'object' && address !== null ? address.port : port);
});
stopOnSignal(
  () =>
    new Promise<void>((resolve) => {
      void io.close(() => resolve());
    }),
);
