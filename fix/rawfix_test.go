package fix_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/tag"
)

// rawClient is a minimal FIX 4.4 initiator over a plain socket, for the
// benchmark: quickfix's initiator spins a CPU while its writer is busy
// (see fix/conn.go), which in one process would slow the gateway it
// measures. It logs on with ResetSeqNumFlag=Y, sends buffered, and parses
// incoming messages into tag maps. No heartbeats: runs are short.
type rawClient struct {
	conn           net.Conn
	w              *bufio.Writer
	r              *bufio.Reader
	seq            int
	sender, target string
}

func dialRaw(addr, sender, target string) (*rawClient, error) {
	c := &rawClient{sender: sender, target: target}
	_, err := c.logon(addr, true)
	return c, err
}

// logon connects to addr and logs on: with reset, ResetSeqNumFlag=Y and
// sequence numbers from 1; else the next of c's. It returns the answer.
func (c *rawClient) logon(addr string, reset bool) (map[int]string, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c.conn, c.w, c.r = conn, bufio.NewWriterSize(conn, 1<<16), bufio.NewReaderSize(conn, 1<<16)
	logon := quickfix.NewMessage()
	logon.Header.SetString(tag.MsgType, "A")
	logon.Body.SetInt(tag.EncryptMethod, 0)
	logon.Body.SetInt(tag.HeartBtInt, 60)
	if reset {
		c.seq = 0
		logon.Body.SetBool(tag.ResetSeqNumFlag, true)
	}
	if err := c.send(logon); err != nil {
		return nil, err
	}
	if err := c.flush(); err != nil {
		return nil, err
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	m, err := c.read()
	if err != nil {
		return nil, err
	}
	if m[35] != "A" {
		return nil, fmt.Errorf("logon answered with %v", m)
	}
	_ = conn.SetReadDeadline(time.Time{})
	return m, nil
}

// send writes m (buffered: call flush).
func (c *rawClient) send(m *quickfix.Message) error {
	c.seq++
	m.Header.SetString(tag.BeginString, "FIX.4.4")
	m.Header.SetString(tag.SenderCompID, c.sender)
	m.Header.SetString(tag.TargetCompID, c.target)
	m.Header.SetInt(tag.MsgSeqNum, c.seq)
	m.Header.SetField(tag.SendingTime, quickfix.FIXUTCTimestamp{Time: time.Now().UTC()})
	_, err := c.w.Write(m.Bytes())
	return err
}

func (c *rawClient) flush() error { return c.w.Flush() }

// read returns the next message's fields by tag number.
func (c *rawClient) read() (map[int]string, error) {
	head, err := c.r.ReadSlice('\x01') // 8=FIX.4.4
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(head, []byte("8=")) {
		return nil, fmt.Errorf("bad message start %q", head)
	}
	bl, err := c.r.ReadSlice('\x01') // 9=N
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(string(bl[2 : len(bl)-1]))
	if err != nil {
		return nil, err
	}
	body := make([]byte, n+7) // body + "10=XXX\x01"
	if _, err := io.ReadFull(c.r, body); err != nil {
		return nil, err
	}
	m := make(map[int]string)
	for f := range bytes.SplitSeq(body[:n], []byte{1}) {
		k, v, ok := bytes.Cut(f, []byte{'='})
		if !ok {
			continue
		}
		t, _ := strconv.Atoi(string(k))
		m[t] = string(v)
	}
	return m, nil
}

func (c *rawClient) close() { _ = c.conn.Close() }
