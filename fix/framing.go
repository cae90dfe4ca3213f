package fix

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"
)

// quickfix (v0.9.11) cannot take every byte a counterparty sends:
//
//   - its reader trusts BodyLength: it buffers, without a bound, until the
//     declared end and a "\x0110=" after it (9=999999999, a message that
//     never ends, a stream without "8=" all grow one buffer for ever, and
//     it rescans that buffer on each read); 9=9223372036854775807 wraps an
//     offset negative and panics;
//   - its parser reads each XmlData (213) with the first XmlDataLen (212)
//     of the message and panics past the end (two 212/213 pairs), and cuts
//     at a "\x0110=" inside a value.
//
// Only the first message of a connection is parsed under a recover (the
// acceptor's); the rest are read and parsed on goroutines that have none
// (the connection's read loop, the session's), so one such message after
// a Logon, or behind an unanswered one, ends the process.
//
// framedConn therefore reads the counterparty's bytes itself and hands
// quickfix only whole messages in the shape its reader and parser handle:
// "8=" BeginString, "9=" BodyLength, exactly BodyLength bytes of
// tag=value fields, "10=" and three digits; no SOH inside a value (so a
// "\x0110=" can only be the trailer), numeric tags that fit an int32, an
// XmlDataLen at most once and immediately followed by an XmlData of that
// length. The first byte that breaks this shape, or a message declaring
// more than max bytes, closes the connection with a log line (quickfix's
// read loop sees the error and disconnects the session): the stream cannot
// be resynchronized safely, and the peer's resend recovers what a
// well-behaved counterparty lost. Everything else (a missing field, a bad
// checksum or value) stays quickfix's to reject as FIX says. A connection
// buffers at most max bytes here.
//
// quickfix sets no deadline on an accepted connection until a session owns
// it, so the first message must arrive whole within firstTimeout (after
// it, the session's heartbeat timeout cuts a peer that goes quiet, or
// dribbles a message that never ends).

// maxBeginString bounds BeginString ("FIX.4.4", "FIXT.1.1").
const maxBeginString = 16

// framedConn is a net.Conn whose Read yields only checked whole messages.
type framedConn struct {
	net.Conn
	max int // bytes of one message, 8= to 10=
	log *slog.Logger
	// firstTimeout is the read deadline of the first message; cleared
	// (zero) once it is checked.
	firstTimeout time.Duration

	buf        []byte // buf[start:end] is read and not yet returned
	start, end int
	checked    int   // bytes at start that are checked messages
	err        error // sticky: a refusal or the socket's read error
}

func newFramedConn(c net.Conn, limit int, firstTimeout time.Duration, log *slog.Logger) *framedConn {
	if firstTimeout > 0 {
		_ = c.SetReadDeadline(time.Now().Add(firstTimeout))
	}
	return &framedConn{Conn: c, max: limit, firstTimeout: firstTimeout, log: log}
}

// Read returns bytes of checked messages, reading and checking more when
// none are left.
func (c *framedConn) Read(p []byte) (int, error) {
	for c.checked == 0 {
		if c.err != nil {
			return 0, c.err
		}
		n, err := frame(c.buf[c.start:c.end], c.max)
		if err != nil {
			c.refuse("not a FIX message the gateway can parse safely", err)
			return 0, c.err
		}
		if n > 0 {
			c.checked = n
			if c.firstTimeout > 0 {
				_ = c.SetReadDeadline(time.Time{})
				c.firstTimeout = 0
			}
			break
		}
		c.fill()
		if c.firstTimeout > 0 && errors.Is(c.err, os.ErrDeadlineExceeded) {
			c.refuse("no whole first message in time", fmt.Errorf("none within %v", c.firstTimeout))
		}
	}
	n := copy(p, c.buf[c.start:c.start+c.checked])
	c.start += n
	c.checked -= n
	return n, nil
}

// refuse ends the connection's reads with err, and says why in the log.
func (c *framedConn) refuse(why string, err error) {
	c.err = fmt.Errorf("fix: connection from %s refused: %s: %w", c.RemoteAddr(), why, err)
	c.log.Warn("fix connection refused: "+why, "remote", c.RemoteAddr().String(), "err", err)
}

// fill reads more bytes (at least one, or sets c.err). The buffer grows
// by doubling up to max: frame refuses a message before it needs more.
func (c *framedConn) fill() {
	if c.start > 0 {
		c.end = copy(c.buf, c.buf[c.start:c.end])
		c.start = 0
	}
	if c.end == len(c.buf) {
		grown := make([]byte, min(max(2*len(c.buf), 4096), c.max))
		copy(grown, c.buf[:c.end])
		c.buf = grown
	}
	n, err := c.Conn.Read(c.buf[c.end:])
	c.end += n
	if n == 0 && err == nil {
		// A (0, nil) read, or a full buffer (a max below the size of "8=...9=..."): don't spin.
		err = errors.New("fix: empty read")
	}
	if err != nil && n == 0 {
		c.err = err
	}
}

// frame returns the length of the message at the start of b once b holds
// all of it, 0 while b is a valid beginning of one, or why it is refused.
func frame(b []byte, limit int) (int, error) {
	begin, n, err := headField(b, "8=", maxBeginString)
	if n == 0 || err != nil {
		return 0, err
	}
	// quickfix finds BodyLength as the first "9=" of the message.
	if len(begin) == 0 || bytes.IndexByte(begin, '=') >= 0 {
		return 0, fmt.Errorf("BeginString %q", begin)
	}
	length, m, err := headField(b[n:], "9=", 9)
	if m == 0 || err != nil {
		return 0, err
	}
	bodyLen, ok := atoi(length)
	if !ok || bodyLen == 0 {
		return 0, fmt.Errorf("BodyLength %q", length)
	}
	bodyStart := n + m
	total := bodyStart + bodyLen + len("10=000\x01")
	if total > limit {
		return 0, fmt.Errorf("message of %d bytes (BodyLength %d): the gateway's limit is %d", total, bodyLen, limit)
	}
	if len(b) < total {
		return 0, nil
	}
	if err := checkFields(b[bodyStart : bodyStart+bodyLen]); err != nil {
		return 0, err
	}
	t := b[bodyStart+bodyLen : total]
	if string(t[:3]) != "10=" || !isDigits(t[3:6]) || t[6] != 1 {
		return 0, fmt.Errorf("no CheckSum (10=NNN) after BodyLength %d bytes", bodyLen)
	}
	return total, nil
}

// headField reads prefix, a value of at most maxValue bytes and SOH at the
// start of b, and returns the value and the bytes read: 0 while b is
// shorter and could still be one.
func headField(b []byte, prefix string, maxValue int) ([]byte, int, error) {
	if p := min(len(b), len(prefix)); string(b[:p]) != prefix[:p] {
		return nil, 0, fmt.Errorf("%q where %q was expected", b[:p], prefix)
	}
	if len(b) < len(prefix) {
		return nil, 0, nil
	}
	v := b[len(prefix):min(len(b), len(prefix)+maxValue+1)]
	i := bytes.IndexByte(v, 1)
	switch {
	case i >= 0:
		return v[:i], len(prefix) + i + 1, nil
	case len(v) > maxValue:
		return nil, 0, fmt.Errorf("%s value longer than %d bytes", prefix, maxValue)
	}
	return nil, 0, nil
}

// checkFields checks that body is tag=value fields, each ending in SOH,
// with XmlData as quickfix reads it.
func checkFields(body []byte) error {
	const xmlDataLen, xmlData = 212, 213
	xmlLen := -1 // the length the next field must have (after a 212)
	sawXML := false
	for len(body) > 0 {
		soh := bytes.IndexByte(body, 1)
		if soh < 0 {
			return errors.New("BodyLength ends inside a field")
		}
		f := body[:soh]
		body = body[soh+1:]
		eq := bytes.IndexByte(f, '=')
		if eq < 0 {
			return fmt.Errorf("field %.32q has no '='", f)
		}
		// Tags of 1 to 9 digits fit an int32: quickfix's atoi would
		// overflow silently and alias another tag.
		tag, ok := atoi(f[:eq])
		if !ok || f[0] == '0' {
			return fmt.Errorf("tag %.32q", f[:eq])
		}
		v := f[eq+1:]
		if len(v) == 0 {
			// FIX has no empty values, and quickfix's atoi indexes the first
			// byte of an int field (MsgSeqNum, a group count, a second
			// BodyLength) without a check: a panic.
			return fmt.Errorf("tag %d has an empty value", tag)
		}
		if xmlLen >= 0 && (tag != xmlData || len(v) != xmlLen) {
			return fmt.Errorf("XmlDataLen %d not followed by an XmlData (213) of that length", xmlLen)
		}
		xmlLen = -1
		if tag == xmlDataLen {
			if sawXML {
				return errors.New("XmlDataLen (212) twice")
			}
			sawXML = true
			if xmlLen, ok = atoi(v); !ok {
				return fmt.Errorf("XmlDataLen %q", v)
			}
		}
	}
	if xmlLen >= 0 {
		return errors.New("XmlDataLen (212) without its XmlData (213)")
	}
	return nil
}

// atoi parses decimal digits (at most 9: no overflow).
func atoi(d []byte) (int, bool) {
	if len(d) == 0 || len(d) > 9 || !isDigits(d) {
		return 0, false
	}
	n := 0
	for _, c := range d {
		n = n*10 + int(c-'0')
	}
	return n, true
}

func isDigits(d []byte) bool {
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
