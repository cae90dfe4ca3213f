package ha

import (
	"encoding/binary"
	"errors"
	"fmt"

	"tickwire/recovery"
)

// Raft log commands. Each Append or Trim of the journal is one command, so
// that applying the log in order on any node gives the same state.
//
// Encoding (all integers uvarint unless said otherwise):
//
//	append: version, opAppend, stream, epoch, time (the proposer's clock,
//	        for records without a time), count, count × {time (varint, 0 =
//	        the command's time), key, data}
//	trim:   version, opTrim, stream, through
//	member: version, opMember, id, raftAddr, feedAddr, remove (0/1)
//	barrier: version, opBarrier
//
// The barrier is a command, not raft's own barrier entry, because raft does
// not hand its barrier (or no-op) entries to the FSM: the journal state's
// applied index would stop short of the commit index and a follower would
// never look caught up after one.
//
// where a string or byte slice is its length then its bytes. The encoding is
// hand-rolled: it is on the order path (one per Append), decodes with every
// length checked against what is left, and allocates nothing but the result.
const (
	cmdVersion = 1

	opAppend  byte = 1
	opTrim    byte = 2
	opMember  byte = 3
	opBarrier byte = 4
)

// maxIDBytes bounds node ids, cluster ids, addresses and epochs in commands.
const maxIDBytes = 256

var errShort = errors.New("truncated")

// appendCmd is a decoded append command. Records' Data and Key point into
// the command's bytes.
type appendCmd struct {
	stream string
	epoch  string
	now    int64
	recs   []recovery.Record
}

// appendSize returns the encoded size of an append command, or an error if
// it breaks a bound.
func appendSize(stream, epoch string, recs []recovery.Record) (int, error) {
	if len(recs) > MaxAppendRecords {
		return 0, fmt.Errorf("%w: %d records in one append, max %d", recovery.ErrInvalidArgument, len(recs), MaxAppendRecords)
	}
	n := 2 + uvarintLen(uint64(len(stream))) + len(stream) + uvarintLen(uint64(len(epoch))) + len(epoch) + binary.MaxVarintLen64 + uvarintLen(uint64(len(recs)))
	for i, r := range recs {
		if len(r.Key) > recovery.MaxRecordKey {
			return 0, fmt.Errorf("%w: record %d has a %d-byte key, max %d", recovery.ErrInvalidArgument, i, len(r.Key), recovery.MaxRecordKey)
		}
		n += binary.MaxVarintLen64 + uvarintLen(uint64(len(r.Key))) + len(r.Key) + uvarintLen(uint64(len(r.Data))) + len(r.Data)
		if n > MaxCommandBytes {
			return 0, fmt.Errorf("%w: append of %d records over the %d-byte command limit", recovery.ErrInvalidArgument, len(recs), MaxCommandBytes)
		}
	}
	return n, nil
}

// encodeAppend encodes an append command; size is appendSize's result.
func encodeAppend(size int, stream, epoch string, now int64, recs []recovery.Record) []byte {
	b := make([]byte, 0, size)
	b = append(b, cmdVersion, opAppend)
	b = appendString(b, stream)
	b = appendString(b, epoch)
	b = binary.AppendUvarint(b, uint64(now))
	b = binary.AppendUvarint(b, uint64(len(recs)))
	for _, r := range recs {
		b = binary.AppendVarint(b, r.Time)
		b = appendString(b, r.Key)
		b = binary.AppendUvarint(b, uint64(len(r.Data)))
		b = append(b, r.Data...)
	}
	return b
}

func encodeTrim(stream string, through uint64) []byte {
	b := make([]byte, 0, 2+binary.MaxVarintLen64*2+len(stream))
	b = append(b, cmdVersion, opTrim)
	b = appendString(b, stream)
	return binary.AppendUvarint(b, through)
}

func encodeMember(p Peer, remove bool) []byte {
	b := []byte{cmdVersion, opMember}
	b = appendString(b, p.ID)
	b = appendString(b, p.RaftAddr)
	b = appendString(b, p.FeedAddr)
	if remove {
		return append(b, 1)
	}
	return append(b, 0)
}

func encodeBarrier() []byte { return []byte{cmdVersion, opBarrier} }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// decoder reads a command, checking every length against what is left.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes returns the next length-prefixed bytes, at most max long.
func (d *decoder) bytes(max int) []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(max) {
		d.err = fmt.Errorf("length %d over %d", n, max)
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errShort
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// header checks the version and returns the op.
func (d *decoder) header() byte {
	if v := d.byte(); d.err == nil && v != cmdVersion {
		d.err = fmt.Errorf("command version %d, want %d", v, cmdVersion)
	}
	return d.byte()
}

// decodeAppend decodes the body of an append command (after the header).
// The records point into d's bytes.
func decodeAppend(d *decoder) (appendCmd, error) {
	var c appendCmd
	stream := d.bytes(recovery.MaxStreamName)
	epoch := d.bytes(maxIDBytes)
	c.now = int64(d.uvarint())
	n := d.uvarint()
	if d.err == nil && n > MaxAppendRecords {
		d.err = fmt.Errorf("%d records, max %d", n, MaxAppendRecords)
	}
	if d.err == nil && len(stream) == 0 {
		d.err = errors.New("empty stream name")
	}
	if d.err != nil {
		return c, d.err
	}
	// Each record takes at least 3 bytes: a cheap bound before allocating.
	if n > uint64(len(d.b))/3 {
		return c, fmt.Errorf("%d records in %d bytes: %w", n, len(d.b), errShort)
	}
	c.stream, c.epoch = string(stream), string(epoch)
	c.recs = make([]recovery.Record, n)
	for i := range c.recs {
		t := d.varint()
		key := d.bytes(recovery.MaxRecordKey)
		data := d.bytes(MaxCommandBytes)
		if d.err != nil {
			return c, fmt.Errorf("record %d: %w", i, d.err)
		}
		if t == 0 {
			t = c.now
		}
		c.recs[i] = recovery.Record{Time: t, Key: string(key), Data: data}
	}
	if len(d.b) != 0 {
		return c, fmt.Errorf("%d trailing bytes", len(d.b))
	}
	return c, nil
}

func decodeTrim(d *decoder) (string, uint64, error) {
	stream := d.bytes(recovery.MaxStreamName)
	through := d.uvarint()
	if d.err == nil && len(stream) == 0 {
		d.err = errors.New("empty stream name")
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	return string(stream), through, d.err
}

func decodeMember(d *decoder) (Peer, bool, error) {
	var p Peer
	p.ID = string(d.bytes(maxIDBytes))
	p.RaftAddr = string(d.bytes(maxIDBytes))
	p.FeedAddr = string(d.bytes(maxIDBytes))
	remove := d.byte()
	if d.err == nil && (p.ID == "" || remove > 1) {
		d.err = errors.New("bad member record")
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	return p, remove == 1, d.err
}
