package fix

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quickfixgo/quickfix"
)

// TestStoreStaleCopy: a process killed between the FileStore's two writes
// (message saved, next sender number not yet advanced) leaves a stored
// message that was never sent, and the restarted session stores the real one
// under the same number. A resend must give each number once, the last
// copy, in order: the stale one would be followed by a gap fill backwards,
// which the peer rejects. Real files, reopened as after the restart.
func TestStoreStaleCopy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store") // t.TempDir is 0755: a store directory must be private
	text := fmt.Sprintf("[DEFAULT]\nConnectionType=acceptor\nFileStorePath=%s\nFileStoreSync=N\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=GW\nTargetCompID=CL\n", dir)
	settings, err := quickfix.ParseSettings(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	id := quickfix.SessionID{BeginString: "FIX.4.4", SenderCompID: "GW", TargetCompID: "CL"}
	msg := func(seq int, what string) []byte {
		return []byte(fmt.Sprintf("8=FIX.4.4\x019=10\x0135=8\x0134=%d\x0158=%s\x0110=000\x01", seq, what))
	}
	create := func() quickfix.MessageStore {
		t.Helper()
		sf, err := newStoreFactory(settings)
		if err != nil {
			t.Fatal(err)
		}
		st, err := sf.Create(id)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := create()
	for seq := 1; seq <= 3; seq++ {
		if err := st.SaveMessageAndIncrNextSenderMsgSeqNum(seq, msg(seq, "sent")); err != nil {
			t.Fatal(err)
		}
	}
	// The crash: message 4 saved, the number not advanced.
	if err := st.(*gatedStore).inner.SaveMessage(4, msg(4, "stale")); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()

	st = create()
	defer st.Close()
	if n := st.NextSenderMsgSeqNum(); n != 4 {
		t.Fatalf("next sender after the restart %d, want 4", n)
	}
	for seq := 4; seq <= 5; seq++ {
		if err := st.SaveMessageAndIncrNextSenderMsgSeqNum(seq, msg(seq, "sent")); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	if err := st.IterateMessages(2, 5, func(m []byte) error {
		_, text, _ := strings.Cut(string(m), "\x0158=")
		text, _, _ = strings.Cut(text, "\x01")
		got = append(got, fmt.Sprintf("%d:%s", storedSeq(m), text))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := "2:sent 3:sent 4:sent 5:sent"; strings.Join(got, " ") != want {
		t.Fatalf("resend range 2..5: %v, want %s", got, want)
	}
	all, err := st.GetMessages(1, 5)
	if err != nil || len(all) != 5 {
		t.Fatalf("GetMessages(1, 5): %d messages, %v; want 5", len(all), err)
	}
}
