package fix

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"tickwire/fix/spec"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/datadictionary"
	"github.com/quickfixgo/tag"
)

// frameAllocBudget is what checking one message may allocate, whatever it
// declares: an error's text at most (TestFrame: nothing for a message it
// accepts), plus what the fuzzing machinery allocates meanwhile, which
// TotalAlloc counts too. A declared length it trusted would cost more.
const frameAllocBudget = 64 << 10

// FuzzFraming feeds arbitrary bytes, as a counterparty's stream, to frame,
// and every message it accepts to quickfix's parser with the gateway's
// FIX 4.4 dictionary, as the session does. frame never panics, never
// claims more bytes than it has, allocates at most frameAllocBudget, and
// quickfix's parser never panics on what it accepted (it does on some of
// what it refuses: the seeds).
func FuzzFraming(f *testing.F) {
	for _, seed := range []string{
		string(newOrderBytes()),
		"8=\x01",
		"8=FIX.4.4\x019=9223372036854775807\x0135=0\x0110=000\x01",
		"8=FIX.4.4\x019=30\x0135=0\x01212=40\x01213=x\x01212=1\x01213=y\x0110=000\x01",
		"8=FIX.4.4\x019=23\x0135=0\x01212=3\x01213=a\x01b\x0110=000\x01",
		"8=FIX.4.4\x019=20\x0135=0\x01212=3\x01213=abc\x0110=000\x01",
		"8=FIX.4.4\x019=28\x0135=D\x01453=2\x01448=a\x01448=b\x0110=000\x01",
		"GET / HTTP/1.1\r\n",
	} {
		f.Add([]byte(seed))
	}
	path, err := spec.WriteFIX44(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	dd, err := datadictionary.Parse(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for len(b) > 0 {
			before := allocated()
			n, err := frame(b, 1<<10)
			if a := allocated() - before; a > frameAllocBudget {
				t.Fatalf("frame allocated %d bytes: max %d", a, frameAllocBudget)
			}
			if err != nil || n == 0 {
				return
			}
			if n > len(b) {
				t.Fatalf("frame claims %d of %d bytes", n, len(b))
			}
			_ = quickfix.ParseMessageWithDataDictionary(quickfix.NewMessage(), bytes.NewBuffer(b[:n]), dd, dd)
			b = b[n:]
		}
	})
}

// newOrderBytes is a NewOrderSingle as quickfix writes it.
func newOrderBytes() []byte {
	m := quickfix.NewMessage()
	m.Header.SetString(tag.BeginString, "FIX.4.4")
	m.Header.SetString(tag.MsgType, "D")
	m.Header.SetString(tag.SenderCompID, "CL")
	m.Header.SetString(tag.TargetCompID, "GW")
	m.Header.SetInt(tag.MsgSeqNum, 7)
	m.Header.SetField(tag.SendingTime, quickfix.FIXUTCTimestamp{Time: time.Unix(1e9, 0).UTC()})
	m.Body.SetString(tag.ClOrdID, "C1")
	m.Body.SetString(tag.Symbol, "EURUSD")
	m.Body.SetString(tag.Side, "1")
	m.Body.SetString(tag.OrdType, "2")
	m.Body.SetString(tag.Price, "1.1")
	m.Body.SetString(tag.OrderQty, "100")
	m.Header.SetInt(tag.XmlDataLen, 7)
	m.Header.SetString(tag.XmlData, "<a b=1>")
	return m.Bytes()
}

// TestFrame: what quickfix writes passes whole and costs nothing to check,
// split anywhere it waits for the rest, and each shape quickfix cannot
// take safely is refused with a reason.
func TestFrame(t *testing.T) {
	good := newOrderBytes()
	two := append(append([]byte(nil), good...), good...)
	if n, err := frame(two, 1<<10); n != len(good) || err != nil {
		t.Fatalf("frame(%q) = %d, %v; want %d", good, n, err, len(good))
	}
	for i := range len(good) {
		if n, err := frame(good[:i], 1<<10); n != 0 || err != nil {
			t.Fatalf("frame of the first %d bytes = %d, %v; want 0 (more)", i, n, err)
		}
	}
	if a := testing.AllocsPerRun(100, func() { _, _ = frame(good, 1<<10) }); a != 0 {
		t.Errorf("frame allocates %v times per message", a)
	}
	msg := func(body string) string { return bodyMessage(strings.ReplaceAll(body, "|", "\x01")) }
	for _, c := range []struct{ in, why string }{
		{"GET / HTTP", `"GE" where "8=" was expected`},
		{"8=" + strings.Repeat("F", 17), "8= value longer than 16 bytes"},
		{"8=FIX=\x019=5\x01", "BeginString"},
		{"8=FIX.4.4\x019=9223372036854775807\x01", "9= value longer than 9 bytes"},
		{"8=FIX.4.4\x019=-5\x01", "BodyLength"},
		{"8=FIX.4.4\x019=0\x01", "BodyLength"},
		{"8=FIX.4.4\x019=2000\x01", "message of 2024 bytes (BodyLength 2000): the gateway's limit is 1024"},
		{"8=FIX.4.4\x019=5\x0135=0 10=000\x01", "ends inside a field"},
		{"8=FIX.4.4\x019=5\x0135=0\x0111=000\x01", "no CheckSum"},
		{msg("35=0|58|"), "has no '='"},
		{msg("35=0|0058=x|"), "tag"},
		{msg("35=0|18446744073709551627=x|"), "tag"},
		{msg("35=0|=x|"), "tag"},
		{msg("35=0|212=40|213=x|212=1|213=y|"), "XmlDataLen 40 not followed"},
		{msg("35=0|212=1|213=x|212=1|213=y|"), "XmlDataLen (212) twice"},
		{msg("35=0|212=1|"), "without its XmlData"},
		{msg("35=0|212=x|213=y|"), `XmlDataLen "x"`},
		{msg("35=0|9=|"), "tag 9 has an empty value"},
		{msg("35=D|34=|"), "tag 34 has an empty value"},
		{msg("35=|"), "tag 35 has an empty value"},
	} {
		n, err := frame([]byte(c.in), 1<<10)
		if n != 0 || err == nil || !strings.Contains(err.Error(), c.why) {
			t.Errorf("frame(%q) = %d, %v; want an error saying %q", c.in, n, err, c.why)
		}
	}
}

// bodyMessage frames body with a true BodyLength (CheckSum 000).
func bodyMessage(body string) string {
	return "8=FIX.4.4\x019=" + strconv.Itoa(len(body)) + "\x01" + body + "10=000\x01"
}
