package report

import "github.com/perfkit/perfkit/internal/units"

// Duration formats nanoseconds for people: three significant digits in the
// largest unit that keeps the value at least 1 (850ns, 1.25ms, 1.50s), then
// minutes and seconds, hours and minutes (internal/units.Duration).
func Duration(ns int64) string { return units.Duration(ns) }

// Rate formats a per-second rate (or any count) with three significant
// digits and a k, M, G… suffix from a thousand on: 0.500, 812, 41.2k. It
// carries no unit: the column header or the caller adds "/s".
func Rate(perSec float64) string { return units.Rate(perSec) }

// Bytes formats a byte count in binary units: 512B, 1.50KiB, 12.3MiB
// (internal/units.Bytes).
func Bytes(n int64) string { return units.Bytes(n) }
