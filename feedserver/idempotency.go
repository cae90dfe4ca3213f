package feedserver

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"tickwire/recovery"
)

// Idempotent publishes (docs/recovery.md, "Idempotent publishes"). A publish
// may carry a key (REST: Idempotency-Key; protocol: PublishEvent.Key). The
// key is stored in the journal with its event (recovery.Record.Key, as
// keyTag: when the server received it, a digest of the payload, the key),
// so it is exactly as durable as the event. Each sequenced topic keeps an
// index of the keys of its recent events, built from the journal on the
// topic's first keyed publish after a start: a key is remembered while its
// event is among the topic's newest Config.IdempotencyEvents events and was
// received less than Config.IdempotencyWindow ago. A publish with a
// remembered key and the same payload stores nothing and gets the original
// position; with another payload it is refused (ErrKeyConflict).
//
// The window is per topic, not per publisher: the topic is what is
// journalled (so the index is rebuilt from the topic's own records), and a
// publisher's identity (its IP address in open mode) may change across the
// reconnect that causes the retry.

// Defaults of Config.IdempotencyWindow and IdempotencyEvents.
const (
	idemWindow = 5 * time.Minute
	idemEvents = 16384
)

// keyTag is the Record.Key of a keyed event: receipt time (8 bytes BE Unix
// ns) | sha256 of the payload, first 16 bytes | the key.
const keyTagHead = 8 + 16

func keyTag(at int64, digest [16]byte, key string) string {
	b := make([]byte, 0, keyTagHead+len(key))
	b = binary.BigEndian.AppendUint64(b, uint64(at))
	b = append(b, digest[:]...)
	return string(append(b, key...))
}

func digestOf(data []byte) (d [16]byte) {
	sum := sha256.Sum256(data)
	copy(d[:], sum[:])
	return d
}

// idemKey is a remembered key: settled (seq > 0) or reserved by a publish
// whose append is under way (seq 0, done open).
type idemKey struct {
	key    string
	seq    uint64
	at     int64 // receipt, Unix ns
	digest [16]byte
	done   chan struct{} // closed when the reservation is settled or released
	// While reserved: the claim holding it and the index of its event there.
	claim *idemClaim
	index int
}

// idemIndex is a sequenced topic's remembered keys. Its mutex is its own:
// never held across a journal append, and never with the shard lock.
type idemIndex struct {
	mu     sync.Mutex
	loaded bool
	epoch  string
	head   uint64              // highest seq settled or loaded
	keys   map[string]*idemKey // settled and reserved
	order  []*idemKey          // settled, in settling order, for expiry, from front on
	front  int
}

// idemPolicy is the window: how many newest events, how long.
type idemPolicy struct {
	events uint64
	window time.Duration
}

// expired reports whether settled k is out of the window as of now.
func (x *idemIndex) expired(k *idemKey, p idemPolicy, now int64) bool {
	return k.seq+p.events <= x.head || k.at <= now-int64(p.window)
}

// load fills the index from the newest p.events events of stream in the
// journal, once. Caller holds x.mu.
func (x *idemIndex) load(j recovery.Journal, stream string, p idemPolicy, now int64) error {
	if x.loaded {
		return nil
	}
	x.keys = make(map[string]*idemKey)
	head, err := j.Head(stream)
	if err != nil {
		return err
	}
	after := recovery.Position{Seq: head.Seq - min(head.Seq, p.events), Epoch: head.Epoch}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for after.Seq < head.Seq {
		es, err := j.ReadFrom(ctx, stream, after, recovery.DefaultReadLimit)
		var pe *recovery.PositionError
		if errors.As(err, &pe) && errors.Is(err, recovery.ErrPositionTooOld) {
			after.Seq = pe.First - 1 // trimmed: the window starts at the oldest retained
			continue
		}
		if err != nil {
			return err
		}
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			if len(e.Key) <= keyTagHead {
				continue
			}
			k := &idemKey{key: e.Key[keyTagHead:], seq: e.Seq, at: int64(binary.BigEndian.Uint64([]byte(e.Key[:8])))}
			copy(k.digest[:], e.Key[8:keyTagHead])
			x.settle(k, e.Epoch)
		}
		after = es[len(es)-1].Position()
	}
	x.epoch, x.head = head.Epoch, max(x.head, head.Seq)
	x.expire(p, now)
	x.loaded = true
	return nil
}

// settle records settled key k of epoch: a new epoch (another history)
// forgets every key of the old one. Caller holds x.mu.
func (x *idemIndex) settle(k *idemKey, epoch string) {
	if epoch != x.epoch {
		for key, old := range x.keys {
			if old.seq != 0 {
				delete(x.keys, key)
			}
		}
		x.order, x.front, x.epoch, x.head = x.order[:0], 0, epoch, 0
	}
	x.keys[k.key] = k
	x.order = append(x.order, k)
	x.head = max(x.head, k.seq)
}

// expire forgets the keys out of the window, oldest first. Keys settle
// nearly in seq and time order, so one settled late out of order lingers at
// most until those before it go; lookups check expiry themselves. Caller
// holds x.mu.
func (x *idemIndex) expire(p idemPolicy, now int64) {
	for x.front < len(x.order) && x.expired(x.order[x.front], p, now) {
		if k := x.order[x.front]; x.keys[k.key] == k {
			delete(x.keys, k.key)
		}
		x.order[x.front] = nil
		x.front++
	}
	// Compact once the expired prefix is half the slice: O(1) amortised.
	if x.front > len(x.order)/2 {
		n := copy(x.order, x.order[x.front:])
		clear(x.order[n:])
		x.order, x.front = x.order[:n], 0
	}
}

// idemClaim is what reserve decided for a batch: per event, the position
// of the original of a duplicate (zero: a new event to append) or the index
// of an earlier event of the same batch with the same key; and the
// reservations the batch holds.
type idemClaim struct {
	dup     []recovery.Position
	sameAs  []int // -1: none
	mine    []*idemKey
	digests [][16]byte
}

// reserve looks up the keys of evs and reserves the new ones, all or
// nothing. A key reserved by another publish under way is waited for (its
// outcome decides), holding no reservation meanwhile, so two batches can
// never wait for each other. Keyed events are stamped with their Key tag.
func (x *idemIndex) reserve(ctx context.Context, j recovery.Journal, stream string, evs []EventIn, p idemPolicy) (*idemClaim, error) {
	c := &idemClaim{dup: make([]recovery.Position, len(evs)), sameAs: make([]int, len(evs)), digests: make([][16]byte, len(evs))}
	for i := range evs {
		if evs[i].Key != "" {
			c.digests[i] = digestOf(evs[i].Data)
		}
	}
	for {
		now := time.Now().UnixNano()
		x.mu.Lock()
		if err := x.load(j, stream, p, now); err != nil {
			x.mu.Unlock()
			return nil, fmt.Errorf("idempotency keys of %q: %w", stream, err)
		}
		// Unkeyed events move the head too: the window counts every event.
		if hd, err := j.Head(stream); err == nil && hd.Epoch == x.epoch {
			x.head = max(x.head, hd.Seq)
		}
		x.expire(p, now)
		wait, err := x.reserveLocked(c, evs, p, now)
		if wait == nil && err == nil {
			x.mu.Unlock()
			return c, nil
		}
		x.releaseLocked(c)
		x.mu.Unlock()
		if err != nil {
			return nil, err
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// reserveLocked is one attempt of reserve: it returns the reservation to
// wait for, or a conflict. Caller holds x.mu.
func (x *idemIndex) reserveLocked(c *idemClaim, evs []EventIn, p idemPolicy, now int64) (wait chan struct{}, err error) {
	c.mine = c.mine[:0]
	for i := range evs {
		c.dup[i], c.sameAs[i], evs[i].tag = recovery.Position{}, -1, ""
		key := evs[i].Key
		if key == "" {
			continue
		}
		k := x.keys[key]
		if k != nil && k.seq != 0 && x.expired(k, p, now) {
			delete(x.keys, key)
			k = nil
		}
		switch {
		case k == nil:
			k = &idemKey{key: key, at: now, digest: c.digests[i], done: make(chan struct{}), claim: c, index: i}
			x.keys[key] = k
			c.mine = append(c.mine, k)
			evs[i].tag = keyTag(now, k.digest, key)
		case k.digest != c.digests[i]:
			return nil, fmt.Errorf("key %q: %w (seq %d of this topic)", key, ErrKeyConflict, k.seq)
		case k.seq != 0:
			c.dup[i] = recovery.Position{Seq: k.seq, Epoch: x.epoch}
		case k.claim == c:
			c.sameAs[i] = k.index // repeated in this batch
		default:
			return k.done, nil // another publish's, under way
		}
	}
	return nil, nil
}

// releaseLocked drops the reservations of c (its append failed, or it must
// wait): whoever waits for them looks again. Caller holds x.mu.
func (x *idemIndex) releaseLocked(c *idemClaim) {
	for _, k := range c.mine {
		delete(x.keys, k.key)
		close(k.done)
	}
	c.mine = c.mine[:0]
}

// release is releaseLocked for a failed append.
func (x *idemIndex) release(c *idemClaim) {
	x.mu.Lock()
	x.releaseLocked(c)
	x.mu.Unlock()
}

// settleAppended settles c's reservations with the positions the journal
// gave them (pos: the position of each event of the batch).
func (x *idemIndex) settleAppended(c *idemClaim, evs []EventIn, pos []recovery.Position) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for i := range evs {
		if evs[i].tag == "" {
			continue
		}
		k := x.keys[evs[i].Key]
		k.seq, k.claim = pos[i].Seq, nil
		x.settle(k, pos[i].Epoch)
		close(k.done)
	}
	c.mine = c.mine[:0]
}
