package feedserver

import (
	"fmt"
	"sync"

	"tickwire/protocol"
)

// NodeState is where a server node is in its life. A single node goes
// Booting (New) -> Active (Serve) -> Stopping (Serve's context done); the
// other states are for high availability, whose driver sets them with
// Server.SetNodeState. Exported at /metrics as tickwire_node_state{state}.
type NodeState int32

// Node states, in life order.
const (
	NodeInitial   NodeState = iota // not started
	NodeBooting                    // loading its state (journal, sessions); not serving yet
	NodeSyncing                    // catching up with the active node
	NodeStandby                    // in sync, ready to take over
	NodeSwitching                  // taking over (or handing over) the active role
	NodeActive                     // serving clients
	NodeStopping                   // shutting down
)

var nodeStateNames = [...]string{"initial", "booting", "syncing", "standby", "switching", "active", "stopping"}

// NodeStates lists every state, in order.
func NodeStates() []NodeState {
	out := make([]NodeState, len(nodeStateNames))
	for i := range out {
		out[i] = NodeState(i)
	}
	return out
}

// String returns the state's name, as in the metric's label: "active".
func (s NodeState) String() string {
	if s >= 0 && int(s) < len(nodeStateNames) {
		return nodeStateNames[s]
	}
	return fmt.Sprintf("NodeState(%d)", int32(s))
}

// NodeState returns the node's state.
func (s *Server) NodeState() NodeState { return NodeState(s.state.Load()) }

// role is what Welcome and Pong say of the node (Config.Cluster): its
// state's name, a constant string, so a Pong allocates nothing for it.
func (s *Server) role() string {
	if !s.cfg.Cluster {
		return ""
	}
	return s.NodeState().String()
}

// SetNodeState sets the node's state. Serve moves Booting to Active itself and
// any state to Stopping when its context ends; an HA driver sets the others.
func (s *Server) SetNodeState(st NodeState) {
	s.state.Store(int32(st))
	s.log.Info("node state", "state", st.String())
}

// errorCounts counts the Error frames sent, by code, for
// tickwire_errors_sent_total. Errors are rare: a mutex and a map that
// allocates once per new code are enough.
type errorCounts struct {
	mu sync.Mutex
	n  map[protocol.ErrorCode]uint64
}

// inc counts one Error frame with code.
func (e *errorCounts) inc(code protocol.ErrorCode) {
	e.mu.Lock()
	if e.n == nil {
		e.n = make(map[protocol.ErrorCode]uint64)
	}
	e.n[code]++
	e.mu.Unlock()
}

// snapshot copies the counts.
func (e *errorCounts) snapshot() map[protocol.ErrorCode]uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[protocol.ErrorCode]uint64, len(e.n))
	for k, v := range e.n {
		out[k] = v
	}
	return out
}
