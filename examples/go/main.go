// Command chat is a small roomcast client in Go: it joins a room, publishes every line it reads
// from stdin, and prints every message the server sends, one line each. It speaks binary
// protobuf frames, or with -json the proto3 JSON text frames, read and written with protojson,
// Go's standard protobuf JSON printer and parser.
//
//	chat -url ws://127.0.0.1:9001/ws -room lobby [-json] [-exclude-self] [-bytes]
//
// When stdin ends it sends the close command and exits once the server has closed the
// connection.
package main

import (
	"bufio"
	"encoding/base64"
	"flag"
	"fmt"
	"log"
	"os"
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

	w := newWire(*useJSON)
	dialer := websocket.Dialer{Subprotocols: []string{w.subprotocol}, HandshakeTimeout: 10 * time.Second}
	conn, _, err := dialer.Dial(*url, nil)
	if err != nil {
		log.Fatalf("dial %s: %v", *url, err)
	}
	defer conn.Close()
	fmt.Printf("connected subprotocol=%s\n", conn.Subprotocol())

	frames := make(chan *pb.ServerMessage)
	closed := make(chan int, 1)
	go readFrames(conn, w, frames, closed)
	lines := make(chan string)
	go readLines(lines)

	// Only this goroutine writes to the connection (gorilla allows one writer at a time).
	var nextID uint32
	send := func(m *pb.ClientMessage) {
		nextID++
		m.Id = nextID
		if err := w.write(conn, m); err != nil {
			log.Fatalf("send: %v", err)
		}
	}

	send(&pb.ClientMessage{Command: &pb.ClientMessage_Join{Join: &pb.Join{Room: *room}}})
	for {
		select {
		case m := <-frames:
			show(m)
		case line, ok := <-lines:
			if !ok {
				send(&pb.ClientMessage{Command: &pb.ClientMessage_Close{Close: &pb.Close{Reason: "stdin ended"}}})
				lines = nil // a nil channel never delivers: stop reading stdin
				continue
			}
			p := &pb.Publish{Room: *room, ExcludeSelf: *excludeSelf, Payload: &pb.Publish_Text{Text: line}}
			if *asBytes {
				p.Payload = &pb.Publish_Data{Data: []byte(line)}
			}
			send(&pb.ClientMessage{Command: &pb.ClientMessage_Publish{Publish: p}})
		case code := <-closed:
			fmt.Printf("closed code=%d\n", code)
			return
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

// show prints one server message as one line.
func show(m *pb.ServerMessage) {
	switch k := m.Kind.(type) {
	case *pb.ServerMessage_Welcome:
		fmt.Printf("welcome conn=%s max_payload_bytes=%d\n", k.Welcome.ConnId, k.Welcome.MaxPayloadBytes)
	case *pb.ServerMessage_Join:
		fmt.Printf("joined room=%s seq=%d\n", k.Join.Room, k.Join.Seq)
	case *pb.ServerMessage_Publish:
		fmt.Printf("published room=%s seq=%d\n", k.Publish.Room, k.Publish.Seq)
	case *pb.ServerMessage_Event:
		e := k.Event
		payload := "text=" + e.GetText()
		if _, ok := e.Payload.(*pb.Event_Data); ok {
			payload = "data=" + base64.StdEncoding.EncodeToString(e.GetData())
		}
		fmt.Printf("event room=%s seq=%d from=%s %s\n", e.Room, e.Seq, e.ConnId, payload)
	case *pb.ServerMessage_Error:
		fmt.Printf("error id=%d code=%s message=%s\n", m.Id, k.Error.Code, k.Error.Message)
	case *pb.ServerMessage_Close:
		fmt.Println("bye")
	default:
		fmt.Printf("other %v\n", m)
	}
}
