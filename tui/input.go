package tui

import (
	"strings"
	"unicode"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// lineInput is a one-line text field: typing, cursor movement and the usual
// deletions. (bubbles/textinput would do, but it pulls in a clipboard module
// that go.sum does not hold; this is all the form and the filter need.)
type lineInput struct {
	value   []rune
	pos     int
	limit   int // most runes accepted; 0 unlimited
	width   int // cells shown (the value scrolls); 0 unlimited
	focused bool
	upper   bool // fold letters to upper case (symbols)
	prompt  string
	cursor  lipgloss.Style
}

func (in *lineInput) Value() string { return string(in.value) }

// SetValue replaces the value and puts the cursor at its end.
func (in *lineInput) SetValue(s string) {
	in.value, in.pos = in.value[:0], 0
	in.insert(s)
	in.pos = len(in.value)
}

func (in *lineInput) Reset()     { in.value, in.pos = in.value[:0], 0 }
func (in *lineInput) Focus()     { in.focused = true }
func (in *lineInput) Blur()      { in.focused = false }
func (in *lineInput) CursorEnd() { in.pos = len(in.value) }

func (in *lineInput) insert(s string) {
	for _, r := range s {
		if !unicode.IsPrint(r) || (in.limit > 0 && len(in.value) >= in.limit) {
			continue
		}
		if in.upper {
			r = unicode.ToUpper(r)
		}
		in.value = append(in.value, 0)
		copy(in.value[in.pos+1:], in.value[in.pos:])
		in.value[in.pos] = r
		in.pos++
	}
}

// Update edits the value for a key; it reports whether the value changed.
func (in *lineInput) Update(k tea.KeyMsg) bool {
	if !in.focused {
		return false
	}
	before := string(in.value)
	switch k.Type {
	case tea.KeyRunes, tea.KeySpace:
		in.insert(string(k.Runes))
	case tea.KeyBackspace, tea.KeyCtrlH:
		if in.pos > 0 {
			in.value = append(in.value[:in.pos-1], in.value[in.pos:]...)
			in.pos--
		}
	case tea.KeyDelete, tea.KeyCtrlD:
		if in.pos < len(in.value) {
			in.value = append(in.value[:in.pos], in.value[in.pos+1:]...)
		}
	case tea.KeyLeft, tea.KeyCtrlB:
		in.pos = max(in.pos-1, 0)
	case tea.KeyRight, tea.KeyCtrlF:
		in.pos = min(in.pos+1, len(in.value))
	case tea.KeyHome, tea.KeyCtrlA:
		in.pos = 0
	case tea.KeyEnd, tea.KeyCtrlE:
		in.pos = len(in.value)
	case tea.KeyCtrlU:
		in.value = append(in.value[:0], in.value[in.pos:]...)
		in.pos = 0
	case tea.KeyCtrlK:
		in.value = in.value[:in.pos]
	case tea.KeyCtrlW:
		i := in.pos
		for i > 0 && in.value[i-1] == ' ' {
			i--
		}
		for i > 0 && in.value[i-1] != ' ' {
			i--
		}
		in.value = append(in.value[:i], in.value[in.pos:]...)
		in.pos = i
	}
	return string(in.value) != before
}

// View renders the prompt and value, padded to width, with the cursor shown
// as a reversed cell (and, without colour, as the position after the text).
func (in *lineInput) View() string {
	v := in.value
	start := 0
	if in.width > 0 && in.pos >= in.width {
		start = in.pos - in.width + 1
	}
	if in.width > 0 && len(v)-start > in.width {
		v = v[:start+in.width]
	}
	var b strings.Builder
	b.WriteString(in.prompt)
	b.WriteString(string(v[start:min(in.pos, len(v))]))
	if in.focused {
		under := " "
		if in.pos < len(v) {
			under = string(v[in.pos])
		}
		b.WriteString(in.cursor.Render(under))
		if in.pos < len(v) {
			b.WriteString(string(v[in.pos+1:]))
		}
	} else if in.pos < len(v) {
		b.WriteString(string(v[in.pos:]))
	}
	shown := len(v) - start
	if in.focused && in.pos >= len(v) {
		shown++
	}
	if in.width > 0 && shown < in.width+1 {
		b.WriteString(strings.Repeat(" ", in.width+1-shown))
	}
	return b.String()
}
