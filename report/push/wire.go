package push

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// writeRequest is Remote Write 1.0's prometheus.WriteRequest with one
// sample per series:
//
//	message WriteRequest { repeated TimeSeries timeseries = 1; }
//	message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//	message Label        { string name = 1; string value = 2; }
//	message Sample       { double value = 1; int64 timestamp = 2; }
//
// It implements the Size and MarshalToSizedBuffer methods the remote-write
// client encodes messages with.
type writeRequest struct {
	series  []series
	encoded []byte
}

// series is one time series' labels (sorted by name, __name__ among them)
// and its sample: value at ts (milliseconds since the epoch).
type series struct {
	labels [][2]string
	value  float64
	ts     int64
}

func (r *writeRequest) encode() []byte {
	if r.encoded != nil {
		return r.encoded
	}
	var out, ts, l, smp []byte
	for _, s := range r.series {
		ts = ts[:0]
		for _, kv := range s.labels {
			l = l[:0]
			l = protowire.AppendTag(l, 1, protowire.BytesType)
			l = protowire.AppendString(l, kv[0])
			l = protowire.AppendTag(l, 2, protowire.BytesType)
			l = protowire.AppendString(l, kv[1])
			ts = protowire.AppendTag(ts, 1, protowire.BytesType)
			ts = protowire.AppendBytes(ts, l)
		}
		smp = smp[:0]
		smp = protowire.AppendTag(smp, 1, protowire.Fixed64Type)
		smp = protowire.AppendFixed64(smp, math.Float64bits(s.value))
		smp = protowire.AppendTag(smp, 2, protowire.VarintType)
		smp = protowire.AppendVarint(smp, uint64(s.ts))
		ts = protowire.AppendTag(ts, 2, protowire.BytesType)
		ts = protowire.AppendBytes(ts, smp)
		out = protowire.AppendTag(out, 1, protowire.BytesType)
		out = protowire.AppendBytes(out, ts)
	}
	if out == nil {
		out = []byte{}
	}
	r.encoded = out
	return out
}

// Size is the encoded size.
func (r *writeRequest) Size() int { return len(r.encode()) }

// MarshalToSizedBuffer writes the message into buf, which is Size() long.
func (r *writeRequest) MarshalToSizedBuffer(buf []byte) (int, error) {
	return copy(buf, r.encode()), nil
}
