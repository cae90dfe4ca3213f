package node

import (
	"path/filepath"

	"tickwire/internal/secfile"
	"tickwire/recovery"
	"tickwire/sessions"
)

// JournalFile is the journal's file name in a node's data directory.
const JournalFile = "journal.db"

// OpenData opens a node's durable state in dir, creating dir if missing:
// the journal of sequenced topics (JournalFile, opened with opts) and the
// session secret (sessions.SecretFile, made on first use). The caller
// closes the journal after the server has stopped.
func OpenData(dir string, opts recovery.BoltOptions) (*recovery.BoltJournal, []byte, error) {
	// The journal and the session secret are trusted as found: a directory
	// others may write to could have them swapped.
	if err := secfile.MkdirAll(dir, secfile.Dir); err != nil {
		return nil, nil, err
	}
	secret, err := sessions.LoadOrCreateSecret(filepath.Join(dir, sessions.SecretFile))
	if err != nil {
		return nil, nil, err
	}
	j, err := recovery.OpenBolt(filepath.Join(dir, JournalFile), opts)
	if err != nil {
		return nil, nil, err
	}
	return j, secret, nil
}
