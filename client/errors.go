package client

import "errors"

// ErrUpgradeRefused: the server (or a proxy in front of it) answered the
// WebSocket handshake with a plain HTTP response. HTTP streaming may work
// where the WebSocket does not.
var ErrUpgradeRefused = errors.New("websocket upgrade refused")

// ErrNotConnected: Publish was called while the client had no connection.
var ErrNotConnected = errors.New("client: not connected")
