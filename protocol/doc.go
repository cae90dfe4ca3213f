// Package protocol defines tickwire's wire format, version 1: the frames a client
// and a server exchange over a WebSocket, and their msgpack encoding.
//
// Every WebSocket binary message carries one or more frames back to back; msgpack
// values are self-delimiting, so a writer coalesces many frames into one message
// and a reader walks them with a Decoder. A frame is a msgpack array whose first
// element is its FrameType; decoders ignore trailing elements they do not know, so
// later minor revisions can append fields without breaking old clients.
//
// docs/protocol.md describes every frame with byte-level examples.
package protocol

// Version is the protocol version this package speaks. Hello and Welcome carry it.
const Version = 1
