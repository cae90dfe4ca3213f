package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"tickwire/ha"
)

// maxVoterBody bounds a POST /cluster/voters body.
const maxVoterBody = 4 << 10

// voterRequest is the body of POST /cluster/voters.
type voterRequest struct {
	ID   string `json:"id"`   // raft server id
	Raft string `json:"raft"` // raft address (host:port)
	Feed string `json:"feed"` // feed address (host:port), for the cascade and clients
}

// clusterStatus is the answer of GET /cluster.
type clusterStatus struct {
	ID            string             `json:"id"`
	Role          string             `json:"role"`
	Term          uint64             `json:"term"`
	Leader        ha.LeaderInfo      `json:"leader"`
	CaughtUp      bool               `json:"caught_up"`
	CommitIndex   uint64             `json:"commit_index"`
	AppliedIndex  uint64             `json:"applied_index"`
	LastLogIndex  uint64             `json:"last_log_index"`
	LastSnapshot  uint64             `json:"last_snapshot_index"`
	Members       []ha.Peer          `json:"members"`
	Configuration []ha.Peer          `json:"configuration"`
	Followers     []ha.FollowerStats `json:"followers,omitempty"`
}

// adminRoutes are the cluster's operator endpoints (admins only, like
// /clients: feedserver.Config.AdminRoutes):
//
//	GET    /cluster              this node's view: role, term, leader, indices, members
//	POST   /cluster/voters       {"id","raft","feed"}: add a voter (on the Active)
//	DELETE /cluster/voters/{id}  remove a server (on the Active)
//
// A membership change on a standby is refused 421 naming the Active, whose
// feed address the operator retries at.
func adminRoutes(n *ha.Node, log *slog.Logger) map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /cluster": func(w http.ResponseWriter, _ *http.Request) {
			st := n.Stats()
			conf, err := n.Configuration()
			if err != nil {
				http.Error(w, "raft configuration: "+err.Error(), http.StatusInternalServerError)
				return
			}
			writeJSON(w, http.StatusOK, clusterStatus{ID: n.ID(), Role: st.Role.String(), Term: st.Term, Leader: st.Leader, CaughtUp: st.CaughtUp,
				CommitIndex: st.CommitIndex, AppliedIndex: st.AppliedIndex, LastLogIndex: st.LastLogIndex, LastSnapshot: st.LastSnapshotIndex,
				Members: n.Members(), Configuration: conf, Followers: st.Followers})
		},
		"POST /cluster/voters": func(w http.ResponseWriter, r *http.Request) {
			var req voterRequest
			dec := json.NewDecoder(io.LimitReader(r.Body, maxVoterBody))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				http.Error(w, "body: want {\"id\": ..., \"raft\": \"host:port\", \"feed\": \"host:port\"}: "+err.Error(), http.StatusBadRequest)
				return
			}
			if req.ID == "" || req.Raft == "" {
				http.Error(w, "body: id and raft are required", http.StatusBadRequest)
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
			defer cancel()
			err := n.AddVoter(ctx, ha.Peer{ID: req.ID, RaftAddr: req.Raft, FeedAddr: req.Feed})
			if answerMembership(w, err) {
				log.Info("cluster: voter added", "id", req.ID, "raft", req.Raft, "feed", req.Feed, "remote", r.RemoteAddr)
				writeJSON(w, http.StatusOK, map[string]string{"added": req.ID})
			}
		},
		"DELETE /cluster/voters/{id}": func(w http.ResponseWriter, r *http.Request) {
			id := r.PathValue("id")
			ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
			defer cancel()
			if answerMembership(w, n.RemoveServer(ctx, id)) {
				log.Info("cluster: server removed", "id", id, "remote", r.RemoteAddr)
				writeJSON(w, http.StatusOK, map[string]string{"removed": id})
			}
		},
	}
}

// answerMembership answers a failed membership change and reports whether
// it succeeded.
func answerMembership(w http.ResponseWriter, err error) bool {
	var nl *ha.NotLeaderError
	switch {
	case err == nil:
		return true
	case errors.As(err, &nl):
		where := "no active node now (an election is running): retry"
		if !nl.Leader.IsZero() {
			where = fmt.Sprintf("the active node is %s (feed %s)", nl.Leader.ID, nl.Leader.FeedAddr)
		}
		http.Error(w, "not the active node: "+where, http.StatusMisdirectedRequest)
	case errors.Is(err, context.DeadlineExceeded):
		http.Error(w, "membership change not committed in time: "+err.Error(), http.StatusServiceUnavailable)
	default:
		http.Error(w, err.Error(), http.StatusBadRequest)
	}
	return false
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "encode answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}
