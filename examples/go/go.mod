// A roomcast client in Go: gorilla/websocket plus the Go code `npm run gen:clients` generates.
// Builds offline against Debian's Go sources (golang-github-gorilla-websocket-dev,
// golang-google-protobuf-dev): GOPROXY=off GOFLAGS=-mod=mod go build
module github.com/roomcast/roomcast/examples/go

go 1.19

require (
	github.com/gorilla/websocket v1.5.0
	github.com/roomcast/roomcast/gen/go v0.0.0
	google.golang.org/protobuf v1.28.1
)

replace (
	github.com/gorilla/websocket => /usr/share/gocode/src/github.com/gorilla/websocket
	github.com/roomcast/roomcast/gen/go => ../../src/gen/clients/go
	google.golang.org/protobuf => /usr/share/gocode/src/google.golang.org/protobuf
)
