package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"

	"github.com/vmihailenco/msgpack/v5"
)

// Decoder limits: a frame over them is malformed, whatever msgpack says.
const (
	MaxTopicLen     = 128      // bytes in a topic name
	MaxTopicsPerSub = 1024     // topics in one Subscribe frame
	MaxStringLen    = 4096     // bytes in any other string field
	MaxRoleLen      = 32       // bytes in a node's role (Welcome, Pong)
	MaxEventData    = 32 << 10 // bytes of an Event's payload
	MaxSnapshotData = 1 << 20  // bytes of an EventSnapshot's state
	maxFrameArray   = 64       // elements in a frame array
	// maxSkipDepth bounds the nesting of a trailing element the decoder skips:
	// a later revision appends fields, not deep structures.
	maxSkipDepth = 8
)

// ErrMalformed is wrapped by every decoding error, so callers can tell bad input
// from other failures with errors.Is.
var ErrMalformed = errors.New("malformed frame")

// maxStoredLagUs bounds Price.Stored-Price.Time on the wire: about
// 142 years in microseconds, far past any replayed tick's age, and small
// enough that its nanoseconds fit an int64.
const maxStoredLagUs = 1 << 52

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// Encoder encodes frames. It reuses its buffers, so encoding allocates nothing
// once warm. An Encoder is not safe for concurrent use.
type Encoder struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
}

// NewEncoder returns an Encoder.
func NewEncoder() *Encoder {
	e := &Encoder{}
	e.enc = msgpack.NewEncoder(&e.buf)
	return e
}

// Append encodes f and appends its bytes to dst.
func (e *Encoder) Append(dst []byte, f Frame) ([]byte, error) {
	e.buf.Reset()
	if err := e.encode(f); err != nil {
		return dst, fmt.Errorf("encode %s: %w", f.FrameType(), err)
	}
	return append(dst, e.buf.Bytes()...), nil
}

// AppendPrice is Append for the hot path: no interface conversion.
func (e *Encoder) AppendPrice(dst []byte, p *Price) ([]byte, error) {
	e.buf.Reset()
	if err := e.encodePrice(p); err != nil {
		return dst, fmt.Errorf("encode %s: %w", p.Type, err)
	}
	return append(dst, e.buf.Bytes()...), nil
}

func (e *Encoder) encode(f Frame) error {
	enc := e.enc
	switch f := f.(type) {
	case *Price:
		return e.encodePrice(f)
	case *Hello:
		return firstErr(enc.EncodeArrayLen(5), enc.EncodeUint(uint64(TypeHello)), enc.EncodeUint(uint64(f.Version)),
			enc.EncodeString(f.Client), enc.EncodeString(f.Token), enc.EncodeString(f.ResumeToken))
	case *Welcome:
		// Trailing elements, only when set: v1 decoders read the first six.
		n := 6
		switch {
		case f.Role != "":
			n += 3
		case f.ServerTime != 0:
			n += 2
		case f.Resumed:
			n++
		}
		if err := firstErr(enc.EncodeArrayLen(n), enc.EncodeUint(uint64(TypeWelcome)), enc.EncodeUint(uint64(f.Version)),
			enc.EncodeString(f.SessionID), enc.EncodeString(f.Server), enc.EncodeUint(uint64(f.HeartbeatMs)),
			enc.EncodeString(f.ResumeToken)); err != nil || n == 6 {
			return err
		}
		if err := enc.EncodeBool(f.Resumed); err != nil || n == 7 {
			return err
		}
		if err := enc.EncodeInt(f.ServerTime); err != nil || n == 8 {
			return err
		}
		return enc.EncodeString(f.Role)
	case *Subscribe:
		n := 3
		if len(f.Positions) > 0 {
			n++
		}
		if err := firstErr(enc.EncodeArrayLen(n), enc.EncodeUint(uint64(f.FrameType())), enc.EncodeArrayLen(len(f.Topics))); err != nil {
			return err
		}
		for _, t := range f.Topics {
			if err := enc.EncodeString(t); err != nil {
				return err
			}
		}
		if err := enc.EncodeUint(uint64(f.MinIntervalMs)); err != nil || len(f.Positions) == 0 {
			return err
		}
		if err := enc.EncodeArrayLen(len(f.Positions)); err != nil {
			return err
		}
		for _, p := range f.Positions {
			if err := firstErr(enc.EncodeArrayLen(3), enc.EncodeString(p.Topic), enc.EncodeUint(p.Seq), enc.EncodeString(p.Epoch)); err != nil {
				return err
			}
		}
		return nil
	case *Event:
		return e.encodeEvent(f)
	case *Telemetry:
		return firstErr(enc.EncodeArrayLen(4), enc.EncodeUint(uint64(TypeTelemetry)), enc.EncodeUint(f.LagMicros),
			enc.EncodeUint(uint64(f.Queue)), enc.EncodeUint(f.Received))
	case *Limits:
		return firstErr(enc.EncodeArrayLen(2), enc.EncodeUint(uint64(TypeLimits)), enc.EncodeUint(f.MaxBytesPerSec))
	case *Ping:
		return firstErr(enc.EncodeArrayLen(2), enc.EncodeUint(uint64(TypePing)), enc.EncodeInt(f.Nonce))
	case *Pong:
		switch {
		case f.Role != "":
			return firstErr(enc.EncodeArrayLen(4), enc.EncodeUint(uint64(TypePong)), enc.EncodeInt(f.Nonce), enc.EncodeInt(f.ServerTime),
				enc.EncodeString(f.Role))
		case f.ServerTime == 0:
			return firstErr(enc.EncodeArrayLen(2), enc.EncodeUint(uint64(TypePong)), enc.EncodeInt(f.Nonce))
		}
		return firstErr(enc.EncodeArrayLen(3), enc.EncodeUint(uint64(TypePong)), enc.EncodeInt(f.Nonce), enc.EncodeInt(f.ServerTime))
	case *Error:
		return firstErr(enc.EncodeArrayLen(4), enc.EncodeUint(uint64(TypeError)), enc.EncodeUint(uint64(f.Code)),
			enc.EncodeString(f.Reason), enc.EncodeString(f.Topic))
	}
	return fmt.Errorf("unknown frame %T", f)
}

func (e *Encoder) encodePrice(p *Price) error {
	if p.Type != TypeSnapshot && p.Type != TypeUpdate && p.Type != TypePublish {
		return fmt.Errorf("price frame with type %s", p.Type)
	}
	enc := e.enc
	set := p.Quote.Set & BaseFields
	ext := p.Quote.Set & AllFields &^ BaseFields
	n := 6 + set.Count()
	// The ext element comes after Stored, so a frame with ext fields
	// carries Stored's slot (nil when unknown) on Snapshot and Update.
	storedSlot := p.Type != TypePublish && (p.Stored != 0 || ext != 0)
	if p.Type == TypeSnapshot {
		n++ // trailing Ops
	}
	if storedSlot {
		n++ // trailing Stored, after Ops
	}
	if ext != 0 {
		n++ // trailing ext, after Stored
	}
	if err := firstErr(enc.EncodeArrayLen(n), enc.EncodeUint(uint64(p.Type)), enc.EncodeString(p.Topic),
		enc.EncodeUint(p.Seq), enc.EncodeInt(p.Time), enc.EncodeUint(uint64(p.Flags)), enc.EncodeUint(uint64(set))); err != nil {
		return err
	}
	if err := e.encodeValues(&p.Quote, set); err != nil {
		return err
	}
	if p.Type == TypeSnapshot {
		if err := enc.EncodeUint(uint64(p.Ops)); err != nil {
			return err
		}
	}
	if storedSlot {
		var err error
		if p.Stored == 0 {
			err = enc.EncodeNil()
		} else {
			err = enc.EncodeInt((p.Stored - p.Time) / 1e3)
		}
		if err != nil || ext == 0 {
			return err
		}
	}
	if ext == 0 {
		return nil
	}
	// ext: [mask, one float64 per bit], bits numbered as the mask's.
	if err := firstErr(enc.EncodeArrayLen(1+ext.Count()), enc.EncodeUint(uint64(ext))); err != nil {
		return err
	}
	return e.encodeValues(&p.Quote, ext)
}

// encodeValues encodes q's values of the fields in m, in field order.
func (e *Encoder) encodeValues(q *Quote, m Mask) error {
	for ; m != 0; m &= m - 1 {
		if err := e.enc.EncodeFloat64(q.V[bits.TrailingZeros16(uint16(m))]); err != nil {
			return err
		}
	}
	return nil
}

// AppendEvent is Append for sequenced events: no interface conversion.
func (e *Encoder) AppendEvent(dst []byte, ev *Event) ([]byte, error) {
	e.buf.Reset()
	if err := e.encodeEvent(ev); err != nil {
		return dst, fmt.Errorf("encode %s: %w", ev.Type, err)
	}
	return append(dst, e.buf.Bytes()...), nil
}

func (e *Encoder) encodeEvent(ev *Event) error {
	if ev.Type != TypeEvent && ev.Type != TypePublishEvent {
		return fmt.Errorf("event frame with type %s", ev.Type)
	}
	enc := e.enc
	n := 6
	if ev.Flags != 0 || ev.Key != "" {
		n++ // trailing elements, only when set
	}
	if ev.Key != "" {
		n++
	}
	if err := firstErr(enc.EncodeArrayLen(n), enc.EncodeUint(uint64(ev.Type)), enc.EncodeString(ev.Topic),
		enc.EncodeString(ev.Epoch), enc.EncodeUint(ev.Seq), enc.EncodeInt(ev.Time), enc.EncodeBytes(ev.Data)); err != nil || n == 6 {
		return err
	}
	if err := enc.EncodeUint(uint64(ev.Flags)); err != nil || ev.Key == "" {
		return err
	}
	return enc.EncodeString(ev.Key)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Decoder decodes the frames of one WebSocket message. Reuse it across messages
// with Reset. A Decoder is not safe for concurrent use.
//
// Every length a peer declares (str, bin, array, map, ext) is read here, not by
// msgpack, and checked against its limit and against the bytes left in the
// message before anything is allocated for it; msgpack decodes only scalars.
type Decoder struct {
	msg []byte // what r reads: strings and data are copied out of it
	r   bytes.Reader
	dec *msgpack.Decoder
}

// NewDecoder returns a Decoder with nothing to read; call Reset.
func NewDecoder() *Decoder {
	d := &Decoder{}
	d.dec = msgpack.NewDecoder(&d.r)
	return d
}

// Reset makes d read the frames in msg. Every decoded string and byte slice
// is a copy: msg may be reused once its frames are decoded.
func (d *Decoder) Reset(msg []byte) {
	d.msg = msg
	d.r.Reset(msg)
	d.dec.Reset(&d.r)
}

// More reports whether unread bytes remain.
func (d *Decoder) More() bool { return d.r.Len() > 0 }

// PeekType returns the type of the next frame without consuming anything, so
// that a caller can refuse a frame by its type without decoding its body.
func (d *Decoder) PeekType() (FrameType, error) {
	off := len(d.msg) - d.r.Len()
	t, _, err := d.frameHeader()
	_, _ = d.r.Seek(int64(off), io.SeekStart)
	return t, err
}

// Next decodes the next frame. After an error the rest of the message cannot be
// trusted and should be dropped. Errors wrap ErrMalformed.
func (d *Decoder) Next() (Frame, error) {
	t, n, err := d.frameHeader()
	if err != nil {
		return nil, err
	}
	f, used, err := d.body(t, n)
	if err != nil {
		return nil, err
	}
	// Forward compatibility: skip elements a later revision appended.
	for i := used; i < n; i++ {
		if err := d.skip(); err != nil {
			return nil, malformed("%s: trailing element: %v", t, err)
		}
	}
	return f, nil
}

// frameHeader reads a frame's array header and type, and returns the type
// and the number of elements after it.
func (d *Decoder) frameHeader() (FrameType, int, error) {
	n, err := d.arrayLen("frame", maxFrameArray, 1)
	if err != nil {
		return 0, 0, err
	}
	if n < 1 {
		return 0, 0, malformed("empty frame array")
	}
	var t uint8
	err = d.u8(&t, "frame type")
	return FrameType(t), n - 1, err
}

// body decodes the n elements after the type and returns how many it consumed.
func (d *Decoder) body(t FrameType, n int) (Frame, int, error) {
	need := func(k int) error {
		if n < k {
			return malformed("%s needs %d elements, got %d", t, k, n)
		}
		return nil
	}
	switch t {
	case TypeHello:
		if err := need(4); err != nil {
			return nil, 0, err
		}
		h := &Hello{}
		err := firstErr(d.u32(&h.Version, "version"), d.str(&h.Client, "client", MaxStringLen),
			d.str(&h.Token, "token", MaxStringLen), d.str(&h.ResumeToken, "resume token", MaxStringLen))
		return h, 4, err
	case TypeWelcome:
		if err := need(5); err != nil {
			return nil, 0, err
		}
		w := &Welcome{}
		err := firstErr(d.u32(&w.Version, "version"), d.str(&w.SessionID, "session id", MaxStringLen),
			d.str(&w.Server, "server", MaxStringLen), d.u32(&w.HeartbeatMs, "heartbeat"),
			d.str(&w.ResumeToken, "resume token", MaxStringLen))
		if err != nil || n < 6 {
			return w, 5, err
		}
		if w.Resumed, err = d.dec.DecodeBool(); err != nil {
			return nil, 0, malformed("resumed: %v", err)
		}
		if n < 7 {
			return w, 6, nil
		}
		if err := d.i64(&w.ServerTime, "server time"); err != nil || n < 8 {
			return w, 7, err
		}
		return w, 8, d.str(&w.Role, "role", MaxRoleLen)
	case TypeSubscribe, TypeUnsubscribe:
		if err := need(1); err != nil {
			return nil, 0, err
		}
		k, err := d.arrayLen("topics", MaxTopicsPerSub, 1)
		if err != nil {
			return nil, 0, err
		}
		s := &Subscribe{Unsubscribe: t == TypeUnsubscribe, Topics: make([]string, k)}
		for i := range s.Topics {
			if err := d.str(&s.Topics[i], "topic", MaxTopicLen); err != nil {
				return nil, 0, err
			}
		}
		if n < 2 {
			return s, 1, nil
		}
		if err := d.u32(&s.MinIntervalMs, "min interval"); err != nil || n < 3 {
			return s, 2, err
		}
		if err := d.positions(s, t); err != nil {
			return nil, 0, err
		}
		return s, 3, nil
	case TypeEvent, TypePublishEvent:
		if err := need(5); err != nil {
			return nil, 0, err
		}
		ev := &Event{Type: t}
		if err := firstErr(d.str(&ev.Topic, "topic", MaxTopicLen), d.str(&ev.Epoch, "epoch", MaxStringLen),
			d.u64(&ev.Seq, "seq"), d.i64(&ev.Time, "time")); err != nil {
			return nil, 0, err
		}
		// The limit depends on the flags, which follow: check the larger
		// one now and copy the data once the flags are known.
		data, err := d.bin("data", MaxSnapshotData)
		if err != nil {
			return nil, 0, err
		}
		used := 5
		if n > 5 {
			var flags uint8
			if err := d.u8(&flags, "event flags"); err != nil {
				return nil, 0, err
			}
			ev.Flags = EventFlags(flags)
			used++
		}
		if n > 6 {
			if err := d.str(&ev.Key, "idempotency key", MaxKeyLen); err != nil {
				return nil, 0, err
			}
			used++
		}
		limit := MaxEventData
		if ev.Flags&EventSnapshot != 0 {
			limit = MaxSnapshotData
		}
		if len(data) > limit {
			return nil, 0, malformed("%s data of %d bytes (max %d)", t, len(data), limit)
		}
		ev.Data = append([]byte{}, data...)
		return ev, used, nil
	case TypeTelemetry:
		if err := need(3); err != nil {
			return nil, 0, err
		}
		tm := &Telemetry{}
		return tm, 3, firstErr(d.u64(&tm.LagMicros, "lag"), d.u32(&tm.Queue, "queue"), d.u64(&tm.Received, "received"))
	case TypeLimits:
		if err := need(1); err != nil {
			return nil, 0, err
		}
		l := &Limits{}
		return l, 1, d.u64(&l.MaxBytesPerSec, "max bytes per second")
	case TypeSnapshot, TypeUpdate, TypePublish:
		if err := need(5); err != nil {
			return nil, 0, err
		}
		p := &Price{Type: t}
		var flags uint8
		var mask uint16
		if err := firstErr(d.str(&p.Topic, "topic", MaxTopicLen), d.u64(&p.Seq, "seq"), d.i64(&p.Time, "time"),
			d.u8(&flags, "flags"), d.u16(&mask, "mask")); err != nil {
			return nil, 0, err
		}
		p.Flags = Flags(flags)
		p.Quote.Set = Mask(mask)
		if p.Quote.Set&^BaseFields != 0 {
			return nil, 0, malformed("%s mask %#x has unknown fields", t, mask)
		}
		if err := need(5 + p.Quote.Set.Count()); err != nil {
			return nil, 0, err
		}
		if err := d.values(&p.Quote, p.Quote.Set, t); err != nil {
			return nil, 0, err
		}
		used := 5 + p.Quote.Set.Count()
		if t == TypeSnapshot && n > used {
			var ops uint32
			if err := d.u32(&ops, "ops"); err != nil {
				return nil, 0, err
			}
			p.Ops = Ops(ops)
			used++
		}
		if t != TypePublish && n > used && d.nilNext() {
			used++ // Stored's slot before an ext element, unknown
		} else if t != TypePublish && n > used {
			var us int64
			if err := d.i64(&us, "stored"); err != nil {
				return nil, 0, err
			}
			// The lag comes from outside: bound it before scaling so
			// neither the product nor the sum wraps (a wrapped age
			// would read as fresh).
			if us > maxStoredLagUs || us < -maxStoredLagUs {
				return nil, 0, malformed("%s stored lag %dus out of range", t, us)
			}
			stored := p.Time + us*1e3
			if (us > 0 && stored < p.Time) || (us < 0 && stored > p.Time) {
				return nil, 0, malformed("%s stored time overflows", t)
			}
			p.Stored = stored
			used++
		}
		if n > used {
			if err := d.ext(&p.Quote, t); err != nil {
				return nil, 0, err
			}
			used++
		}
		return p, used, nil
	case TypePing, TypePong:
		if err := need(1); err != nil {
			return nil, 0, err
		}
		var nonce int64
		if err := d.i64(&nonce, "nonce"); err != nil {
			return nil, 0, err
		}
		if t == TypePing {
			return &Ping{Nonce: nonce}, 1, nil
		}
		pong := &Pong{Nonce: nonce}
		if n < 2 {
			return pong, 1, nil
		}
		if err := d.i64(&pong.ServerTime, "server time"); err != nil || n < 3 {
			return pong, 2, err
		}
		return pong, 3, d.str(&pong.Role, "role", MaxRoleLen)
	case TypeError:
		if err := need(3); err != nil {
			return nil, 0, err
		}
		e := &Error{}
		var code uint16
		err := firstErr(d.u16(&code, "code"), d.str(&e.Reason, "reason", MaxStringLen), d.str(&e.Topic, "topic", MaxTopicLen))
		e.Code = ErrorCode(code)
		return e, 3, err
	}
	return nil, 0, malformed("unknown frame type %d", uint8(t))
}

// values decodes one float64 per field of m into q.
func (d *Decoder) values(q *Quote, m Mask, t FrameType) error {
	for ; m != 0; m &= m - 1 {
		f := bits.TrailingZeros16(uint16(m))
		v, err := d.dec.DecodeFloat64()
		if err != nil {
			return malformed("%s field %s: %v", t, Field(f), err)
		}
		q.V[f] = v
	}
	return nil
}

// ext decodes a Price's ext element, [mask, one float64 per bit], the
// fields after the base ones, into q.
func (d *Decoder) ext(q *Quote, t FrameType) error {
	// A float64 takes 9 bytes, but the mask comes first: 1 byte each
	// bounds the header, the count check below the rest.
	k, err := d.arrayLen("ext", 1+int(NumFields-Low-1), 1)
	if err != nil {
		return err
	}
	if k < 1 {
		return malformed("%s ext is empty", t)
	}
	var mask uint16
	if err := d.u16(&mask, "ext mask"); err != nil {
		return err
	}
	m := Mask(mask)
	if m&^(AllFields&^BaseFields) != 0 {
		return malformed("%s ext mask %#x has unknown or base fields", t, mask)
	}
	if m.Count() != k-1 {
		return malformed("%s ext mask %#x has %d fields, %d values", t, mask, m.Count(), k-1)
	}
	q.Set |= m
	return d.values(q, m, t)
}

// nilNext reports whether the next value is nil, consuming it if so.
func (d *Decoder) nilNext() bool {
	if b, err := d.r.ReadByte(); err == nil {
		if b == 0xc0 {
			return true
		}
		_ = d.r.UnreadByte()
	}
	return false
}

// positions decodes a Subscribe's positions: an array of [topic, seq, epoch].
func (d *Decoder) positions(s *Subscribe, t FrameType) error {
	// A position takes at least 4 bytes: a fixarray and three 1-byte values.
	k, err := d.arrayLen("positions", MaxTopicsPerSub, 4)
	if err != nil {
		return err
	}
	if k == 0 {
		return nil
	}
	s.Positions = make([]StreamPosition, k)
	for i := range s.Positions {
		p := &s.Positions[i]
		m, err := d.arrayLen("position", 3, 1)
		if err != nil || m != 3 {
			return malformed("%s position %d is not [topic, seq, epoch]", t, i)
		}
		if err := firstErr(d.str(&p.Topic, "position topic", MaxTopicLen), d.u64(&p.Seq, "position seq"),
			d.str(&p.Epoch, "position epoch", MaxStringLen)); err != nil {
			return err
		}
	}
	return nil
}

func (d *Decoder) str(dst *string, what string, max int) error {
	b, err := d.lengthPrefixed(kindStr, what, max)
	if err != nil {
		return err
	}
	*dst = string(b)
	return nil
}

// bin returns the next bin's bytes, unread so far: they are part of the
// message, for the caller to copy.
func (d *Decoder) bin(what string, max int) ([]byte, error) {
	return d.lengthPrefixed(kindBin, what, max)
}

// lengthPrefixed returns the bytes of the next str or bin (as k says),
// without copying them, once its declared length is checked against max and
// against the bytes left in the message.
func (d *Decoder) lengthPrefixed(k kind, what string, max int) ([]byte, error) {
	c, got, n, err := d.header()
	if err != nil {
		return nil, malformed("%s: %v", what, err)
	}
	if got != k {
		return nil, malformed("%s is not a %s (code %#x)", what, k, c)
	}
	if n > max {
		return nil, malformed("%s of %d bytes (max %d)", what, n, max)
	}
	if n > d.r.Len() {
		return nil, malformed("%s of %d bytes, %d left in the message", what, n, d.r.Len())
	}
	return d.take(n), nil
}

// arrayLen reads an array header and returns its length, once checked
// against max and against the bytes left in the message, where each element
// takes at least minSize bytes.
func (d *Decoder) arrayLen(what string, max, minSize int) (int, error) {
	c, k, n, err := d.header()
	if err != nil {
		return 0, malformed("%s: %v", what, err)
	}
	if k != kindArray {
		return 0, malformed("%s is not an array (code %#x)", what, c)
	}
	if n > max {
		return 0, malformed("%s of %d elements (max %d)", what, n, max)
	}
	if n*minSize > d.r.Len() {
		return 0, malformed("%s of %d elements, %d bytes left in the message", what, n, d.r.Len())
	}
	return n, nil
}

// take returns the next n bytes of the message (n <= d.r.Len()) and moves
// past them.
func (d *Decoder) take(n int) []byte {
	off := len(d.msg) - d.r.Len()
	_, _ = d.r.Seek(int64(n), io.SeekCurrent)
	return d.msg[off : off+n : off+n]
}

// skip moves past one element without decoding it. It is iterative, with
// the elements left in each open array or map on a fixed stack: no input can
// grow the goroutine's stack or make it allocate, and nesting deeper than
// maxSkipDepth is refused.
func (d *Decoder) skip() error {
	var left [maxSkipDepth + 1]int // elements still to skip at each depth
	left[0] = 1
	depth := 0
	for {
		for left[depth] == 0 {
			if depth == 0 {
				return nil
			}
			depth--
		}
		left[depth]--
		_, k, n, err := d.header()
		if err != nil {
			return err
		}
		switch k {
		case kindArray, kindMap:
			per := 1 // values per entry
			if k == kindMap {
				per = 2
			}
			if n > d.r.Len()/per {
				return fmt.Errorf("%s of %d entries, %d bytes left in the message", k, n, d.r.Len())
			}
			n *= per
			if n == 0 {
				continue
			}
			if depth == maxSkipDepth {
				return fmt.Errorf("nested deeper than %d", maxSkipDepth)
			}
			depth++
			left[depth] = n
		default:
			if n > d.r.Len() {
				return fmt.Errorf("%s of %d bytes, %d left in the message", k, n, d.r.Len())
			}
			d.take(n)
		}
	}
}

// kind is what a msgpack code starts.
type kind uint8

const (
	kindScalar kind = iota // nil, bool, number or ext: a fixed or declared number of bytes follows
	kindStr
	kindBin
	kindArray
	kindMap
)

func (k kind) String() string {
	switch k {
	case kindStr:
		return "string"
	case kindBin:
		return "bin"
	case kindArray:
		return "array"
	case kindMap:
		return "map"
	}
	return "scalar"
}

// header reads the code of the next value and, for a str, bin, array or map,
// its declared length n (in bytes or elements). For a scalar, n is the number
// of bytes that follow the header (an ext's type byte included).
func (d *Decoder) header() (c byte, k kind, n int, err error) {
	if c, err = d.r.ReadByte(); err != nil {
		return 0, 0, 0, err
	}
	switch {
	case c <= 0x7f || c >= 0xe0: // positive and negative fixint
		return c, kindScalar, 0, nil
	case c <= 0x8f:
		return c, kindMap, int(c & 0x0f), nil
	case c <= 0x9f:
		return c, kindArray, int(c & 0x0f), nil
	case c <= 0xbf:
		return c, kindStr, int(c & 0x1f), nil
	}
	var size int // of the length field
	switch c {
	case 0xc0, 0xc2, 0xc3: // nil, false, true
		return c, kindScalar, 0, nil
	case 0xcc, 0xd0:
		return c, kindScalar, 1, nil
	case 0xcd, 0xd1:
		return c, kindScalar, 2, nil
	case 0xca, 0xce, 0xd2:
		return c, kindScalar, 4, nil
	case 0xcb, 0xcf, 0xd3:
		return c, kindScalar, 8, nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16, and its type byte
		return c, kindScalar, 1<<(c-0xd4) + 1, nil
	case 0xd9, 0xda, 0xdb:
		k, size = kindStr, 1<<(c-0xd9)
	case 0xc4, 0xc5, 0xc6:
		k, size = kindBin, 1<<(c-0xc4)
	case 0xdc, 0xdd:
		k, size = kindArray, 2<<(c-0xdc)
	case 0xde, 0xdf:
		k, size = kindMap, 2<<(c-0xde)
	case 0xc7, 0xc8, 0xc9: // ext 8, 16, 32
		k, size = kindScalar, 1<<(c-0xc7)
	default: // 0xc1, never used
		return c, 0, 0, fmt.Errorf("invalid code %#x", c)
	}
	var v uint32
	for range size {
		b, err := d.r.ReadByte()
		if err != nil {
			return c, k, 0, err
		}
		v = v<<8 | uint32(b)
	}
	// Where int has 32 bits, saturate: over 2 GiB is over every limit.
	n = int(min(uint64(v), math.MaxInt))
	if k == kindScalar {
		n++ // an ext's type byte
	}
	return c, k, n, nil
}

func (d *Decoder) u64(dst *uint64, what string) error {
	v, err := d.dec.DecodeUint64()
	if err != nil {
		return malformed("%s: %v", what, err)
	}
	*dst = v
	return nil
}

func (d *Decoder) i64(dst *int64, what string) error {
	v, err := d.dec.DecodeInt64()
	if err != nil {
		return malformed("%s: %v", what, err)
	}
	*dst = v
	return nil
}

func (d *Decoder) u32(dst *uint32, what string) error {
	v, err := d.u(what, 1<<32-1)
	*dst = uint32(v)
	return err
}

func (d *Decoder) u16(dst *uint16, what string) error {
	v, err := d.u(what, 1<<16-1)
	*dst = uint16(v)
	return err
}

func (d *Decoder) u8(dst *uint8, what string) error {
	v, err := d.u(what, 1<<8-1)
	*dst = uint8(v)
	return err
}

// u decodes an unsigned integer and range-checks it: msgpack's narrow decoders
// truncate silently.
func (d *Decoder) u(what string, max uint64) (uint64, error) {
	v, err := d.dec.DecodeUint64()
	if err != nil {
		return 0, malformed("%s: %v", what, err)
	}
	if v > max {
		return 0, malformed("%s %d out of range", what, v)
	}
	return v, nil
}

// ValidTopic reports why name is not a valid topic name, or nil. Topic names are
// 1..MaxTopicLen bytes of letters, digits and . _ - : /
func ValidTopic(name string) error {
	if name == "" {
		return errors.New("empty topic name")
	}
	if len(name) > MaxTopicLen {
		return fmt.Errorf("topic name of %d bytes (max %d)", len(name), MaxTopicLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '_', c == '-', c == ':', c == '/':
		default:
			return fmt.Errorf("topic name %q has invalid byte %#x at %d", name, c, i)
		}
	}
	return nil
}
