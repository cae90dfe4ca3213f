package feedserver

import (
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tickwire/protocol"
)

// TestNonFinitePublishRefused: a NaN or an infinity is refused wherever a
// value enters the hub (in process, over a WebSocket), a merge topic's sum
// never overflows to one, and GET /topics/{name} never answers 200 with an
// empty body (issue 17 item 10).
func TestNonFinitePublishRefused(t *testing.T) {
	srv, url := startServer(t, Config{})
	base := "http://" + strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/ws")
	get := func(topic string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + "/topics/" + topic)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	quote := func(f protocol.Field, v float64) *protocol.Quote {
		var q protocol.Quote
		q.Put(f, v)
		return &q
	}

	// In process.
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if err := srv.Hub().Publish("EURUSD", quote(protocol.Ask, v), 1, 0); !errors.Is(err, ErrNonFinite) {
			t.Errorf("Publish ask %v: %v, want ErrNonFinite", v, err)
		}
	}
	if code, body := get("EURUSD"); code != http.StatusNotFound {
		t.Errorf("GET /topics/EURUSD after refused publishes: %d %q, want 404", code, body)
	}

	// Over a WebSocket: an Error frame naming the topic, nothing published.
	pub := dial(t, url)
	if err := pub.Send(&protocol.Price{Type: protocol.TypePublish, Topic: "GBPUSD", Time: 7, Quote: *quote(protocol.Bid, math.NaN())}); err != nil {
		t.Fatal(err)
	}
	var refused *protocol.Error
	readUntil(t, pub, 5*time.Second, func(f protocol.Frame) bool {
		refused, _ = f.(*protocol.Error)
		return refused != nil
	})
	if refused.Code != protocol.CodeBadPublish || refused.Topic != "GBPUSD" || !strings.Contains(refused.Reason, "finite") {
		t.Fatalf("NaN bid over a WebSocket: got %v, want Error 1004 for GBPUSD", refused)
	}
	if code, body := get("GBPUSD"); code != http.StatusNotFound {
		t.Errorf("GET /topics/GBPUSD after a refused NaN: %d %q, want 404", code, body)
	}

	// A merge topic's sum: the publish that would overflow it is refused,
	// the sum stays what it was.
	if err := srv.Hub().Publish("BTC.trades", quote(protocol.Volume, math.MaxFloat64), 1, 0); err != nil {
		t.Fatal(err)
	}
	if err := srv.Hub().Publish("BTC.trades", quote(protocol.Volume, math.MaxFloat64), 2, 0); !errors.Is(err, ErrNonFinite) {
		t.Errorf("a sum overflowing to +Inf: %v, want ErrNonFinite", err)
	}
	code, body := get("BTC.trades")
	if code != http.StatusOK || !strings.Contains(body, `"volume": 1.7976931348623157e+308`) {
		t.Errorf("GET /topics/BTC.trades: %d %q, want 200 with the volume before the refused publish", code, body)
	}
}

// TestWriteJSONNeverEmpty: a value JSON cannot encode is a 500 naming why,
// not a 200 with an empty body.
func TestWriteJSONNeverEmpty(t *testing.T) {
	w := httptest.NewRecorder()
	writeJSON(w, map[string]float64{"bid": math.NaN()})
	if w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), "NaN") {
		t.Fatalf("writeJSON(NaN): %d %q, want 500 naming the NaN", w.Code, w.Body.String())
	}
}
