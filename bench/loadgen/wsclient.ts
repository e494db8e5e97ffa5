/**
 * A minimal WebSocket client over `net`, for the load generator's many sockets.
 *
 * A `ws` client per socket costs more CPU per received message than the server spends sending
 * it (../shared/NOTES.md), so a bench built on it would measure itself. This one does the
 * opening handshake, then feeds raw chunks to a {@link FrameParser} and answers pings; what a
 * frame means is the caller's business. No extensions, no fragmentation, no TLS: loopback only.
 *
 * Reads bypass the stream machinery: `onread` has the kernel fill one buffer shared by every
 * socket of the process, and the callback parses it in place (the parser copies only a frame
 * cut in two). With thousands of sockets each reading one small frame per publish, the cost per
 * read is what limits a receiver, and a 'data' event with a fresh Buffer costs several times more.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { closeCode, encodeClientFrame, FrameParser, Opcode } from './frame.js';

/** Where and how to connect. */
export interface WsTarget {
  host: string;
  port: number;
  /** Request path, e.g. `/rooms/a`. */
  path: string;
  /** Offered subprotocol (Sec-WebSocket-Protocol), if any. */
  protocol?: string | undefined;
  /** Source address to bind, e.g. `127.0.0.7`, to spread sockets over more local ports. */
  localAddress?: string | undefined;
}

/** An open connection. */
export interface WsClient {
  readonly socket: net.Socket;
  /** The subprotocol the server chose ('' for none). */
  readonly protocol: string;
  /** Sends one masked frame. */
  send(opcode: number, payload: Uint8Array | string): void;
  /** Sends a close frame and ends the socket. */
  close(code?: number): void;
}

/** What the caller hears about a connection after the handshake. */
export interface WsEvents {
  /**
   * Text and binary frames (pings are answered here, not passed on); the payload is
   * `buf[start, end)`, valid only during the call. Frames that came with the handshake
   * response arrive before the connect promise resolves, hence the client argument.
   */
  onFrame: (client: WsClient, opcode: number, buf: Buffer, start: number, end: number) => void;
  /** Called right before each chunk is parsed, so a caller can read the clock once per chunk. */
  onChunk?: () => void;
  /**
   * The connection ended; `code` from the server's close frame, 1006 without one, 1002 when a
   * frame could not be read or its handler threw (`error` says why).
   */
  onClose: (code: number, error?: Error) => void;
}

const HANDSHAKE_TIMEOUT_MS = 15_000;
const HEADER_END = Buffer.from('\r\n\r\n');
/** The read buffer of every socket in this process: reads are parsed before the next one. */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** Opens a connection and resolves once the server answered 101. */
export function connectWs(target: WsTarget, events: WsEvents): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    let onBytes: (chunk: Buffer) => void = () => {};
    const socket = net.connect({
      host: target.host,
      port: target.port,
      localAddress: target.localAddress,
      onread: {
        buffer: READ_BUFFER,
        callback: (nread: number, buf: Uint8Array): boolean => {
          onBytes((buf as Buffer).subarray(0, nread));
          return true;
        },
      },
    });
    socket.setNoDelay(true);
    let head: Buffer = Buffer.alloc(0);
    let client: WsClient | undefined;
    let closeCodeSeen = 1006;
    let readError: Error | undefined;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`handshake with ${target.host}:${target.port}${target.path} timed out`)), HANDSHAKE_TIMEOUT_MS);

    const parser = new FrameParser((opcode, buf, start, end) => {
      if (opcode === Opcode.ping) client?.send(Opcode.pong, buf.subarray(start, end));
      else if (opcode === Opcode.close) {
        closeCodeSeen = closeCode(buf, start, end);
        socket.end();
      } else if (opcode !== Opcode.pong && client !== undefined) events.onFrame(client, opcode, buf, start, end);
    });
    const onData = (chunk: Buffer): void => {
      events.onChunk?.();
      try {
        parser.push(chunk);
      } catch (err) {
        closeCodeSeen = 1002;
        readError = err as Error;
        socket.destroy();
      }
    };

    const key = randomBytes(16).toString('base64');
    const lines = [
      `GET ${target.path} HTTP/1.1`,
      `Host: ${target.host}:${target.port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${key}`,
      'Sec-WebSocket-Version: 13',
    ];
    if (target.protocol !== undefined) lines.push(`Sec-WebSocket-Protocol: ${target.protocol}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);

    const onHandshakeData = (chunk: Buffer): void => {
      // A copy: the chunk lives in the shared read buffer.
      head = Buffer.concat([head, chunk]);
      const endAt = head.indexOf(HEADER_END);
      if (endAt < 0) {
        if (head.length > 16_384) fail(new Error('handshake response too long'));
        return;
      }
      const text = head.subarray(0, endAt).toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1];
      if (status !== '101') {
        fail(new Error(`handshake refused: ${text.split('\r\n')[0] ?? '(no status line)'}`));
        return;
      }
      clearTimeout(timer);
      settled = true;
      const protocol = /^sec-websocket-protocol:\s*(.*)$/im.exec(text)?.[1]?.trim() ?? '';
      client = {
        socket,
        protocol,
        send: (opcode, payload) => {
          socket.write(encodeClientFrame(opcode, payload));
        },
        close: (code = 1000) => {
          const body = Buffer.alloc(2);
          body.writeUInt16BE(code, 0);
          socket.end(encodeClientFrame(Opcode.close, body));
        },
      };
      onBytes = onData;
      resolve(client);
      const rest = head.subarray(endAt + HEADER_END.length);
      if (rest.length > 0) onData(rest);
    };
    onBytes = onHandshakeData;
    socket.on('error', (err) => fail(err));
    socket.on('close', () => {
      clearTimeout(timer);
      fail(new Error('connection closed during the handshake'));
      if (client !== undefined) events.onClose(closeCodeSeen, readError);
    });
  });
}
