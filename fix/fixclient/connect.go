package fixclient

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

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

// logonTimeout bounds Run's wait for the first logon.
const logonTimeout = 30 * time.Second

// Run is `tickwire fixclient` once its flags are checked: it logs on with s
// (Settings(opt)), sends flow and reports the result to w (Result.Report).
// A failed logon's error lists the usual causes.
func Run(ctx context.Context, s *quickfix.Settings, opt Options, flow Flow, w io.Writer, logger *slog.Logger) error {
	over := ""
	if opt.TLS || opt.CAFile != "" || opt.CertFile != "" {
		over = " over TLS"
	}
	fmt.Fprintf(w, "connecting to %s%s as %s -> %s\n", strings.Join(opt.Addrs, ", "), over, opt.SenderCompID, opt.TargetCompID)
	logonCtx, cancel := context.WithTimeout(ctx, logonTimeout)
	c, err := Connect(logonCtx, s, logger)
	cancel()
	if err != nil {
		// The usual cause: the gateway's message store and ours (--store)
		// disagree on sequence numbers (one was wiped); the log says which.
		return fmt.Errorf("%w (no logon: is the gateway up? does it speak TLS (--ca) or not? does the session need a client certificate (--cert/--key) or a password (--username, --password-file)? "+
			"the gateway's Logout says why it refused a logon (see the log); if one side's store was wiped, sequence numbers disagree: see the log, or --reset)", err)
	}
	defer c.Stop()
	fmt.Fprintf(w, "logged on\n")
	res, err := c.RunFlow(ctx, flow, w)
	return res.Report(w, err)
}
