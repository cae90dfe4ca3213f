package protocol

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func sampleFrames() []Frame {
	var q Quote
	q.Put(Bid, 1.39231)
	q.Put(Ask, 1.39244)
	ext := extQuote()
	return []Frame{
		&Hello{Version: Version, Client: "test/1", Token: "tok", ResumeToken: "r"},
		&Welcome{Version: Version, SessionID: "s1", Server: "n1", HeartbeatMs: 1000, ResumeToken: "r2"},
		&Subscribe{Topics: []string{"EURUSD", "NZDUSD"}},
		&Subscribe{Unsubscribe: true, Topics: []string{"EURUSD"}},
		&Price{Type: TypeSnapshot, Topic: "EURUSD", Seq: 7, Time: 1399507200036000000, Flags: FlagGap, Quote: q},
		&Price{Type: TypeUpdate, Topic: "EURUSD", Seq: 8, Time: 1399507200287000000, Quote: q.Only(1 << Ask)},
		&Ping{Nonce: 42},
		&Pong{Nonce: -42},
		&Error{Code: CodeBadFrame, Reason: "bad", Topic: "X"},
		&Subscribe{Topics: []string{"BTCUSDT.trades"}, MinIntervalMs: 250},
		&Price{Type: TypeSnapshot, Topic: "BTCUSDT.trades", Seq: 3, Ops: OpsTrade, Quote: q},
		&Price{Type: TypePublish, Topic: "EURUSD", Time: 5, Quote: q},
		&Event{Type: TypeEvent, Topic: "orders.A1", Epoch: "e1", Seq: 9, Time: 10, Data: []byte{0x80}},
		&Event{Type: TypePublishEvent, Topic: "alerts", Data: []byte{}},
		&Telemetry{LagMicros: 1500, Queue: 3, Received: 99},
		&Limits{MaxBytesPerSec: 1 << 20},
		&Welcome{Version: Version, SessionID: "s2", Server: "n1", HeartbeatMs: 500, ResumeToken: "r3", Resumed: true},
		&Subscribe{Topics: []string{"orders.A1", "EURUSD"}, Positions: []StreamPosition{{Topic: "orders.A1", Seq: 41, Epoch: "9f2c"}}},
		&Event{Type: TypeEvent, Topic: "orders.A1", Epoch: "e1", Seq: 40, Time: 11, Data: []byte{0x81}, Flags: EventHistoryLost | EventSnapshot},
		&Event{Type: TypeEvent, Topic: "orders.A1", Epoch: "e1", Seq: 12, Time: 11, Data: []byte{}, Flags: EventHistoryLost},
		&Event{Type: TypePublishEvent, Topic: "alerts", Time: 3, Data: []byte{0x80}, Key: "pub-7:42"},
		// Ages (Stored, ServerTime): Stored travels as microseconds after Time.
		&Welcome{Version: Version, SessionID: "s3", Server: "n1", HeartbeatMs: 1000, ResumeToken: "r4", ServerTime: 1399507222000000000},
		&Welcome{Version: Version, SessionID: "s3", Server: "n1", HeartbeatMs: 1000, ResumeToken: "r4", Resumed: true, ServerTime: -1},
		&Pong{Nonce: 42, ServerTime: 1399507222000000000},
		&Pong{Nonce: 43, ServerTime: 1399507222000000000, Role: "active"},
		&Welcome{Version: Version, SessionID: "s4", Server: "n2", HeartbeatMs: 1000, ResumeToken: "r5", ServerTime: 7, Role: "standby"},
		&Price{Type: TypeSnapshot, Topic: "EURUSD", Seq: 7, Time: 1399507200036000000, Stored: 1399507200036123000, Quote: q},
		&Price{Type: TypeUpdate, Topic: "EURUSD", Seq: 8, Time: 1399507200287000000, Stored: 1399507200000000000, Quote: q.Only(1 << Ask)},
		// Fields after the base ones (behaviours) travel in the ext element.
		&Price{Type: TypeSnapshot, Topic: "BTCUSDT.trades", Seq: 9, Time: 11, Stored: 2011, Quote: ext},
		&Price{Type: TypeUpdate, Topic: "BTCUSDT.trades", Seq: 10, Time: 12, Stored: 3012, Quote: ext.Only(1<<VWAP | 1<<Last)},
		&Price{Type: TypeUpdate, Topic: "BTCUSDT.trades", Seq: 11, Time: 13, Quote: ext.Only(1 << VWAP)},
		&Price{Type: TypePublish, Topic: "BTCUSDT.trades", Time: 14, Quote: ext},
	}
}

// extQuote is a trade value with base and ext fields.
func extQuote() Quote {
	var q Quote
	q.Put(Last, 101.5)
	q.Put(Volume, 7)
	q.Put(Open, 100)
	q.Put(VWAP, 100.75)
	q.Put(Trades, 3)
	return q
}

// TestExtFieldsAreTrailing: a Price with fields after the base ones is,
// byte for byte, the frame of its base fields with the ext element (and
// Stored's slot) appended, which a version-1 decoder skips; the base mask
// never holds an ext bit, which a version-1 decoder would refuse.
func TestExtFieldsAreTrailing(t *testing.T) {
	q := extQuote()
	base := q.Only(BaseFields)
	enc := NewEncoder()
	for _, typ := range []FrameType{TypeSnapshot, TypeUpdate, TypePublish} {
		old, _ := enc.Append(nil, &Price{Type: typ, Topic: "T", Seq: 2, Time: 3, Stored: 5003, Quote: base})
		cur, _ := enc.Append(nil, &Price{Type: typ, Topic: "T", Seq: 2, Time: 3, Stored: 5003, Quote: q})
		if len(cur) <= len(old) || cur[0] != old[0]+1 || !bytes.Equal(cur[1:len(old)], old[1:]) {
			t.Errorf("%s: % x is not % x with one more element", typ, cur, old)
		}
		// The element a version-1 decoder skips: what follows is exactly
		// the ext array, and nothing else.
		dec := NewDecoder()
		dec.Reset(cur[len(old):])
		if err := dec.skip(); err != nil || dec.More() {
			t.Errorf("%s: trailing bytes % x are not one element: %v", typ, cur[len(old):], err)
		}
	}
	// Without Stored, an Update keeps Stored's slot as nil before ext.
	b, _ := enc.Append(nil, &Price{Type: TypeUpdate, Topic: "T", Seq: 2, Time: 3, Quote: q.Only(1 << VWAP)})
	want := unhex(t, "98 06 a1 54 02 03 00 00 c0 92 cd 04 00 cb")
	if !bytes.HasPrefix(b, want) {
		t.Errorf("ext-only update % x, want prefix % x", b, want)
	}
}

// TestAgeFieldsAreTrailing: the age additions (Price.Stored,
// Welcome.ServerTime, Pong.ServerTime) are elements appended to the frames
// an older peer knows, so its decoder, which skips trailing elements, reads
// the same frame as before; and a Publish never carries Stored.
func TestAgeFieldsAreTrailing(t *testing.T) {
	var q Quote
	q.Put(Bid, 1.5)
	enc := NewEncoder()
	for _, c := range []struct{ old, cur Frame }{
		{&Price{Type: TypeSnapshot, Topic: "EU", Seq: 2, Time: 3, Quote: q}, &Price{Type: TypeSnapshot, Topic: "EU", Seq: 2, Time: 3, Stored: 5003, Quote: q}},
		{&Price{Type: TypeUpdate, Topic: "EU", Seq: 2, Time: 3, Quote: q}, &Price{Type: TypeUpdate, Topic: "EU", Seq: 2, Time: 3, Stored: 5003, Quote: q}},
		{&Welcome{Version: 1, SessionID: "c", Resumed: true}, &Welcome{Version: 1, SessionID: "c", Resumed: true, ServerTime: 9}},
		{&Pong{Nonce: 5}, &Pong{Nonce: 5, ServerTime: 9}},
		// HA: the node's role follows the server time.
		{&Welcome{Version: 1, SessionID: "c", Resumed: true, ServerTime: 9}, &Welcome{Version: 1, SessionID: "c", Resumed: true, ServerTime: 9, Role: "standby"}},
		{&Pong{Nonce: 5, ServerTime: 9}, &Pong{Nonce: 5, ServerTime: 9, Role: "active"}},
	} {
		old, _ := enc.Append(nil, c.old)
		cur, _ := enc.Append(nil, c.cur)
		if len(cur) <= len(old) || cur[0] != old[0]+1 || !bytes.Equal(cur[1:len(old)], old[1:]) {
			t.Errorf("%#v: % x is not % x with one more element", c.cur, cur, old)
		}
	}
	pub, _ := enc.Append(nil, &Price{Type: TypePublish, Topic: "EU", Time: 3, Stored: 5003, Quote: q})
	plain, _ := enc.Append(nil, &Price{Type: TypePublish, Topic: "EU", Time: 3, Quote: q})
	if !bytes.Equal(pub, plain) {
		t.Errorf("a Publish carries Stored: % x", pub)
	}
}

func TestRoundTrip(t *testing.T) {
	enc := NewEncoder()
	var msg []byte
	frames := sampleFrames()
	for _, f := range frames {
		var err error
		if msg, err = enc.Append(msg, f); err != nil {
			t.Fatal(err)
		}
	}
	// All frames travel in one message, as the server's writer coalesces them.
	dec := NewDecoder()
	dec.Reset(msg)
	for i, want := range frames {
		if !dec.More() {
			t.Fatalf("message ended after %d frames", i)
		}
		got, err := dec.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("frame %d: got %#v, want %#v", i, got, want)
		}
	}
	if dec.More() {
		t.Fatal("bytes left over")
	}
}

// TestWireExamples pins the byte-level examples in docs/protocol.md.
func TestWireExamples(t *testing.T) {
	var q Quote
	q.Put(Bid, 1.5)
	q.Put(Ask, 1.75)
	var eurusd Quote
	eurusd.Put(Bid, 1.39231)
	eurusd.Put(Ask, 1.39244)
	cases := []struct {
		f   Frame
		hex string
	}{
		{&Hello{Version: 1, Client: "tw"}, "95 01 01 a2 74 77 a0 a0"},
		{&Subscribe{Topics: []string{"EURUSD"}}, "93 03 91 a6 45 55 52 55 53 44 00"},
		{&Subscribe{Topics: []string{"EU"}, MinIntervalMs: 250}, "93 03 91 a2 45 55 cc fa"},
		{&Event{Type: TypeEvent, Topic: "o", Epoch: "e", Seq: 1, Time: 2, Data: []byte{0xc0}}, "96 0a a1 6f a1 65 01 02 c4 01 c0"},
		{&Ping{Nonce: 5}, "92 07 05"},
		{&Price{Type: TypeUpdate, Topic: "EU", Seq: 2, Time: 3, Quote: q.Only(1 << Ask)},
			"97 06 a2 45 55 02 03 00 02 cb 3f fc 00 00 00 00 00 00"},
		{&Error{Code: CodeBadFrame, Reason: "x"}, "94 09 cd 03 e8 a1 78 a0"},
		// Session and recovery additions: trailing elements, present only when set.
		{&Welcome{Version: 1, SessionID: "c1", Server: "demo", HeartbeatMs: 1000}, "96 02 01 a2 63 31 a4 64 65 6d 6f cd 03 e8 a0"},
		{&Welcome{Version: 1, SessionID: "s1", Server: "n", HeartbeatMs: 1000, ResumeToken: "t", Resumed: true},
			"97 02 01 a2 73 31 a1 6e cd 03 e8 a1 74 c3"},
		{&Subscribe{Topics: []string{"o"}, Positions: []StreamPosition{{Topic: "o", Seq: 7, Epoch: "e"}}},
			"94 03 91 a1 6f 00 91 93 a1 6f 07 a1 65"},
		{&Event{Type: TypeEvent, Topic: "o", Epoch: "e", Seq: 9, Time: 2, Data: []byte{0x80}, Flags: EventHistoryLost | EventSnapshot},
			"97 0a a1 6f a1 65 09 02 c4 01 80 03"},
		{&Error{Code: CodeBadPosition, Reason: "x", Topic: "o"}, "94 09 cd 03 ee a1 78 a1 6f"},
		// Idempotency key: after the flags (0), present only when set.
		{&Event{Type: TypePublishEvent, Topic: "o", Data: []byte{0x80}, Key: "k"},
			"98 0d a1 6f a0 00 00 c4 01 80 00 a1 6b"},
		// Authentication (docs/auth.md).
		{&Error{Code: CodeNotEntitled, Reason: "not entitled", Topic: "orders.B"},
			"94 09 cd 03 ef ac 6e 6f 74 20 65 6e 74 69 74 6c 65 64 a8 6f 72 64 65 72 73 2e 42"},
		{&Error{Code: CodeTokenExpired, Reason: "token expired"}, "94 09 cd 07 da ad 74 6f 6b 65 6e 20 65 78 70 69 72 65 64 a0"},
		// The annotated examples of docs/protocol.md.
		{&Subscribe{Topics: []string{"orders.A1"}, Positions: []StreamPosition{{Topic: "orders.A1", Seq: 41, Epoch: "9f2c0b7e5d1a8c34"}}},
			"94 03 91 a9 6f 72 64 65 72 73 2e 41 31 00 91 93 a9 6f 72 64 65 72 73 2e 41 31 29 b0 39 66 32 63 30 62 37 65 35 64 31 61 38 63 33 34"},
		{&Event{Type: TypeEvent, Topic: "orders.A1", Epoch: "9f2c0b7e5d1a8c34", Seq: 42, Time: 1399507200036000000, Data: []byte{0x81, 0xa1, 0x6e, 0x01}},
			"96 0a a9 6f 72 64 65 72 73 2e 41 31 b0 39 66 32 63 30 62 37 65 35 64 31 61 38 63 33 34 2a cf 13 6c 0c 62 2e bf 51 00 c4 04 81 a1 6e 01"},
		{&Price{Type: TypeSnapshot, Topic: "EURUSD", Seq: 1, Time: 1399507200036000000, Quote: eurusd},
			"99 05 a6 45 55 52 55 53 44 01 cf 13 6c 0c 62 2e bf 51 00 00 03 cb 3f f6 46 e6 d9 be 4c d7 cb 3f f6 47 6f 2a 5a 46 9d 00"},
		{&Price{Type: TypeUpdate, Topic: "EURUSD", Seq: 2, Time: 1399507200287000000, Quote: eurusd.Only(1 << Ask)},
			"97 06 a6 45 55 52 55 53 44 02 cf 13 6c 0c 62 3d b5 45 c0 00 02 cb 3f f6 47 6f 2a 5a 46 9d"},
		// Ages: stored 1.5 ms after the value's time; the server's clock.
		{&Price{Type: TypeUpdate, Topic: "EU", Seq: 2, Time: 3, Stored: 1500003, Quote: q.Only(1 << Ask)},
			"98 06 a2 45 55 02 03 00 02 cb 3f fc 00 00 00 00 00 00 cd 05 dc"},
		{&Pong{Nonce: 5, ServerTime: 1399507200036000000}, "93 08 05 cf 13 6c 0c 62 2e bf 51 00"},
		{&Welcome{Version: 1, SessionID: "c1", Server: "demo", HeartbeatMs: 1000, ServerTime: 1399507200036000000},
			"98 02 01 a2 63 31 a4 64 65 6d 6f cd 03 e8 a0 c2 cf 13 6c 0c 62 2e bf 51 00"},
	}
	enc := NewEncoder()
	for _, c := range cases {
		b, err := enc.Append(nil, c.f)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := hex.DecodeString(string(bytes.ReplaceAll([]byte(c.hex), []byte(" "), nil)))
		if !bytes.Equal(b, want) {
			t.Errorf("%T: got % x, want %s", c.f, b, c.hex)
		}
	}
}

// TestOldFramesDecode: frames as version-1 peers without the session and
// recovery additions encode them still decode, with the additions zero.
func TestOldFramesDecode(t *testing.T) {
	cases := []struct {
		hex  string
		want Frame
	}{
		{"96 02 01 a2 63 31 a4 64 65 6d 6f cd 03 e8 a0", &Welcome{Version: 1, SessionID: "c1", Server: "demo", HeartbeatMs: 1000}},
		{"93 03 91 a6 45 55 52 55 53 44 00", &Subscribe{Topics: []string{"EURUSD"}}},
		{"92 03 91 a6 45 55 52 55 53 44", &Subscribe{Topics: []string{"EURUSD"}}},
		{"96 0a a1 6f a1 65 01 02 c4 01 c0", &Event{Type: TypeEvent, Topic: "o", Epoch: "e", Seq: 1, Time: 2, Data: []byte{0xc0}}},
	}
	dec := NewDecoder()
	for _, c := range cases {
		b, _ := hex.DecodeString(string(bytes.ReplaceAll([]byte(c.hex), []byte(" "), nil)))
		dec.Reset(b)
		got, err := dec.Next()
		if err != nil {
			t.Fatalf("%s: %v", c.hex, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.hex, got, c.want)
		}
	}
}

// TestSnapshotDataLimit: a state snapshot may be larger than an event.
func TestSnapshotDataLimit(t *testing.T) {
	enc := NewEncoder()
	dec := NewDecoder()
	big := make([]byte, MaxEventData+1)
	for _, c := range []struct {
		flags EventFlags
		ok    bool
	}{{0, false}, {EventHistoryLost, false}, {EventHistoryLost | EventSnapshot, true}} {
		b, err := enc.Append(nil, &Event{Type: TypeEvent, Topic: "o", Data: big, Flags: c.flags})
		if err != nil {
			t.Fatal(err)
		}
		dec.Reset(b)
		_, err = dec.Next()
		if (err == nil) != c.ok {
			t.Errorf("flags %d, %d bytes: err %v, want ok=%v", c.flags, len(big), err, c.ok)
		}
	}
}

func TestTrailingElementsIgnored(t *testing.T) {
	// A later revision's Ping with an extra element still decodes.
	msg := []byte{0x93, 0x07, 0x05, 0xa1, 'z'}
	dec := NewDecoder()
	dec.Reset(msg)
	f, err := dec.Next()
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := f.(*Ping); !ok || p.Nonce != 5 || dec.More() {
		t.Fatalf("got %#v more=%v", f, dec.More())
	}
	// So does a PublishEvent with one more element after its key; and an
	// older decoder reads a keyed PublishEvent the same way, ignoring the
	// key (docs/protocol.md, "Idempotent publishes").
	dec.Reset([]byte{0x99, 0x0d, 0xa1, 'o', 0xa0, 0x00, 0x00, 0xc4, 0x01, 0x80, 0x00, 0xa1, 'k', 0xc3})
	f, err = dec.Next()
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := f.(*Event); !ok || e.Key != "k" || dec.More() {
		t.Fatalf("got %#v more=%v", f, dec.More())
	}
}

func TestValidKey(t *testing.T) {
	for k, ok := range map[string]bool{
		"a": true, "pub-7:42": true, "550e8400-e29b-41d4-a716-446655440000": true,
		strings.Repeat("k", MaxKeyLen): true, strings.Repeat("k", MaxKeyLen+1): false,
		"": false, "a b": false, "a\x00": false, "\x7f": false, "caf\xc3\xa9": false, "a\n": false,
	} {
		if err := ValidKey(k); (err == nil) != ok {
			t.Errorf("ValidKey(%q) = %v, want ok %v", k, err, ok)
		}
	}
}

func TestMalformed(t *testing.T) {
	cases := map[string][]byte{
		"empty":            {},
		"not an array":     {0xa1, 'x'},
		"empty array":      {0x90},
		"unknown type":     {0x91, 0x63},
		"short hello":      {0x92, 0x01, 0x01},
		"string for type":  {0x92, 0xa1, 'x', 0x01},
		"mask too wide":    {0x96, 0x06, 0xa1, 'X', 0x01, 0x01, 0x00, 0xcd, 0xff, 0xff},
		"missing values":   {0x96, 0x06, 0xa1, 'X', 0x01, 0x01, 0x00, 0x03},
		"huge topic list":  {0x92, 0x03, 0xdd, 0xff, 0xff, 0xff, 0xff},
		"topic not str":    {0x92, 0x03, 0x91, 0x05},
		"flags overflow":   {0x96, 0x06, 0xa1, 'X', 0x01, 0x01, 0xcd, 0x01, 0x00, 0x00},
		"truncated":        {0x92, 0x07},
		"huge string":      {0x95, 0x01, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xff},
		"position pair":    {0x94, 0x03, 0x91, 0xa1, 'o', 0x00, 0x91, 0x92, 0xa1, 'o', 0x07},
		"position no str":  {0x94, 0x03, 0x91, 0xa1, 'o', 0x00, 0x91, 0x93, 0x07, 0x07, 0xa1, 'e'},
		"positions huge":   {0x94, 0x03, 0x91, 0xa1, 'o', 0x00, 0xdd, 0xff, 0xff, 0xff, 0xff},
		"resumed not bool": {0x97, 0x02, 0x01, 0xa0, 0xa0, 0x01, 0xa0, 0xa1, 'x'},
		"event flags wide": {0x97, 0x0a, 0xa1, 'o', 0xa1, 'e', 0x01, 0x02, 0xc4, 0x00, 0xcd, 0x01, 0x00},
		"key not a string": {0x98, 0x0d, 0xa1, 'o', 0xa0, 0x00, 0x00, 0xc4, 0x00, 0x00, 0x07},
		"ext base field":   {0x98, 0x06, 0xa1, 'X', 0x01, 0x01, 0x00, 0x00, 0xc0, 0x92, 0x01, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0},
		"ext unknown bit":  {0x98, 0x06, 0xa1, 'X', 0x01, 0x01, 0x00, 0x00, 0xc0, 0x92, 0xcd, 0x80, 0x00, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0},
		"ext few values":   {0x98, 0x06, 0xa1, 'X', 0x01, 0x01, 0x00, 0x00, 0xc0, 0x91, 0xcd, 0x06, 0x00},
		"ext many values":  {0x98, 0x06, 0xa1, 'X', 0x01, 0x01, 0x00, 0x00, 0xc0, 0x93, 0xcd, 0x02, 0x00, 0x01, 0x02},
		"ext empty":        {0x98, 0x06, 0xa1, 'X', 0x01, 0x01, 0x00, 0x00, 0xc0, 0x90},
		"ext not array":    {0x98, 0x06, 0xa1, 'X', 0x01, 0x01, 0x00, 0x00, 0xc0, 0x05},
		"ext too long":     {0x98, 0x06, 0xa1, 'X', 0x01, 0x01, 0x00, 0x00, 0xc0, 0xdc, 0x00, 0x10, 0xcd, 0x7e, 0x00},
		"ext not float":    {0x98, 0x06, 0xa1, 'X', 0x01, 0x01, 0x00, 0x00, 0xc0, 0x92, 0xcd, 0x02, 0x00, 0xa1, 'x'},
		"key too long":     append([]byte{0x98, 0x0d, 0xa1, 'o', 0xa0, 0x00, 0x00, 0xc4, 0x00, 0x00, 0xd9, MaxKeyLen + 1}, bytes.Repeat([]byte{'k'}, MaxKeyLen+1)...),
	}
	dec := NewDecoder()
	for name, msg := range cases {
		dec.Reset(msg)
		f, err := dec.Next()
		if err == nil {
			t.Errorf("%s: decoded %#v, want error", name, f)
			continue
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v does not wrap ErrMalformed", name, err)
		}
	}
}

func TestOps(t *testing.T) {
	var state, ev Quote
	pub := func(px, size float64) {
		ev = Quote{}
		ev.Put(Last, px)
		ev.Put(LastSize, size)
		ev.Put(Volume, size)
		ev.Put(High, px)
		ev.Put(Low, px)
		OpsTrade.Merge(&state, &ev)
	}
	pub(10, 1)
	pub(12, 2)
	pub(9, 3)
	want := Quote{}
	for f, v := range map[Field]float64{Last: 9, LastSize: 3, Volume: 6, High: 12, Low: 9} {
		want.Put(f, v)
	}
	if state != want {
		t.Fatalf("trade merge: got %+v, want %+v", state, want)
	}
	if OpsTrade.String() != "volume=sum,high=max,low=min" {
		t.Fatalf("String() = %q", OpsTrade.String())
	}
}

func TestValidTopic(t *testing.T) {
	for _, ok := range []string{"EURUSD", "px.BTC-USDT", "orders/acct:1"} {
		if err := ValidTopic(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a b", "x\x00", string(make([]byte, MaxTopicLen+1))} {
		if ValidTopic(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestQuoteDeltaRebuild(t *testing.T) {
	var a, b Quote
	a.Put(Bid, 1)
	a.Put(Ask, 2)
	b = a
	b.Put(Ask, 3)
	b.Put(Last, 2.5)
	d := b.Only(b.Changed(&a))
	if d.Set != 1<<Ask|1<<Last {
		t.Fatalf("delta mask %b", d.Set)
	}
	got := a
	got.Apply(&d)
	if got != b {
		t.Fatalf("rebuilt %+v, want %+v", got, b)
	}
}

func BenchmarkAppendPrice(b *testing.B) {
	var q Quote
	q.Put(Bid, 1.39231)
	q.Put(Ask, 1.39244)
	p := &Price{Type: TypeUpdate, Topic: "EURUSD", Seq: 1, Time: 1399507200036000000, Quote: q}
	enc := NewEncoder()
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		p.Seq++
		buf, _ = enc.AppendPrice(buf[:0], p)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodePrice(b *testing.B) {
	var q Quote
	q.Put(Bid, 1.39231)
	q.Put(Ask, 1.39244)
	msg, _ := NewEncoder().Append(nil, &Price{Type: TypeUpdate, Topic: "EURUSD", Seq: 1, Quote: q})
	dec := NewDecoder()
	b.ReportAllocs()
	for b.Loop() {
		dec.Reset(msg)
		if _, err := dec.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestStoredLagBounded: a stored lag whose nanoseconds would wrap an
// int64 (found by FuzzDecode) is malformed, not a wrong age.
func TestStoredLagBounded(t *testing.T) {
	q := Quote{}
	for _, tc := range []struct {
		time int64
		us   int64
		ok   bool
	}{
		{48, 1<<52 + 1, false},        // lag past the bound
		{48, 9223372036854775, false}, // wraps when scaled
		{48, 1 << 52, true},
		{math.MaxInt64 - 10, 1 << 40, false}, // sum wraps
		{-1 << 62, -(1 << 52), true},
		{math.MinInt64 + 10, -(1 << 40), false},
	} {
		b, err := NewEncoder().Append(nil, &Price{Type: TypeUpdate, Topic: "EU", Seq: 2, Time: tc.time, Stored: tc.time + 1000, Quote: q})
		if err != nil {
			t.Fatal(err)
		}
		b = appendStoredLag(t, b, tc.us)
		d := NewDecoder()
		d.Reset(b)
		fr, err := d.Next()
		if tc.ok != (err == nil) {
			t.Fatalf("time %d lag %dus: frame %#v, err %v; want ok=%v", tc.time, tc.us, fr, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error does not wrap ErrMalformed: %v", err)
		}
		if err == nil && fr.(*Price).Stored != tc.time+tc.us*1e3 {
			t.Fatalf("time %d lag %dus: Stored %d", tc.time, tc.us, fr.(*Price).Stored)
		}
	}
}

// appendStoredLag replaces the trailing lag of an encoded Price (1 µs,
// a one-byte fixint) with us, encoded as msgpack int64.
func appendStoredLag(t *testing.T, b []byte, us int64) []byte {
	t.Helper()
	if b[len(b)-1] != 1 {
		t.Fatalf("encoded frame does not end in a 1us lag: % x", b)
	}
	b = b[:len(b)-1]
	b = append(b, 0xd3)
	return binary.BigEndian.AppendUint64(b, uint64(us))
}
