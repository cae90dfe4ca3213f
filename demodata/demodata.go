// Package demodata embeds the tick data tickwire ships for demos: an
// unmodified excerpt of real OANDA EUR/USD and NZD/USD quotes, the busiest
// continuous hour (12:28 to 13:28 UTC) of 2014-05-08.
// The data comes from QuantConnect Lean (Apache-2.0); see NOTICE at the
// repository root and README.md here for provenance and how it was cut.
//
// Read it with the ticks package:
//
//	r, err := ticks.NewReader(demodata.Open(), demodata.Name, ticks.Options{})
package demodata

import (
	"bytes"
	_ "embed"
	"io"
)

// Name is the embedded file's name; it is in the OANDA format (header
// ts_utc,symbol,bid,ask) and gzipped.
const Name = "oanda_eurusd_nzdusd_2014-05-08_1228-1328.csv.gz"

//go:embed oanda_eurusd_nzdusd_2014-05-08_1228-1328.csv.gz
var data []byte

// Open returns a reader of the embedded file's (still gzipped) bytes,
// suitable for ticks.NewReader, which detects gzip itself. Each call returns
// a new, independent reader; it is safe to call from many goroutines.
func Open() io.Reader { return bytes.NewReader(data) }
