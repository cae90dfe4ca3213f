package tui

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"tickwire/client"
	"tickwire/protocol"
)

// hostile are texts a counterparty, a publisher or a server could send:
// retitle and clear the terminal, write the clipboard (OSC 52, with BEL and
// with ST), a DCS, the 8-bit CSI (a raw byte and UTF-8 encoded), BEL, NUL,
// DEL, line breaks and a lone ESC.
var hostile = []string{
	"\x1b]0;PWNED\x07 \x1b[2J",
	"\x1b]52;c;ZXZpbA==\x07",
	"\x1b]52;c;ZXZpbA==\x1b\\",
	"\x1bPq#0;2;0;0;0\x1b\\",
	"\x9b2J",
	"\u009b2J",
	"\a\x00\x7f\n\r\t",
	"\x1b",
}

// evil puts a marker before every hostile text, so the test can tell that
// the text around the sequences is still shown.
func evil(marker string) string { return marker + strings.Join(hostile, "") }

// TestHostileTextNeverReachesTheTerminal renders, through the real model,
// text from every inbound path (a symbol, an order's Text, a reject and a
// cancel-reject reason, a server error, an alert, a refusal of a request,
// the connection's node, session and error) and finds no control
// character or escape sequence in the frame. Tests render with the Ascii
// profile: the dashboard's own styling emits none, so any ESC, C0 (but the
// line breaks) or C1 in the output came from outside.
func TestHostileTextNeverReachesTheTerminal(t *testing.T) {
	clk := &clock{t: t0}
	m := newModel(t, clk, &fakeOrders{}, 220, 70)
	sym := evil("SYMBOLX")
	st := connected(testURL, evil("NODE"))
	st.SessionID = evil("SESS")
	update(m, EventsMsg{
		st,
		price(sym, 1.1, 1.2, clk.t, 0),
		client.ErrorEvent{Err: &protocol.Error{Code: protocol.CodeNotEntitled, Reason: evil("ERRREASON"), Topic: evil("ERRTOPIC")}},
	})
	update(m,
		OrdersMsg{
			Orders: []Order{
				{ID: evil("ID1"), ClOrdID: "T-1", Symbol: sym, Side: SideBuy, Type: OrdTypeLimit, Qty: dec("1"), Price: dec("1.1"),
					Status: StatusRejected, Text: evil("REJECTTEXT"), Updated: clk.t},
				{ID: "T-2", ClOrdID: "T-2", Symbol: sym, Side: Side(0x9b), Type: OrdType(0x1b), TIF: TimeInForce(0x07),
					Qty: dec("1"), Status: OrdStatus(0x1b), Updated: clk.t},
			},
			Fills:         []Fill{{ExecID: evil("EXEC"), ID: "T-2", Symbol: sym, Side: SideBuy, Qty: dec("1"), Price: dec("1.1"), Time: clk.t}},
			CancelRejects: []CancelReject{{ID: "T-2", ClOrdID: "T-3", Reason: evil("CXLREASON"), Time: clk.t}},
		},
		AlertMsg{{Level: LevelWarn, Symbol: sym, Text: evil("ALERTTEXT")}},
		orderSentMsg{action: actionCancel, id: "T-2", err: errors.New(evil("SENDERR"))},
	)
	view := m.View()
	assertTermSafe(t, view)
	for _, want := range []string{"SYMBOLX", "NODE", "SESS", "ERRREASON", "ERRTOPIC", "REJECTTEXT", "CXLREASON", "ALERTTEXT", "SENDERR"} {
		if !strings.Contains(view, want) {
			t.Errorf("the frame lacks %q: the text around the sequences must stay", want)
		}
	}
	keys(m, "tab", "f") // the fills list
	assertTermSafe(t, m.View())

	update(m, EventsMsg{client.StateEvent{State: client.Reconnecting, URL: testURL, Attempt: 1,
		AuthRefused: evil("AUTHREFUSED"), Err: errors.New(evil("LINKERR"))}})
	clk.add(frameEvery) // feed data redraws at the frame rate
	view = m.View()
	assertTermSafe(t, view)
	if !strings.Contains(view, "AUTHREFUSED") {
		t.Errorf("the status bar lacks the auth refusal:\n%s", view)
	}
	update(m, EventsMsg{client.StateEvent{State: client.Closed, URL: testURL, Err: errors.New(evil("CLOSEDERR"))}})
	clk.add(frameEvery)
	view = m.View()
	assertTermSafe(t, view)
	if !strings.Contains(view, "CLOSEDERR") {
		t.Errorf("the status bar lacks the close error:\n%s", view)
	}
}

// assertTermSafe fails if frame holds anything a terminal would act on
// rather than print: ESC, a C0 control other than the line break, DEL, a C1
// control or a byte that is not UTF-8.
func assertTermSafe(t *testing.T, frame string) {
	t.Helper()
	for i, r := range frame {
		bad := r < 0x20 && r != '\n' || r >= 0x7f && r <= 0x9f || r == utf8.RuneError
		if bad {
			t.Fatalf("frame has %U at byte %d (%q):\n%q", r, i, frame[max(i-20, 0):min(i+20, len(frame))], frame)
		}
	}
}

func TestTermText(t *testing.T) {
	for in, want := range map[string]string{
		"EURUSD":                            "EURUSD",
		"€ü▸ ok":                            "€ü▸ ok",
		"a\x1b]0;PWNED\x07 \x1b[2Jb":        "a b",
		"a\x1b]52;c;ZXZpbA==\x07b":          "ab",
		"a\x9b2Jb":                          "ab",
		"a\u009b2Jb":                        "a2Jb",
		"a\x1bPqdcs\x1b\\b":                 "ab",
		"a\x1b":                             "a",
		"a\x07b\x00c\x7fd":                  "abcd",
		"line1\nline2\ttab\rcr":             "line1 line2 tab cr",
		"a\xffb":                            "ab",
		"\x1b[1;31mred\x1b[0m":              "red",
		"a\x1b]0;unterminated title, still": "a",
	} {
		if got := termText(in); got != want {
			t.Errorf("termText(%q) = %q, want %q", in, got, want)
		}
	}
	clean := "EURUSD market closed"
	if n := testing.AllocsPerRun(100, func() { _ = termText(clean) }); n != 0 {
		t.Errorf("termText allocates %v times for clean text, want 0", n)
	}
}
