package fixclient

import (
	"context"
	"log/slog"

	"github.com/quickfixgo/quickfix"
)

// Connect creates the session of s, starts it and waits, within ctx, for
// its first logon: the setup every counterparty program does. On a failed
// logon the client is stopped.
func Connect(ctx context.Context, s *quickfix.Settings, logger *slog.Logger) (*Client, error) {
	c, err := New(s, logger)
	if err != nil {
		return nil, err
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	if err := c.WaitLogon(ctx, 1); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}
