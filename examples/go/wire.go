package main

import (
	"github.com/gorilla/websocket"
	pb "github.com/roomcast/roomcast/gen/go/roomcast/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// wire encodes commands in one of the two encodings and decodes server frames of either kind.
type wire struct {
	json        bool
	subprotocol string
}

func newWire(useJSON bool) wire {
	if useJSON {
		return wire{json: true, subprotocol: "roomcast.v1.json"}
	}
	return wire{subprotocol: "roomcast.v1.proto"}
}

// write sends one command: a binary protobuf frame, or a protojson text frame.
func (w wire) write(conn *websocket.Conn, m *pb.ClientMessage) error {
	if w.json {
		b, err := protojson.Marshal(m)
		if err != nil {
			return err
		}
		return conn.WriteMessage(websocket.TextMessage, b)
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	return conn.WriteMessage(websocket.BinaryMessage, b)
}

// decode reads a server frame by its type: text frames with protojson's strict parser (an
// unknown field is an error, so any departure from the proto3 JSON mapping shows), binary frames
// with proto.Unmarshal.
func (w wire) decode(frameType int, data []byte) (*pb.ServerMessage, error) {
	m := &pb.ServerMessage{}
	if frameType == websocket.TextMessage {
		return m, protojson.Unmarshal(data, m)
	}
	return m, proto.Unmarshal(data, m)
}
