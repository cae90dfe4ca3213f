package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/quickfixgo/tag"
	"github.com/shopspring/decimal"

	"tickwire/client"
	"tickwire/fix/fixclient"
	"tickwire/orderwire"
	"tickwire/protocol"
)

// LoadOptions configure the order flow a Load sends through a cluster.
type LoadOptions struct {
	// Traders is the number of trader clients, each with its own account
	// (T1, T2...), each connected first to a different node (so some sit on
	// standbys) with the whole node list. Default 3.
	Traders int
	// TraderRate is each trader's new orders per second. Default 5.
	TraderRate float64
	// FIXRate is the FIX counterparty's new orders per second (0: no FIX
	// counterparty). Its account is FIXAccount.
	FIXRate float64
	// FIXStore is the counterparty's message store directory. Required
	// with FIXRate.
	FIXStore string
	// Symbol of every order. Default EURUSD.
	Symbol string
	Logger *slog.Logger
}

// FIXAccount is the account of the FIX counterparty's orders.
const FIXAccount = "FIX1"

// Load is an order flow through a Local cluster: traders entering orders
// over the feed protocol, a FIX counterparty over FIX with the nodes as
// alternate hosts, and what each of them received, for Check.
type Load struct {
	l       *Local
	opts    LoadOptions
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	traders []*trader
	fix     *fixSide
	paused  chanFlag
}

// chanFlag is a boolean others wait on.
type chanFlag struct {
	mu sync.Mutex
	on bool
}

func (f *chanFlag) set(v bool) { f.mu.Lock(); f.on = v; f.mu.Unlock() }
func (f *chanFlag) get() bool  { f.mu.Lock(); defer f.mu.Unlock(); return f.on }

// trader is one trader client and what it received.
type trader struct {
	account string
	cl      *client.Client
	mu      sync.Mutex
	events  map[string][]client.SequencedEvent // by topic, in arrival order
	lost    []string                           // history-lost markers (never expected)
	sent    int
	lastPx  time.Time // when the last price arrived
	lastEvt time.Time // when the last order event arrived
	up      bool
	role    string
}

// fixSide is the FIX counterparty and what it received.
type fixSide struct {
	c       *fixclient.Client
	mu      sync.Mutex
	sent    map[string]time.Time // ClOrdID -> when sent
	msgs    []fixclient.Msg      // every message, in arrival order
	lastSeq int
	backs   []string // MsgSeqNum going back (never expected)
	firstAt map[string]time.Time
	n       int
}

// StartLoad starts the traders and the FIX counterparty against l.
func StartLoad(ctx context.Context, l *Local, opts LoadOptions) (*Load, error) {
	if opts.Traders <= 0 {
		opts.Traders = 3
	}
	if opts.TraderRate <= 0 {
		opts.TraderRate = 5
	}
	if opts.Symbol == "" {
		opts.Symbol = "EURUSD"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	ld := &Load{l: l, opts: opts, ctx: ctx, cancel: cancel}
	urls := l.URLs()
	for i := range opts.Traders {
		t := &trader{account: "T" + strconv.Itoa(i+1), events: map[string][]client.SequencedEvent{}}
		// Each starts on another node: some traders sit on standbys.
		rot := append(append([]string(nil), urls[i%len(urls):]...), urls[:i%len(urls)]...)
		t.cl = client.New(client.Options{URLs: rot, Name: "load-" + t.account,
			Topics:     []string{orderwire.AccountTopic(t.account), orderwire.AccountTopic(FIXAccount), opts.Symbol},
			MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, TelemetryEvery: -1,
			Logger: opts.Logger.With("trader", t.account)})
		ld.traders = append(ld.traders, t)
		ld.wg.Add(3)
		go func() { defer ld.wg.Done(); _ = t.cl.Run(ctx) }()
		go func() { defer ld.wg.Done(); t.receive(ctx) }()
		go func() { defer ld.wg.Done(); ld.tradeLoop(ctx, t) }()
	}
	if opts.FIXRate > 0 {
		if err := ld.startFIX(ctx); err != nil {
			cancel()
			ld.wg.Wait()
			return nil, err
		}
	}
	return ld, nil
}

func (t *trader) receive(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-t.cl.Events():
			if !ok {
				return
			}
			t.mu.Lock()
			switch ev := ev.(type) {
			case client.SequencedEvent:
				if ev.HistoryLost {
					t.lost = append(t.lost, fmt.Sprintf("%s seq %d epoch %s", ev.Topic, ev.Seq, ev.Epoch))
				} else {
					t.events[ev.Topic] = append(t.events[ev.Topic], ev)
				}
				t.lastEvt = ev.Received
			case client.PriceEvent:
				t.lastPx = ev.Received
			case client.StateEvent:
				t.up = ev.State == client.Connected
				t.role = ev.Role
			case client.RoleEvent:
				t.role = ev.Role
			}
			t.mu.Unlock()
		}
	}
}

// tradeLoop sends market orders for the trader's account at TraderRate.
// A request that cannot be sent (link down) or that is refused is no
// acknowledged order: Check counts only what reached the journal.
func (ld *Load) tradeLoop(ctx context.Context, t *trader) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / ld.opts.TraderRate))
	defer tick.Stop()
	for n := 1; ; {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if ld.paused.get() {
			continue
		}
		side := orderwire.Side('1')
		if n%2 == 0 {
			side = '2'
		}
		r := orderwire.Request{Action: orderwire.ActionNew, ClOrdID: t.account + "-" + strconv.Itoa(n), Account: t.account, Symbol: ld.opts.Symbol,
			Side: side, OrdType: '1', OrderQty: decimal.NewNullDecimal(decimal.NewFromInt(1000))}
		data, err := r.Encode()
		if err != nil {
			continue
		}
		if err := t.cl.Publish(&protocol.Event{Type: protocol.TypePublishEvent, Topic: orderwire.RequestTopic, Data: data, Key: r.ClOrdID}); err == nil {
			t.mu.Lock()
			t.sent++
			t.mu.Unlock()
			n++
		}
	}
}

func (ld *Load) startFIX(ctx context.Context) error {
	addrs := ld.l.FIXAddrs()
	// Fast failure detection (HeartBtInt 1 s), so a frozen Active (no RST)
	// is left within seconds; the next alternate host tried 100 ms later;
	// a short logon timeout, so a frozen node that still accepts TCP
	// connections does not hold the next attempt long.
	opt := fixclient.Options{SenderCompID: ld.l.opts.FIXClient, TargetCompID: "TICKWIRE", Addrs: addrs, StoreDir: ld.opts.FIXStore,
		HeartBtInt: 1, ReconnectDelay: 100 * time.Millisecond, LogonTimeout: 2 * time.Second}
	settings, err := fixclient.Settings(opt)
	if err != nil {
		return err
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := fixclient.Connect(lctx, settings, ld.opts.Logger.With("component", "fixclient"))
	if err != nil {
		return fmt.Errorf("fix counterparty: %w", err)
	}
	ld.fix = &fixSide{c: c, sent: map[string]time.Time{}, firstAt: map[string]time.Time{}}
	ld.wg.Add(2)
	go func() { defer ld.wg.Done(); ld.fix.receive(ctx) }()
	go func() { defer ld.wg.Done(); ld.fixLoop(ctx) }()
	return nil
}

func (f *fixSide) receive(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-f.c.Messages():
			now := time.Now()
			f.mu.Lock()
			f.msgs = append(f.msgs, m)
			if !m.PossDup && m.SeqNum > 0 {
				if m.SeqNum <= f.lastSeq {
					f.backs = append(f.backs, fmt.Sprintf("MsgSeqNum %d after %d: %s", m.SeqNum, f.lastSeq, m))
				}
				f.lastSeq = m.SeqNum
			}
			if cl := m.Get(tag.ClOrdID); cl != "" {
				if _, ok := f.firstAt[cl]; !ok {
					f.firstAt[cl] = now
				}
			}
			f.mu.Unlock()
		}
	}
}

// fixLoop sends market orders for FIXAccount at FIXRate while logged on
// (an order sent while logged out would wait for the next logon, queued by
// the engine, and blur the failover times).
func (ld *Load) fixLoop(ctx context.Context) {
	f := ld.fix
	tick := time.NewTicker(time.Duration(float64(time.Second) / ld.opts.FIXRate))
	defer tick.Stop()
	prefix := time.Now().UTC().Format("150405") + "-"
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if on, _ := f.c.LoggedOn(); !on || ld.paused.get() {
			continue
		}
		f.mu.Lock()
		f.n++
		cl := "F" + prefix + strconv.Itoa(f.n)
		f.sent[cl] = time.Now()
		f.mu.Unlock()
		side := byte('1')
		if f.n%2 == 0 {
			side = '2'
		}
		if err := f.c.Send(fixclient.NewOrderSingle(fixclient.Order{ClOrdID: cl, Account: FIXAccount, Symbol: ld.opts.Symbol, Side: side, OrdType: '1', Qty: "1000"})); err != nil {
			ld.opts.Logger.Warn("fix send", "err", err)
		}
	}
}

// Pause stops sending new orders (true) or resumes (false).
func (ld *Load) Pause(on bool) { ld.paused.set(on) }

// Stop stops the traders and the counterparty.
func (ld *Load) Stop() {
	ld.cancel()
	ld.wg.Wait()
	if ld.fix != nil {
		ld.fix.c.Stop()
	}
}

// Recovery is how long after an instant each side received something
// again: the FIX counterparty its first report for an order sent after it,
// each trader its first price and its first order event.
type Recovery struct {
	FIX    time.Duration   // 0: none yet
	Prices []time.Duration // per trader; 0: none yet
}

// RecoveredSince says how long after t each side got data again.
func (ld *Load) RecoveredSince(t time.Time) Recovery {
	var r Recovery
	if f := ld.fix; f != nil {
		f.mu.Lock()
		first := time.Time{}
		for cl, at := range f.firstAt {
			if s, ok := f.sent[cl]; ok && s.After(t) && (first.IsZero() || at.Before(first)) {
				first = at
			}
		}
		f.mu.Unlock()
		if !first.IsZero() {
			r.FIX = first.Sub(t)
		}
	}
	for _, tr := range ld.traders {
		tr.mu.Lock()
		d := time.Duration(0)
		if tr.lastPx.After(t) {
			d = tr.lastPx.Sub(t) // an upper bound: the first after t is at or before it
		}
		tr.mu.Unlock()
		r.Prices = append(r.Prices, d)
	}
	return r
}

// WaitRecovered waits until the counterparty (if any) and every trader
// have data again after the failure at t, and returns when each did,
// counted from t: the failover times. A trader's data counts from
// activeAt, when the new Active said so (a price still in flight from the
// old one is not data again); the counterparty's first report for an
// order sent after t can only come from the new Active.
func (ld *Load) WaitRecovered(ctx context.Context, t, activeAt time.Time) (Recovery, error) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	firstPx := make([]time.Time, len(ld.traders))
	for {
		for i, tr := range ld.traders {
			tr.mu.Lock()
			if firstPx[i].IsZero() && tr.lastPx.After(activeAt) {
				firstPx[i] = tr.lastPx
			}
			tr.mu.Unlock()
		}
		r := ld.RecoveredSince(t)
		done := ld.fix == nil || r.FIX > 0
		for i := range firstPx {
			if firstPx[i].IsZero() {
				done = false
				r.Prices[i] = 0
			} else {
				r.Prices[i] = firstPx[i].Sub(t)
			}
		}
		if done {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return r, fmt.Errorf("not every client got data again after the failover: %+v: %w", r, ctx.Err())
		case <-tick.C:
		}
	}
}

// Sent counts the orders sent: by the traders, by the counterparty.
func (ld *Load) Sent() (traders, fix int) {
	for _, t := range ld.traders {
		t.mu.Lock()
		traders += t.sent
		t.mu.Unlock()
	}
	if ld.fix != nil {
		ld.fix.mu.Lock()
		fix = ld.fix.n
		ld.fix.mu.Unlock()
	}
	return traders, fix
}

// Check waits (within ctx) for the flow to settle on the Active at index
// active, then checks what every client received against the journal the
// Active serves:
//
//   - every trader received each of its order topics' events exactly once,
//     in order (seq 1, 2, 3... in one epoch, no history lost), and the same
//     events (bytes) as a fresh reader of the Active from the start;
//   - the FIX counterparty got an answer to every order it sent, never a
//     repeated ExecID but as a PossDup resend, MsgSeqNum never went back
//     (the sequence numbers continued across every failover), and its view
//     of every order (OrdStatus, CumQty) equals the Active's book as its
//     order events on orders.FIX1 say.
//
// Stop sending first (Pause).
func (ld *Load) Check(ctx context.Context, active int) error {
	base := "http://" + ld.l.Nodes[active].Feed
	topics := []string{orderwire.AccountTopic(FIXAccount)}
	for _, t := range ld.traders {
		topics = append(topics, orderwire.AccountTopic(t.account))
	}
	if ld.fix != nil {
		if err := ld.fix.waitAnswered(ctx); err != nil {
			return err
		}
	}
	// Reports and fills of orders in flight go on for a moment after the
	// flow pauses: read the journal once it is quiet.
	if err := waitQuiet(ctx, base); err != nil {
		return err
	}
	journal, err := readAll(ctx, ld.l.Nodes[active].URL(), base, topics)
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range ld.traders {
		for _, topic := range []string{orderwire.AccountTopic(t.account), orderwire.AccountTopic(FIXAccount)} {
			if err := t.waitFor(ctx, topic, len(journal[topic])); err != nil {
				errs = append(errs, err)
				continue
			}
			errs = append(errs, t.check(topic, journal[topic]))
		}
	}
	if ld.fix != nil {
		errs = append(errs, ld.fix.check(ctx, journal[orderwire.AccountTopic(FIXAccount)]))
	}
	return errors.Join(errs...)
}

func (t *trader) waitFor(ctx context.Context, topic string, n int) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		t.mu.Lock()
		got := len(t.events[topic])
		t.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("trader %s: %s: %d events of the journal's %d arrived", t.account, topic, got, n)
		case <-tick.C:
		}
	}
}

// check compares what t received on topic with the journal's events.
func (t *trader) check(topic string, journal []client.SequencedEvent) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lost) > 0 {
		return fmt.Errorf("trader %s: history lost: %q", t.account, t.lost)
	}
	got := t.events[topic]
	if len(got) != len(journal) {
		return fmt.Errorf("trader %s: %s: %d events, the journal has %d", t.account, topic, len(got), len(journal))
	}
	for i, ev := range got {
		want := journal[i]
		if ev.Seq != uint64(i+1) || ev.Epoch != want.Epoch || ev.Seq != want.Seq || !bytes.Equal(ev.Data, want.Data) {
			return fmt.Errorf("trader %s: %s: event %d is seq %d epoch %s, the journal's is seq %d epoch %s (or another payload)",
				t.account, topic, i, ev.Seq, ev.Epoch, want.Seq, want.Epoch)
		}
	}
	return nil
}

// orderView is one order's state as a side saw it last.
type orderView struct {
	OrdStatus string
	CumQty    string
}

// check checks the counterparty's messages; book are the Active's events
// of the counterparty's account.
// waitAnswered waits for an answer to every order sent.
func (f *fixSide) waitAnswered(ctx context.Context) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		f.mu.Lock()
		missing := 0
		for cl := range f.sent {
			if _, ok := f.firstAt[cl]; !ok {
				missing++
			}
		}
		f.mu.Unlock()
		if missing == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("fix: %d orders without any report", missing)
		case <-tick.C:
		}
	}
	return nil
}

// waitQuiet waits until no sequenced topic of the node at base moves for
// half a second.
func waitQuiet(ctx context.Context, base string) error {
	prev, err := sequencedHeads(ctx, base)
	if err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the journal did not settle: %w", ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
		cur, err := sequencedHeads(ctx, base)
		if err != nil {
			return err
		}
		if fmt.Sprint(cur) == fmt.Sprint(prev) {
			return nil
		}
		prev = cur
	}
}

func (f *fixSide) check(ctx context.Context, book []client.SequencedEvent) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	want := map[string]orderView{}
	for _, ev := range book {
		oe, err := orderwire.DecodeOrderEvent(ev.Data)
		if err != nil {
			return fmt.Errorf("fix: the Active's event %d: %w", ev.Seq, err)
		}
		if r := oe.Report; r != nil && r.ExecType != 'I' {
			want[r.OrderID] = orderView{OrdStatus: string(rune(r.OrdStatus)), CumQty: r.CumQty.String()}
		}
	}
	// The book may have moved on after the counterparty's last report
	// arrived: wait for both to agree, within ctx.
	for {
		f.mu.Lock()
		var errs []error
		errs = append(errs, stringsErr("fix: MsgSeqNum went back", f.backs))
		seen := map[string]bool{}
		got := map[string]orderView{}
		for _, m := range f.msgs {
			if m.Type != "8" {
				if m.Type == "3" || m.Type == "j" || m.Type == "sent-3" {
					errs = append(errs, fmt.Errorf("fix: reject %s", m))
				}
				continue
			}
			ex := m.Get(tag.ExecID)
			if seen[ex] {
				if !m.PossDup {
					errs = append(errs, fmt.Errorf("fix: ExecID %s twice, not as a resend: %s", ex, m))
				}
				continue
			}
			seen[ex] = true
			if m.Get(tag.ExecType) != "I" {
				got[m.Get(tag.OrderID)] = orderView{OrdStatus: m.Get(tag.OrdStatus), CumQty: m.Dec(tag.CumQty).String()}
			}
		}
		f.mu.Unlock()
		for id, w := range want {
			if g, ok := got[id]; !ok || g != w {
				errs = append(errs, fmt.Errorf("fix: order %s: the counterparty has %+v, the Active's book %+v", id, g, w))
			}
		}
		for id, g := range got {
			if _, ok := want[id]; !ok {
				errs = append(errs, fmt.Errorf("fix: order %s: the counterparty has %+v, the Active's book nothing", id, g))
			}
		}
		err := errors.Join(errs...)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-tick.C:
		}
	}
}

func stringsErr(what string, s []string) error {
	if len(s) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %q", what, s)
}

// readAll reads every event of topics from the node at url (base: its
// HTTP address) from the start: the journal as the Active serves it.
func readAll(ctx context.Context, url, base string, topics []string) (map[string][]client.SequencedEvent, error) {
	heads, err := sequencedHeads(ctx, base)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cl := client.New(client.Options{URLs: []string{url}, Name: "load-check", Topics: topics, TelemetryEvery: -1, Logger: slog.New(slog.DiscardHandler)})
	done := make(chan struct{})
	go func() { defer close(done); _ = cl.Run(ctx) }()
	defer func() { cancel(); <-done }()
	out := map[string][]client.SequencedEvent{}
	complete := func() bool {
		for _, t := range topics {
			if uint64(len(out[t])) < heads[t] {
				return false
			}
		}
		return true
	}
	for !complete() {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("read the active's journal: %w", ctx.Err())
		case ev := <-cl.Events():
			if se, ok := ev.(client.SequencedEvent); ok && !se.HistoryLost {
				out[se.Topic] = append(out[se.Topic], se)
			}
		}
	}
	return out, nil
}

// sequencedHeads are the sequenced topics' last seqs, from GET /topics.
func sequencedHeads(ctx context.Context, base string) (map[string]uint64, error) {
	ts, err := topicList(ctx, base)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, t := range ts {
		if t.Kind == "sequenced" {
			out[t.Name] = t.Seq
		}
	}
	return out, nil
}

// topicKinds are the topics' kinds, from GET /topics.
func topicKinds(ctx context.Context, base string) (map[string]string, error) {
	ts, err := topicList(ctx, base)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, t := range ts {
		out[t.Name] = t.Kind
	}
	return out, nil
}

// topicEntry is one topic of GET /topics.
type topicEntry struct {
	Name string
	Kind string
	Seq  uint64
}

func topicList(ctx context.Context, base string) ([]topicEntry, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/topics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /topics: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /topics: %s %v", resp.Status, err)
	}
	var ts []topicEntry
	if err := json.Unmarshal(b, &ts); err != nil {
		return nil, fmt.Errorf("GET /topics: %w", err)
	}
	return ts, nil
}
