package ha

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// identityFile names the cluster and node a data directory belongs to. It
// is written once, when the directory is new, before any raft file; a node
// started on a directory of another cluster or node id is refused before it
// opens (let alone writes) anything else.
const identityFile = "ha-identity.json"

// Names of the raft files in the data directory.
const (
	raftDBFile  = "raft.db"
	snapshotDir = "snapshots"
)

type identity struct {
	Format    int    `json:"format"`
	ClusterID string `json:"cluster_id"`
	NodeID    string `json:"node_id"`
}

// checkIdentity verifies (or, for a new directory, writes) dir's identity.
func checkIdentity(dir, cluster, node string) error {
	path := filepath.Join(dir, identityFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		var id identity
		if len(b) > 4096 {
			return fmt.Errorf("%w: %s: %d bytes, not an identity file", ErrIdentity, path, len(b))
		}
		if err := json.Unmarshal(b, &id); err != nil || id.Format != 1 || id.ClusterID == "" || id.NodeID == "" {
			return fmt.Errorf("%w: %s is not a valid identity file (%v)", ErrIdentity, path, err)
		}
		if id.ClusterID != cluster {
			return fmt.Errorf("%w: %s belongs to cluster %q, this node is configured for cluster %q", ErrIdentity, dir, id.ClusterID, cluster)
		}
		if id.NodeID != node {
			return fmt.Errorf("%w: %s belongs to node %q, this node is %q", ErrIdentity, dir, id.NodeID, node)
		}
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: read %s: %w", ErrIdentity, path, err)
	}
	// New directory? Raft files without an identity are someone else's (or
	// an older layout): refuse rather than guess.
	for _, name := range []string{raftDBFile, snapshotDir} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return fmt.Errorf("%w: %s has raft state (%s) but no %s: not created by this node, refusing to use it", ErrIdentity, dir, name, identityFile)
		}
	}
	b, _ = json.MarshalIndent(identity{Format: 1, ClusterID: cluster, NodeID: node}, "", "  ")
	return writeFileSync(path, append(b, '\n'))
}

// writeFileSync writes path atomically and durably: temp file, fsync,
// rename, fsync of the directory.
func writeFileSync(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("ha: write %s: %w", path, err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("ha: write %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
