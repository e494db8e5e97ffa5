// Command chat is a small roomcast client in Go: it joins a room, publishes every line it reads
// from stdin, and prints every message the server sends, one line each. It speaks binary
// protobuf frames, or with -json the proto3 JSON text frames, read and written with protojson,
// Go's standard protobuf JSON printer and parser.
//
//	chat -url ws://127.0.0.1:9001/ws -room lobby [-json] [-exclude-self] [-bytes]
//
// When the connection drops with a code that allows it (1001, 1006, 1011, 4000-4499) it
// reconnects and rejoins with the last position it saw, (epoch, seq), and its previous
// connection id: the server replays what was missed and the program prints `recovered ...`, or
// `resync ...` when it cannot. When stdin ends it sends the close command and exits once the
// server has closed the connection.
package main

import (
	"bufio"
	"encoding/base64"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	pb "github.com/roomcast/roomcast/gen/go/roomcast/v1"
)

func main() {
	url := flag.String("url", "ws://127.0.0.1:9001/ws", "the server's WebSocket URL")
	room := flag.String("room", "lobby", "the room to join")
	useJSON := flag.Bool("json", false, "speak proto3 JSON text frames (protojson) instead of binary protobuf")
	excludeSelf := flag.Bool("exclude-self", false, "publish with exclude_self: every member but this connection gets the event")
	asBytes := flag.Bool("bytes", false, "publish each line as bytes (the data payload) instead of text")
	flag.Parse()
	log.SetFlags(0)

	c := &client{wire: newWire(*useJSON), room: *room, excludeSelf: *excludeSelf, asBytes: *asBytes, lines: make(chan string)}
	go readLines(c.lines)
	delay := 250 * time.Millisecond
	for {
		code, done := c.session(*url)
		fmt.Printf("closed code=%d\n", code)
		if done || !reconnects(code) {
			return
		}
		fmt.Printf("reconnecting in %v\n", delay)
		time.Sleep(delay)
		if delay < 5*time.Second {
			delay *= 2
		}
	}
}

// client is what outlives one connection: the room, the position in it, the stdin lines.
type client struct {
	wire        wire
	room        string
	excludeSelf bool
	asBytes     bool
	lines       chan string
	// The last event seen (or the position at the join): where a rejoin recovers from.
	since *pb.StreamPosition
	// The id of the last connection that got its Welcome.
	connID string
}

// reconnects says whether a close code allows reconnecting (the proto's CloseCode comments).
func reconnects(code int) bool {
	return code == 1001 || code == 1006 || code == 1011 || (code >= 4000 && code < 4500)
}

// session runs one connection until it closes; done is true once stdin has ended.
func (c *client) session(url string) (code int, done bool) {
	dialer := websocket.Dialer{Subprotocols: []string{c.wire.subprotocol}, HandshakeTimeout: 10 * time.Second}
	conn, _, err := dialer.Dial(url, nil)
	if err != nil {
		if c.connID == "" {
			log.Fatalf("dial %s: %v", url, err)
		}
		return websocket.CloseAbnormalClosure, false
	}
	defer conn.Close()
	fmt.Printf("connected subprotocol=%s\n", conn.Subprotocol())

	frames := make(chan *pb.ServerMessage)
	closed := make(chan int, 1)
	go readFrames(conn, c.wire, frames, closed)

	// Only this goroutine writes to the connection (gorilla allows one writer at a time).
	var nextID uint32
	send := func(m *pb.ClientMessage) {
		nextID++
		m.Id = nextID
		if err := c.wire.write(conn, m); err != nil {
			log.Printf("send: %v", err)
		}
	}

	joined := false
	lines := c.lines
	for {
		select {
		case m := <-frames:
			c.show(m)
			if w := m.GetWelcome(); w != nil && !joined {
				// Join (again), from the last position seen, if any.
				send(&pb.ClientMessage{Command: &pb.ClientMessage_Join{Join: &pb.Join{Room: c.room, Since: c.since, PreviousConnId: c.connID}}})
				c.connID = w.ConnId
				joined = true
			}
		case line, ok := <-lines:
			if !ok {
				send(&pb.ClientMessage{Command: &pb.ClientMessage_Close{Close: &pb.Close{Reason: "stdin ended"}}})
				lines = nil // a nil channel never delivers: stop reading stdin
				done = true
				continue
			}
			p := &pb.Publish{Room: c.room, ExcludeSelf: c.excludeSelf, Payload: &pb.Publish_Text{Text: line}}
			if c.asBytes {
				p.Payload = &pb.Publish_Data{Data: []byte(line)}
			}
			send(&pb.ClientMessage{Command: &pb.ClientMessage_Publish{Publish: p}})
		case code := <-closed:
			return code, done
		}
	}
}

// readFrames decodes every frame until the connection ends, then reports its close code.
func readFrames(conn *websocket.Conn, w wire, frames chan<- *pb.ServerMessage, closed chan<- int) {
	for {
		kind, data, err := conn.ReadMessage()
		if err != nil {
			code := websocket.CloseAbnormalClosure
			if ce, ok := err.(*websocket.CloseError); ok {
				code = ce.Code
			}
			closed <- code
			return
		}
		m, err := w.decode(kind, data)
		if err != nil {
			// A frame the standard parser cannot read means client and server disagree on the wire.
			log.Fatalf("cannot decode a frame from the server: %v: %q", err, data)
		}
		frames <- m
	}
}

// readLines sends each line of stdin, and closes the channel at the end of input.
func readLines(lines chan<- string) {
	scanner := bufio.NewScanner(os.Stdin)
	for scanner.Scan() {
		lines <- scanner.Text()
	}
	close(lines)
}

// show prints one server message as one line (two for a join that asked to recover), and keeps
// the position in the room.
func (c *client) show(m *pb.ServerMessage) {
	switch k := m.Kind.(type) {
	case *pb.ServerMessage_Welcome:
		fmt.Printf("welcome conn=%s max_payload_bytes=%d\n", k.Welcome.ConnId, k.Welcome.MaxPayloadBytes)
	case *pb.ServerMessage_Join:
		j := k.Join
		fmt.Printf("joined room=%s seq=%d\n", j.Room, j.Seq)
		if j.Recovered {
			fmt.Printf("recovered room=%s missed=%d\n", j.Room, j.Missed)
		} else if j.Recovery != pb.RecoveryResult_RECOVERY_RESULT_UNSPECIFIED {
			fmt.Printf("resync room=%s reason=%s\n", j.Room, strings.ToLower(strings.TrimPrefix(j.Recovery.String(), "RECOVERY_RESULT_")))
		}
		if j.Room == c.room && (c.since == nil || c.since.Epoch != j.Epoch || c.since.Seq < j.Seq) {
			c.since = &pb.StreamPosition{Epoch: j.Epoch, Seq: j.Seq}
		}
	case *pb.ServerMessage_StreamReset:
		r := k.StreamReset
		fmt.Printf("resync room=%s reason=stream_reset\n", r.Room)
		if r.Room == c.room {
			c.since = &pb.StreamPosition{Epoch: r.Epoch, Seq: r.Seq}
		}
	case *pb.ServerMessage_Publish:
		fmt.Printf("published room=%s seq=%d\n", k.Publish.Room, k.Publish.Seq)
	case *pb.ServerMessage_Event:
		e := k.Event
		payload := "text=" + e.GetText()
		if _, ok := e.Payload.(*pb.Event_Data); ok {
			payload = "data=" + base64.StdEncoding.EncodeToString(e.GetData())
		}
		fmt.Printf("event room=%s seq=%d from=%s %s\n", e.Room, e.Seq, e.ConnId, payload)
		if e.Room == c.room && c.since != nil && e.Seq > c.since.Seq {
			c.since.Seq = e.Seq
		}
	case *pb.ServerMessage_Error:
		fmt.Printf("error id=%d code=%s message=%s\n", m.Id, k.Error.Code, k.Error.Message)
	case *pb.ServerMessage_Close:
		fmt.Println("bye")
	default:
		fmt.Printf("other %v\n", m)
	}
}
