#!/usr/bin/python3
"""A small roomcast client in Python: joins a room, publishes every line read from stdin, and
prints every message the server sends, one line each.

It speaks binary protobuf frames, or with --json the proto3 JSON text frames, read and written
with google.protobuf.json_format, Python's standard protobuf JSON printer and parser. Needs the
`websockets` and `protobuf` packages (Debian: python3-websockets, python3-protobuf) and the code
that `npm run gen:clients` writes, on the path:

    PYTHONPATH=src/gen/clients/python /usr/bin/python3 examples/python/chat.py \\
        --url ws://127.0.0.1:9001/ws --room lobby [--json] [--exclude-self]

When stdin ends it sends the close command and exits once the server has closed the connection.
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


def show(m: pb.ServerMessage) -> None:
    """Prints one server message as one line."""
    kind = m.WhichOneof("kind")
    if kind == "welcome":
        line = f"welcome conn={m.welcome.conn_id} max_payload_bytes={m.welcome.max_payload_bytes}"
    elif kind == "join":
        line = f"joined room={m.join.room} seq={m.join.seq}"
    elif kind == "publish":
        line = f"published room={m.publish.room} seq={m.publish.seq}"
    elif kind == "event":
        e = m.event
        if e.WhichOneof("payload") == "data":
            payload = "data=" + base64.b64encode(e.data).decode("ascii")
        else:
            payload = "text=" + e.text
        line = f"event room={e.room} seq={e.seq} from={e.conn_id} {payload}"
    elif kind == "error":
        line = f"error id={m.id} code={pb.ErrorCode.Name(m.error.code)} message={m.error.message}"
    elif kind == "close":
        line = "bye"
    else:
        line = f"other {kind}"
    print(line, flush=True)


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
    next_id = 0

    async with websockets.connect(args.url, subprotocols=[wire.subprotocol], open_timeout=10) as ws:
        print(f"connected subprotocol={ws.subprotocol}", flush=True)

        async def send(m: pb.ClientMessage) -> None:
            nonlocal next_id
            next_id += 1
            m.id = next_id
            await ws.send(wire.encode(m))

        async def publish_lines() -> None:
            queue: asyncio.Queue = asyncio.Queue()
            threading.Thread(target=read_lines, args=(asyncio.get_running_loop(), queue), daemon=True).start()
            while (line := await queue.get()) is not None:
                await send(pb.ClientMessage(publish=pb.Publish(room=args.room, text=line, exclude_self=args.exclude_self)))
            await send(pb.ClientMessage(close=pb.Close(reason="stdin ended")))

        await send(pb.ClientMessage(join=pb.Join(room=args.room)))
        writer = asyncio.create_task(publish_lines())
        try:
            async for frame in ws:
                show(wire.decode(frame))
        except websockets.ConnectionClosedError:
            pass  # closed without a proper close frame: reported below like any other close
        writer.cancel()
        print(f"closed code={ws.close_code}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
