#!/usr/bin/python3
"""A small roomcast client in Python: joins a room, publishes every line read from stdin, and
prints every message the server sends, one line each.

It speaks binary protobuf frames, or with --json the proto3 JSON text frames, read and written
with google.protobuf.json_format, Python's standard protobuf JSON printer and parser. Needs the
`websockets` and `protobuf` packages (Debian: python3-websockets, python3-protobuf) and the code
that `npm run gen:clients` writes, on the path:

    PYTHONPATH=src/gen/clients/python /usr/bin/python3 examples/python/chat.py \\
        --url ws://127.0.0.1:9001/ws --room lobby [--json] [--exclude-self]

When the connection drops with a code that allows it (1001, 1006, 1011, 4000-4499) it reconnects
and rejoins with the last position it saw, (epoch, seq), and its previous connection id: the
server replays what was missed and the program prints `recovered ...`, or `resync ...` when it
cannot. When stdin ends it sends the close command and exits once the server has closed the
connection.
"""
import argparse
import asyncio
import base64
import sys
import threading

import websockets
from google.protobuf import json_format

try:
    from roomcast.v1 import roomcast_pb2 as pb
except ImportError as err:
    sys.exit(f"{err}: run `npm run gen:clients` and put src/gen/clients/python on PYTHONPATH")


class Wire:
    """Encodes commands in one encoding; decodes server frames of either kind."""

    def __init__(self, use_json: bool):
        self.json = use_json
        self.subprotocol = "roomcast.v1.json" if use_json else "roomcast.v1.proto"

    def encode(self, m: pb.ClientMessage):
        return json_format.MessageToJson(m) if self.json else m.SerializeToString()

    @staticmethod
    def decode(frame) -> pb.ServerMessage:
        m = pb.ServerMessage()
        if isinstance(frame, str):
            # Strict: an unknown field is an error, so any departure from the proto3 JSON
            # mapping shows.
            json_format.Parse(frame, m)
        else:
            m.ParseFromString(frame)
        return m


class Position:
    """The last event seen in the room (or its position at the join): where a rejoin recovers from."""

    def __init__(self, room: str):
        self.room = room
        self.since = None  # a pb.StreamPosition once joined

    def show(self, m: pb.ServerMessage) -> None:
        """Prints one server message as one line (two for a join that asked to recover), and keeps
        the position in the room."""
        kind = m.WhichOneof("kind")
        if kind == "welcome":
            line = f"welcome conn={m.welcome.conn_id} max_payload_bytes={m.welcome.max_payload_bytes}"
        elif kind == "join":
            j = m.join
            line = f"joined room={j.room} seq={j.seq}"
            if j.recovered:
                line += f"\nrecovered room={j.room} missed={j.missed}"
            elif j.recovery != pb.RECOVERY_RESULT_UNSPECIFIED:
                reason = pb.RecoveryResult.Name(j.recovery).removeprefix("RECOVERY_RESULT_").lower()
                line += f"\nresync room={j.room} reason={reason}"
            if j.room == self.room and (self.since is None or self.since.epoch != j.epoch or self.since.seq < j.seq):
                self.since = pb.StreamPosition(epoch=j.epoch, seq=j.seq)
        elif kind == "stream_reset":
            r = m.stream_reset
            line = f"resync room={r.room} reason=stream_reset"
            if r.room == self.room:
                self.since = pb.StreamPosition(epoch=r.epoch, seq=r.seq)
        elif kind == "publish":
            line = f"published room={m.publish.room} seq={m.publish.seq}"
        elif kind == "event":
            e = m.event
            if e.WhichOneof("payload") == "data":
                payload = "data=" + base64.b64encode(e.data).decode("ascii")
            else:
                payload = "text=" + e.text
            line = f"event room={e.room} seq={e.seq} from={e.conn_id} {payload}"
            if e.room == self.room and self.since is not None and e.seq > self.since.seq:
                self.since.seq = e.seq
        elif kind == "error":
            line = f"error id={m.id} code={pb.ErrorCode.Name(m.error.code)} message={m.error.message}"
        elif kind == "close":
            line = "bye"
        else:
            line = f"other {kind}"
        print(line, flush=True)


def reconnects(code) -> bool:
    """Whether a close code allows reconnecting (the proto's CloseCode comments)."""
    return code in (1001, 1006, 1011) or (code is not None and 4000 <= code < 4500)


def read_lines(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue) -> None:
    """Puts each line of stdin on the queue, then None at the end of input. Runs in a daemon
    thread, so that a blocked read does not keep the program alive once the server has closed."""
    for line in sys.stdin:
        loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
    loop.call_soon_threadsafe(queue.put_nowait, None)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="ws://127.0.0.1:9001/ws", help="the server's WebSocket URL")
    parser.add_argument("--room", default="lobby", help="the room to join")
    parser.add_argument("--json", action="store_true", help="speak proto3 JSON text frames (json_format)")
    parser.add_argument("--exclude-self", action="store_true", help="publish with exclude_self")
    args = parser.parse_args()

    wire = Wire(args.json)
    position = Position(args.room)
    queue: asyncio.Queue = asyncio.Queue()
    threading.Thread(target=read_lines, args=(asyncio.get_running_loop(), queue), daemon=True).start()
    conn_id = ""  # of the last connection that got its Welcome
    delay = 0.25
    while True:
        try:
            ws = await websockets.connect(args.url, subprotocols=[wire.subprotocol], open_timeout=10)
        except (OSError, websockets.InvalidHandshake, asyncio.TimeoutError) as err:
            if not conn_id:
                sys.exit(f"connect {args.url}: {err}")
            code, done = 1006, False
        else:
            code, done, conn_id = await session(ws, wire, args, position, queue, conn_id)
        print(f"closed code={code}", flush=True)
        if done or not reconnects(code):
            return 0
        print(f"reconnecting in {delay}s", flush=True)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5)


async def session(ws, wire: Wire, args, position: Position, queue: asyncio.Queue, previous_conn_id: str):
    """Runs one connection until it closes: returns its close code, whether stdin has ended, and
    its connection id."""
    next_id = 0
    done = False
    conn_id = previous_conn_id
    print(f"connected subprotocol={ws.subprotocol}", flush=True)

    async def send(m: pb.ClientMessage) -> None:
        nonlocal next_id
        next_id += 1
        m.id = next_id
        await ws.send(wire.encode(m))

    async def publish_lines() -> None:
        nonlocal done
        while (line := await queue.get()) is not None:
            await send(pb.ClientMessage(publish=pb.Publish(room=args.room, text=line, exclude_self=args.exclude_self)))
        done = True
        await send(pb.ClientMessage(close=pb.Close(reason="stdin ended")))

    writer = None
    try:
        async for frame in ws:
            m = wire.decode(frame)
            position.show(m)
            if m.WhichOneof("kind") == "welcome" and writer is None:
                # Join (again), from the last position seen, if any.
                join = pb.Join(room=args.room, previous_conn_id=previous_conn_id)
                if position.since is not None:
                    join.since.CopyFrom(position.since)
                await send(pb.ClientMessage(join=join))
                conn_id = m.welcome.conn_id
                writer = asyncio.create_task(publish_lines())
    except websockets.ConnectionClosedError:
        pass  # closed without a proper close frame: reported like any other close
    if writer is not None:
        writer.cancel()
    await ws.close()
    return ws.close_code, done, conn_id


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
