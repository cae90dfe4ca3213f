package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"

	"tickwire/client"
)

// statusHeight is the status bar's lines: the connection, then the numbers.
const statusHeight = 2

// statusBar tells the truth about the connection: state, server, retry
// countdown, RTT, how long since any message, the session, alerts, the clock.
type statusBar struct {
	*Common
	width  int
	mk     *market
	alerts *alertsPane
}

func (s *statusBar) SetSize(w, _ int) { s.width = w }

// connLine is the first line: what the connection is doing and with whom.
func (s *statusBar) connLine(now time.Time) string {
	st := &s.Styles.Status
	c := s.mk.conn
	node := func() string {
		n := "node " + c.Server
		if role := s.mk.role(c.URL); role != "" {
			n += " (" + role + ")"
		}
		return n
	}
	// The link as connected: its URL, and its TLS version when encrypted.
	link := c.URL
	if c.TLS != "" {
		link += "  " + c.TLS
	}
	var parts []string
	switch c.State {
	case client.Connected:
		if c.FailedOver || s.mk.fromURL != "" || s.mk.switched {
			parts = append(parts, st.Warn.Render("● FAILED OVER"), link, node())
			if s.mk.fromURL != "" {
				parts = append(parts, "from "+s.mk.fromURL)
			}
		} else {
			parts = append(parts, st.OK.Render("● connected"), link, node())
		}
		session := "session " + sessionKind(c)
		if c.SessionID != "" {
			session += " " + c.SessionID
		}
		parts = append(parts, session)
	case client.Reconnecting:
		state := fmt.Sprintf("○ reconnecting #%d", c.Attempt)
		if wait := c.NextRetry.Sub(now); wait > 0 {
			state += fmt.Sprintf(" in %.1fs", wait.Seconds())
		} else {
			state += ", dialing"
		}
		parts = append(parts, st.Bad.Render(state))
		if c.AuthRefused != "" {
			// Retrying cannot help until the credential changes: say so
			// first, before anything the width may cut.
			parts = append(parts, st.Bad.Render("auth refused: "+strings.TrimPrefix(c.AuthRefused, "unauthorized: ")))
		}
		parts = append(parts, "→ "+c.URL)
		if !s.mk.downSince.IsZero() {
			parts = append(parts, "down "+formatAge(now.Sub(s.mk.downSince)))
		}
		if c.Err != nil && c.AuthRefused == "" {
			parts = append(parts, st.Muted.Render(rootCause(c.Err)))
		}
	case client.Connecting:
		parts = append(parts, st.Warn.Render("◌ connecting"), c.URL)
	default:
		parts = append(parts, st.Bad.Render("✕ "+c.State.String()), c.URL)
		if c.Err != nil {
			parts = append(parts, c.Err.Error())
		}
	}
	return strings.Join(parts, "  ")
}

// rootCause is the innermost part of a wrapped error's text, "connection
// refused" rather than "dial ws://...: dial tcp ...: connect: connection
// refused": the URL is on the line already; the alert keeps the whole text.
func rootCause(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		return s[i+2:]
	}
	return s
}

// numbersLine is the second line: RTT, message age, alerts, errors, clock.
func (s *statusBar) numbersLine(now time.Time) string {
	var parts []string
	if s.mk.rtt > 0 {
		parts = append(parts, fmt.Sprintf("rtt %.2fms", float64(s.mk.rtt.Microseconds())/1000))
	} else {
		parts = append(parts, "rtt -")
	}
	if s.mk.lastRx.IsZero() {
		parts = append(parts, "last msg -")
	} else {
		parts = append(parts, "last msg "+formatAge(now.Sub(s.mk.lastRx))+" ago")
	}
	alerts := s.alerts.summary()
	if s.alerts.unread > 0 {
		alerts = s.Styles.Status.Warn.Render(alerts)
	}
	parts = append(parts, alerts)
	if s.mk.errors > 0 {
		parts = append(parts, s.Styles.Status.Bad.Render(fmt.Sprintf("server errors %d", s.mk.errors)))
	}
	return strings.Join(parts, "  ")
}

func (s *statusBar) View() string {
	now := s.Now()
	bar := s.Styles.Status.Bar
	clock := now.Format("15:04:05")
	l1 := truncate(s.connLine(now), s.width)
	l2 := truncate(s.numbersLine(now), max(s.width-len(clock)-1, 0))
	if gap := s.width - lipgloss.Width(l2) - len(clock); gap > 0 {
		l2 += strings.Repeat(" ", gap) + clock
	}
	pad := func(l string) string {
		if w := lipgloss.Width(l); w < s.width {
			l += strings.Repeat(" ", s.width-w)
		}
		return bar.Render(l)
	}
	return pad(l1) + "\n" + pad(l2)
}
