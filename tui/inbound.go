package tui

import (
	"errors"
	"strings"
	"unicode/utf8"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"tickwire/client"
	"tickwire/protocol"
)

// inbound makes the text of a message from outside the dashboard safe to
// write to a terminal (termText), before anything becomes a row, an alert
// or a status line: a symbol, order text or reason from a counterparty, a
// server or an order service cannot retitle or clear the trader's
// terminal or write its clipboard. It is the one place that does: the
// panes render what it leaves. The dashboard owns a message once it is
// sent, so its slices are cleaned in place; clean text costs nothing.
func inbound(msg tea.Msg) tea.Msg {
	switch msg := msg.(type) {
	case EventsMsg:
		for i, ev := range msg {
			msg[i] = inboundEvent(ev)
		}
	case OrdersMsg:
		for i := range msg.Orders {
			o := &msg.Orders[i]
			for _, s := range []*string{&o.ID, &o.ClOrdID, &o.OrderID, &o.Symbol, &o.Text} {
				*s = termText(*s)
			}
		}
		for i := range msg.Fills {
			f := &msg.Fills[i]
			f.ExecID, f.ID, f.Symbol = termText(f.ExecID), termText(f.ID), termText(f.Symbol)
		}
		for i := range msg.CancelRejects {
			r := &msg.CancelRejects[i]
			r.ID, r.ClOrdID, r.Reason = termText(r.ID), termText(r.ClOrdID), termText(r.Reason)
		}
	case AlertMsg:
		for i := range msg {
			msg[i].Symbol, msg[i].Text = termText(msg[i].Symbol), termText(msg[i].Text)
		}
	case orderSentMsg:
		msg.err = termError(msg.err)
		return msg
	}
	return msg
}

// inboundEvent returns ev with its text made safe. A price or an error
// that is already safe comes back as is: prices are the hot path, and the
// market tells a repeated error by its pointer.
func inboundEvent(ev client.Event) client.Event {
	switch e := ev.(type) {
	case client.PriceEvent:
		if t := termText(e.Topic); t != e.Topic {
			e.Topic = t
			return e
		}
	case client.StateEvent: // rare: no need to spare the copy
		for _, s := range []*string{&e.URL, &e.Server, &e.SessionID, &e.Transport, &e.TLS, &e.AuthRefused} {
			*s = termText(*s)
		}
		e.Err = termError(e.Err)
		return e
	case client.ErrorEvent:
		if p := e.Err; p != nil {
			c := protocol.Error{Code: p.Code, Reason: termText(p.Reason), Topic: termText(p.Topic)}
			if c != *p {
				return client.ErrorEvent{Err: &c}
			}
		}
	}
	return ev
}

// termError returns err, or an error with its text made safe if that
// text is not. Only the text survives: the dashboard shows errors, it does
// not inspect them.
func termError(err error) error {
	if err == nil {
		return nil
	}
	if s := err.Error(); termText(s) != s {
		return errors.New(termText(s))
	}
	return err
}

// termText returns s without what a terminal would act on rather than
// print: escape sequences (CSI, OSC, DCS, APC, PM, SOS, in their 7- and
// 8-bit forms, terminated or not), a lone ESC, bytes that are not UTF-8,
// and C0 and C1 control characters and DEL, which ansi.Strip keeps. Tabs
// and line breaks become spaces, so words stay apart and a text stays on
// its row. Clean text is returned as is, without allocating.
func termText(s string) string {
	if printable(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case isControl(r):
			return -1
		}
		return r
	}, ansi.Strip(s))
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	for i, r := range s {
		if isControl(r) || r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
			return false
		}
	}
	return true
}

// isControl reports whether r is a C0 or C1 control character or DEL.
func isControl(r rune) bool { return r < 0x20 || r >= 0x7f && r <= 0x9f }
