package orderwire

import (
	"bytes"
	"errors"
	"runtime"
	"testing"

	"github.com/shopspring/decimal"
)

// maxDecodeAlloc bounds what decoding one request, and encoding it again,
// may allocate: a request is at most MaxRequestBytes, so whatever it
// declares (an exponent, a length) must not cost more than a small
// multiple of that.
const maxDecodeAlloc = 256 << 10

// allocated returns the bytes this process has allocated so far.
func allocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// FuzzDecodeRequest feeds arbitrary payloads to DecodeRequest, as a trader
// (or anyone who may publish on RequestTopic) can. It never panics, never
// allocates more than maxDecodeAlloc for one input (decoding plus encoding
// what it accepted: "1e2000000" is cheap to decode and 2 MB to write out),
// refuses with a printable *Refusal, and what it accepts is bounded,
// printable and survives an encode/decode round trip.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"Action":"new","ClOrdID":"AB-1","Account":"DEMO","Symbol":"EURUSD","Side":"1","OrdType":"2","Price":"1.39231","OrderQty":"100000","TimeInForce":"3","HandlInst":"3"}`,
		`{"Action":"new","ClOrdID":"AB-2","Account":"DEMO","Symbol":"EURUSD","Side":"2","OrdType":"1","OrderQty":5}`,
		`{"Action":"replace","ClOrdID":"AB-4","OrigClOrdID":"AB-1","Account":"DEMO","OrdType":"2","Price":"1.4","OrderQty":"10","Text":"stale ack"}`,
		`{"Action":"desk-correct","OrderID":"O7","ExecRefID":"E9","LastQty":"10","LastPx":"1.1","Text":"fat finger"}`,
		`{"Action":"desk-reject-cancel","OrderID":"O7","Reason":0,"Text":"no"}`,
		`{"Action":"new","ClOrdID":"C","Account":"A","Symbol":"S","Side":"1","OrdType":"2","Price":"1","OrderQty":"1e2000000"}`,
		`{"Action":"desk-cancel","OrderID":"O1","Text":"\u001b]0;PWNED\u0007"}`,
		`{"Action":"new","ClOrdID":"\u00ffA","Account":"A","Symbol":"S","Side":"1","OrdType":"1","OrderQty":"1"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		before := allocated()
		r, err := DecodeRequest(data)
		var enc []byte
		if err == nil {
			if enc, err = r.Encode(); err != nil {
				t.Fatalf("accepted %q, cannot encode it: %v", data, err)
			}
		}
		if n := allocated() - before; n > maxDecodeAlloc {
			t.Fatalf("%d bytes allocated for a %d-byte request: max %d", n, len(data), maxDecodeAlloc)
		}
		if r == nil {
			var rf *Refusal
			if !errors.As(err, &rf) {
				t.Fatalf("%q: error %v (%T) is not a *Refusal", data, err, err)
			}
			if !PrintableText(rf.Error()) {
				t.Fatalf("%q: refusal %q is not printable text", data, rf.Error())
			}
			return
		}
		for _, s := range []string{r.ClOrdID, r.OrigClOrdID, r.Account, r.Symbol, r.OrderID, r.ExecRefID, r.Text} {
			if len(s) > MaxTextLen || !PrintableText(s) {
				t.Fatalf("%q: accepted the field %q", data, s)
			}
		}
		for _, d := range []decimal.NullDecimal{r.Price, r.OrderQty, r.LastQty, r.LastPx} {
			if d.Valid && (CheckDecimal(d.Decimal) != nil || len(d.Decimal.String()) > 2*MaxDecimalDigits) {
				t.Fatalf("%q: accepted the decimal %s", data, d.Decimal)
			}
		}
		back, err := DecodeRequest(enc)
		if err != nil {
			t.Fatalf("%q accepted, its encoding %s refused: %v", data, enc, err)
		}
		again, _ := back.Encode()
		if !bytes.Equal(enc, again) || back.ID() != r.ID() || back.Text != r.Text {
			t.Fatalf("%q: round trip %s -> %s", data, enc, again)
		}
	})
}
