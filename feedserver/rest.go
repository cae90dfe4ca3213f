package feedserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"tickwire/auth"
	"tickwire/protocol"
)

// publishRequest is the JSON body of POST /publish/{name}: Fields for a
// conflated topic, Event (any JSON value) for a sequenced one.
type publishRequest struct {
	Fields    map[string]float64 `json:"fields"`
	Event     json.RawMessage    `json:"event"`
	Time      *time.Time         `json:"time"`
	Simulated bool               `json:"simulated"`
}

func (s *Server) servePublish(w http.ResponseWriter, r *http.Request, pr *auth.Principal) {
	name := r.PathValue("name")
	if err := protocol.ValidTopic(name); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !pr.CanPublish(name) {
		s.forbidden(w, r, pr)
		return
	}
	var req publishRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxPublishBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		bodyError(w, err, "bad publish body") // 413 over Config.MaxPublishBody
		return
	}
	t := time.Now()
	if req.Time != nil {
		t = *req.Time
	}
	if s.hub.Kind(name) == Sequenced {
		if len(req.Event) == 0 {
			http.Error(w, fmt.Sprintf("topic %q is sequenced: send {\"event\": ...}", name), http.StatusBadRequest)
			return
		}
		var v any
		if err := json.Unmarshal(req.Event, &v); err != nil {
			http.Error(w, fmt.Sprintf("bad event: %v", err), http.StatusBadRequest)
			return
		}
		data, err := marshalSorted(v)
		if err != nil {
			http.Error(w, fmt.Sprintf("encode event: %v", err), http.StatusBadRequest)
			return
		}
		key := r.Header.Get("Idempotency-Key")
		if _, set := r.Header["Idempotency-Key"]; set {
			if err := protocol.ValidKey(key); err != nil {
				http.Error(w, "Idempotency-Key: "+err.Error(), http.StatusBadRequest)
				return
			}
		}
		epoch, seq, replayed, err := s.hub.publishEvents(publisher{pr, r.RemoteAddr}, name, EventIn{Data: data, Time: t.UnixNano(), Key: key})
		if err != nil {
			http.Error(w, err.Error(), publishStatus(err))
			return
		}
		if replayed {
			// As Stripe's: the answer of the original publish, marked.
			w.Header().Set("Idempotent-Replayed", "true")
		}
		writeJSON(w, map[string]any{"topic": name, "epoch": epoch, "seq": seq})
		return
	}
	if len(req.Fields) == 0 {
		http.Error(w, fmt.Sprintf("topic %q is conflated: send {\"fields\": {\"bid\": ...}}", name), http.StatusBadRequest)
		return
	}
	var q protocol.Quote
	for k, v := range req.Fields {
		f, ok := protocol.FieldByName(k)
		if !ok {
			http.Error(w, fmt.Sprintf("unknown field %q", k), http.StatusBadRequest)
			return
		}
		q.Put(f, v)
	}
	var flags protocol.Flags
	if req.Simulated {
		flags = protocol.FlagSimulated
	}
	if err := s.hub.publish(publisher{pr, r.RemoteAddr}, name, &q, t.UnixNano(), flags); err != nil {
		http.Error(w, err.Error(), publishStatus(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// publishStatus is the HTTP status of a refused publish.
func publishStatus(err error) int {
	switch {
	case errors.Is(err, ErrPaused):
		return http.StatusConflict
	case errors.Is(err, ErrTopicLimit):
		return http.StatusTooManyRequests
	case errors.Is(err, ErrKeyConflict):
		return http.StatusUnprocessableEntity
	case errors.Is(err, ErrStandby):
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// marshalSorted encodes v as msgpack with map keys sorted, so that one JSON
// event always gives the same bytes (a retried keyed publish is recognised
// by its payload's digest).
func marshalSorted(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := msgpack.NewEncoder(&b)
	enc.SetSortMapKeys(true)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (s *Server) servePause(paused bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if err := protocol.ValidTopic(name); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.hub.SetPaused(name, paused)
		s.log.Info("source ingest", "topic", name, "paused", paused)
		w.WriteHeader(http.StatusNoContent)
	}
}
