package push

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/exp/api/remote"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/perfkit/perfkit/bench"
)

// writeRequestDesc is prometheus.WriteRequest (Remote Write 1.0,
// prompb/remote.proto and types.proto, the fields perfkit sends) built
// from its schema, so the test decodes with protobuf's own decoder, not
// with code that shares the encoder's mistakes.
func writeRequestDesc(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	str := func(s string) *string { return &s }
	num := func(n int32) *int32 { return &n }
	field := func(name string, n int32, typ descriptorpb.FieldDescriptorProto_Type, label descriptorpb.FieldDescriptorProto_Label, msg string) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{Name: str(name), Number: num(n), Type: typ.Enum(), Label: label.Enum()}
		if msg != "" {
			f.TypeName = str(".prometheus." + msg)
		}
		return f
	}
	rep, opt := descriptorpb.FieldDescriptorProto_LABEL_REPEATED, descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL
	msgT := descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	fd := &descriptorpb.FileDescriptorProto{
		Name: str("remote.proto"), Package: str("prometheus"), Syntax: str("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: str("WriteRequest"), Field: []*descriptorpb.FieldDescriptorProto{field("timeseries", 1, msgT, rep, "TimeSeries")}},
			{Name: str("TimeSeries"), Field: []*descriptorpb.FieldDescriptorProto{field("labels", 1, msgT, rep, "Label"), field("samples", 2, msgT, rep, "Sample")}},
			{Name: str("Label"), Field: []*descriptorpb.FieldDescriptorProto{
				field("name", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING, opt, ""), field("value", 2, descriptorpb.FieldDescriptorProto_TYPE_STRING, opt, "")}},
			{Name: str("Sample"), Field: []*descriptorpb.FieldDescriptorProto{
				field("value", 1, descriptorpb.FieldDescriptorProto_TYPE_DOUBLE, opt, ""), field("timestamp", 2, descriptorpb.FieldDescriptorProto_TYPE_INT64, opt, "")}},
		},
	}
	f, err := protodesc.NewFile(fd, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f.Messages().ByName("WriteRequest")
}

type sample struct {
	labels map[string]string
	value  float64
	ts     int64
}

// receiver is the client library's own remote-write handler with a store
// that decodes each request.
type receiver struct {
	t    *testing.T
	desc protoreflect.MessageDescriptor
	mu   sync.Mutex
	got  []sample
	reqs int
	err  error
}

func (r *receiver) Store(req *http.Request, mt remote.WriteMessageType) (*remote.WriteResponse, error) {
	body, err := io.ReadAll(req.Body) // already snappy-decoded by the handler
	if err != nil {
		return nil, err
	}
	msg := dynamicpb.NewMessage(r.desc)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs++
	if mt != remote.WriteV1MessageType {
		r.err = fmt.Errorf("message type %s, want %s", mt, remote.WriteV1MessageType)
	}
	if err := proto.Unmarshal(body, msg); err != nil {
		r.err = err
		return nil, err
	}
	tsList := msg.Get(r.desc.Fields().ByName("timeseries")).List()
	tsDesc := r.desc.Fields().ByName("timeseries").Message()
	for i := range tsList.Len() {
		ts := tsList.Get(i).Message()
		s := sample{labels: map[string]string{}}
		prev := ""
		ls := ts.Get(tsDesc.Fields().ByName("labels")).List()
		for j := range ls.Len() {
			l := ls.Get(j).Message()
			name := l.Get(l.Descriptor().Fields().ByName("name")).String()
			if name <= prev {
				r.t.Errorf("labels not sorted by name: %q after %q", name, prev)
			}
			prev = name
			s.labels[name] = l.Get(l.Descriptor().Fields().ByName("value")).String()
		}
		ss := ts.Get(tsDesc.Fields().ByName("samples")).List()
		if ss.Len() != 1 {
			r.t.Errorf("%d samples in a series, want 1", ss.Len())
			continue
		}
		sm := ss.Get(0).Message()
		s.value = sm.Get(sm.Descriptor().Fields().ByName("value")).Float()
		s.ts = sm.Get(sm.Descriptor().Fields().ByName("timestamp")).Int()
		r.got = append(r.got, s)
	}
	return remote.NewWriteResponse(), nil
}

type sleepWorkload struct{}

func (sleepWorkload) Setup(context.Context, *bench.Setup) error { return nil }
func (sleepWorkload) Teardown(context.Context) error            { return nil }
func (sleepWorkload) Op(context.Context, *bench.Worker) (bench.Label, error) {
	time.Sleep(200 * time.Microsecond)
	return bench.Label(0), nil
}

func scenario() bench.Scenario {
	set := bench.DefaultSettings()
	set.Concurrency = 2
	set.Duration = 400 * time.Millisecond
	set.Warmup = 0
	set.Interval = 100 * time.Millisecond
	return bench.Scenario{Name: "sleep", Workload: "sleep", New: func() (bench.Workload, error) { return sleepWorkload{}, nil }, Settings: set}
}

// TestRemoteWriteReceived: a run's intervals arrive at a local receiver
// (the client library's own write handler), decoded with protobuf against
// the Remote Write 1.0 schema, one batch per interval, values and times
// those of the result.
func TestRemoteWriteReceived(t *testing.T) {
	rcv := &receiver{t: t, desc: writeRequestDesc(t)}
	srv := httptest.NewServer(remote.NewWriteHandler(rcv, remote.MessageTypes{remote.WriteV1MessageType}))
	defer srv.Close()
	p, err := NewRemoteWrite(srv.URL+"/api/v1/write", Options{Labels: map[string]string{"commit": "abc123"}})
	if err != nil {
		t.Fatal(err)
	}
	sr, err := bench.Run(context.Background(), scenario(), p)
	if err != nil {
		t.Fatal(err)
	}
	st := p.Close(30 * time.Second)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if rcv.err != nil {
		t.Fatal(rcv.err)
	}
	ivs := sr.Runs[0].Intervals
	if st.Sent != int64(len(ivs)) || st.Dropped != 0 || st.Failed != 0 || rcv.reqs != len(ivs) {
		t.Fatalf("stats %+v, %d requests, want %d intervals sent", st, rcv.reqs, len(ivs))
	}
	if w := st.Warning("u"); w != "" {
		t.Errorf("warning %q with everything sent", w)
	}
	var ops []sample
	for _, s := range rcv.got {
		if s.labels["job"] != "perfkit" || s.labels["commit"] != "abc123" || s.labels["scenario"] != "sleep" || s.labels["run"] != "0" {
			t.Errorf("labels %v", s.labels)
		}
		if s.labels["__name__"] == "perfkit_interval_ops" {
			ops = append(ops, s)
		}
	}
	if len(ops) != len(ivs) {
		t.Fatalf("%d perfkit_interval_ops samples, %d intervals", len(ops), len(ivs))
	}
	start := sr.Runs[0].StartedAt
	for i, s := range ops {
		if s.value != float64(ivs[i].Ops) {
			t.Errorf("interval %d: ops %v, result %d", i, s.value, ivs[i].Ops)
		}
		if s.ts < start.UnixMilli() || i > 0 && s.ts <= ops[i-1].ts {
			t.Errorf("interval %d: timestamp %d not after the start %d and the previous", i, s.ts, start.UnixMilli())
		}
	}
}

// TestRemoteWriteDeadEndpoint: an endpoint that refuses connections, and
// one that never answers, change nothing in the run: it completes with the
// same number of intervals, Interval never blocks, the failure is said
// once, and Close returns within its grace.
func TestRemoteWriteDeadEndpoint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/api/v1/write"
	ln.Close() // nothing listens there now
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)

	for _, u := range []string{dead, hang.URL + "/api/v1/write"} {
		var warnings atomic.Int64
		var msg atomic.Value
		p, err := NewRemoteWrite(u, Options{Queue: 2, Timeout: 500 * time.Millisecond, Warn: func(m string) { warnings.Add(1); msg.Store(m) }})
		if err != nil {
			t.Fatal(err)
		}
		sr, err := bench.Run(context.Background(), scenario(), p)
		if err != nil {
			t.Fatalf("%s: the run failed: %v", u, err)
		}
		if len(sr.Runs) != 1 || len(sr.Runs[0].Intervals) < 4 || sr.Runs[0].Ops == 0 {
			t.Errorf("%s: run %+v", u, sr.Runs)
		}
		began := time.Now()
		st := p.Close(time.Second)
		// Generous: the grace is 1s; a loaded machine may take longer to
		// unwind, but never a write's whole retry schedule per batch.
		if d := time.Since(began); d > 20*time.Second {
			t.Errorf("%s: Close took %v", u, d)
		}
		if st.Sent != 0 || st.Dropped+st.Failed != int64(len(sr.Runs[0].Intervals)) {
			t.Errorf("%s: stats %+v for %d intervals", u, st, len(sr.Runs[0].Intervals))
		}
		if warnings.Load() != 1 {
			t.Errorf("%s: warned %d times, want once", u, warnings.Load())
		} else if m := msg.Load().(string); !strings.Contains(m, "the run goes on") {
			t.Errorf("%s: warning %q", u, m)
		}
		if w := st.Warning(u); !strings.Contains(w, "not delivered") {
			t.Errorf("%s: Close warning %q", u, w)
		}
	}
}

// TestIntervalNeverBlocks: with the sender stuck, Interval returns at
// once and counts what it drops.
func TestIntervalNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	p, err := NewRemoteWrite(hang.URL, Options{Queue: 1, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		p.Interval(&bench.Snapshot{Scenario: "x", Length: time.Second})
	}
	st := p.Close(100 * time.Millisecond)
	if st.Sent != 0 || st.Dropped < 48 || st.Dropped+st.Failed != 50 {
		t.Errorf("stats %+v, want 50 undelivered, nearly all dropped", st)
	}
}

func TestCheckURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:9090", "ftp://x/", "http://", "::"} {
		if err := CheckURL(u); err == nil || !strings.Contains(err.Error(), "accepted: an http:// or https:// URL") {
			t.Errorf("%q: %v", u, err)
		}
	}
	if err := CheckURL("https://prom.example/api/v1/write"); err != nil {
		t.Error(err)
	}
}
