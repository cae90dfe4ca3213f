package order

import (
	"strconv"
	"testing"

	"github.com/shopspring/decimal"
)

// BenchmarkApply measures Apply on the hot path. One op is one order cycle;
// the book keeps every order, so it grows with b.N as it would during a day.
//
//	go test -run '^$' -bench BenchmarkApply -benchmem ./fix/order/
func BenchmarkApply(b *testing.B) {
	b.Run("cycle=new+accept+fill", func(b *testing.B) {
		benchCycle(b, 1)
	})
	b.Run("cycle=new+accept+4fills", func(b *testing.B) {
		benchCycle(b, 4)
	})
	b.Run("event=status", func(b *testing.B) {
		book := NewBook(Config{})
		if _, err := book.Apply(nos("X", "100")); err != nil {
			b.Fatal(err)
		}
		ev := statusReq("X")
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if _, err := book.Apply(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchCycle: NewOrderSingle, AcceptNew, then fills fills that complete it.
func benchCycle(b *testing.B, fills int) {
	type cycle struct {
		nos    NewOrderSingle
		accept AcceptNew
		fills  []Fill
	}
	qty := decimal.NewFromInt(int64(100 * fills))
	lot := decimal.NewFromInt(100)
	price := decimal.RequireFromString("10.25")
	cycles := make([]cycle, b.N)
	for i := range cycles {
		n := strconv.Itoa(i + 1)
		c := cycle{nos: nos("C"+n, "1"), accept: accept("O" + n)}
		c.nos.OrderQty = qty
		for f := range fills {
			c.fills = append(c.fills, Fill{OrderID: "O" + n, VenueExecID: "V" + strconv.Itoa(f), LastQty: lot, LastPx: price, TransactTime: t0})
		}
		cycles[i] = c
	}
	book := NewBook(Config{})
	b.ReportAllocs()
	b.ResetTimer()
	for i := range cycles {
		c := &cycles[i]
		if _, err := book.Apply(c.nos); err != nil {
			b.Fatal(err)
		}
		if _, err := book.Apply(c.accept); err != nil {
			b.Fatal(err)
		}
		for _, f := range c.fills {
			if _, err := book.Apply(f); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*(2+fills))/b.Elapsed().Seconds(), "events/s")
}
