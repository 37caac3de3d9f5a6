package fetch

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/perfkit/perfkit/bench"
)

// Per-target breakdown. A target may carry a tag (a name) and a weight:
//
//	--url login:3=http://127.0.0.1:8080/login --url search=http://127.0.0.1:8080/search
//
// or, in a targets file, option lines starting with ">" after the request
// line:
//
//	GET http://127.0.0.1:8080/login
//	> name: login
//	> weight: 3
//	> check-json: ok == true
//
// Tagged ops record their latency under the tag (a label: p99{login}) and
// count their failures in the counter errors{login} (error_rate{login}).
// Weights pick targets in proportion, by a fixed interleaved order each
// worker steps through (no lock, no random number, no allocation per op).

// targetOpts are what a target carries besides its request.
type targetOpts struct {
	tag    string
	weight int // 0 means 1
	checks checkSpecs
	line   int // of the request line in a targets file (0: a url)
}

// Bounds of weights: the order is held in memory, an int32 per slot.
const (
	maxWeight      = 1_000_000
	maxWeightTotal = 1 << 22
)

// maxTags bounds the distinct names: each is a label, with histograms of
// its own in every shard and interval.
const maxTags = 100

const tagHelp = "letters, digits, '_', '-' and '.', not \"op\""

// validTag reports whether a tag can name a label and a counter.
func validTag(s string) error {
	if s == "" {
		return errors.New("empty name")
	}
	if s == bench.OverallKey || s == bench.LagKey || strings.HasSuffix(s, bench.ServiceSuffix) {
		return fmt.Errorf("name %q is reserved", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return fmt.Errorf("name %q: want %s", s, tagHelp)
		}
	}
	return nil
}

func parseWeight(s string) (int, error) {
	w, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || w < 1 || w > maxWeight {
		return 0, fmt.Errorf("weight %q: want a whole number from 1 to %d", s, maxWeight)
	}
	return w, nil
}

// splitTaggedURL reads NAME[:WEIGHT]=URL, or a plain URL (no tag). The
// tag is what comes before the last "=" ahead of the URL's "://", so a
// URL's own query (?a=b) is never taken for one.
func splitTaggedURL(s string) (opts targetOpts, rawURL string, err error) {
	i := strings.Index(s, "://")
	if i < 0 {
		return targetOpts{}, s, nil
	}
	j := strings.LastIndexByte(s[:i], '=')
	if j < 0 {
		return targetOpts{}, s, nil
	}
	head, rawURL := strings.TrimSpace(s[:j]), s[j+1:]
	name, weight, hasWeight := strings.Cut(head, ":")
	if err := validTag(name); err != nil {
		return targetOpts{}, "", fmt.Errorf("bad url %q: %w (want NAME=URL or NAME:WEIGHT=URL, NAME %s)", redactURL(s), err, tagHelp)
	}
	opts.tag = name
	if hasWeight {
		if opts.weight, err = parseWeight(weight); err != nil {
			return targetOpts{}, "", fmt.Errorf("bad url %q: %w", redactURL(s), err)
		}
	}
	return opts, rawURL, nil
}

// optionHelp lists a targets file's option lines.
const optionHelp = "> name: NAME, > weight: N, > check-status: …, > check-body-contains: …, > check-body-not-contains: …, > check-json: …, > check-max-body-bytes: N"

// parseOption reads a targets file's option line (after its ">").
func (o *targetOpts) parseOption(s string) error {
	key, value, ok := strings.Cut(s, ":")
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	if !ok || value == "" {
		return fmt.Errorf("bad option line %q: want \"> KEY: VALUE\" (%s)", ">"+s, optionHelp)
	}
	switch key {
	case "name":
		if o.tag != "" {
			return fmt.Errorf("second name %q: a target has one", value)
		}
		if err := validTag(value); err != nil {
			return err
		}
		o.tag = value
	case "weight":
		w, err := parseWeight(value)
		if err != nil {
			return err
		}
		o.weight = w
	case "check-status":
		st, err := parseStatusSet(value)
		if err != nil {
			return err
		}
		o.checks.status = st
	case "check-max-body-bytes":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("bad check-max-body-bytes %q: want a size in bytes > 0", value)
		}
		o.checks.maxBody = n
	case "check-body-contains":
		o.checks.contains = append(o.checks.contains, value)
	case "check-body-not-contains":
		o.checks.notContains = append(o.checks.notContains, value)
	case "check-json":
		js, err := parseJSONSpec(value)
		if err != nil {
			return err
		}
		o.checks.json = append(o.checks.json, js)
	default:
		return fmt.Errorf("unknown option %q (accepted: %s)", key, optionHelp)
	}
	return nil
}

// checkTagged refuses targets of which some are named and some not (the
// unnamed ones' latency would have no label of its own), and more than
// maxTags names. file is the targets file ("" for urls).
func checkTagged(ts []target, file string) error {
	i := slices.IndexFunc(ts, func(t target) bool { return t.opts.tag != "" })
	if i < 0 {
		return nil
	}
	names := map[string]bool{}
	for _, t := range ts {
		if t.opts.tag != "" {
			if names[t.opts.tag] = true; len(names) > maxTags {
				return fmt.Errorf("more than %d target names, the most a run may have (each keeps latency histograms of its own): name groups of targets, e.g. one name for every /users/ID", maxTags)
			}
			continue
		}
		if file == "" {
			return fmt.Errorf("url %q has no name, and url %q has one: name them all (NAME=URL) or none", redactURL(t.url.String()), redactURL(ts[i].url.String()))
		}
		return fmt.Errorf("%s:%d: target has no name, and the one at line %d has one: name them all (> name: NAME) or none", file, t.opts.line, ts[i].opts.line)
	}
	return nil
}

// weightedOrder is the order targets are sent in when their weights
// differ: each target's slots spread evenly over one cycle of total-weight
// slots (target i's k-th slot at (k+½)/wᵢ), so a 3:1 pair goes a a b a,
// not a a a b. nil when every weight is 1: plain round-robin.
func weightedOrder(ts []target) ([]int32, error) {
	total := 0
	uneven := false
	for _, t := range ts {
		w := max(t.opts.weight, 1)
		uneven = uneven || w != 1
		if total += w; total > maxWeightTotal {
			return nil, fmt.Errorf("weights add up to more than %d, the most perfkit holds", maxWeightTotal)
		}
	}
	if !uneven {
		return nil, nil
	}
	type slot struct {
		at float64
		i  int32
	}
	slots := make([]slot, 0, total)
	for i, t := range ts {
		w := max(t.opts.weight, 1)
		for k := range w {
			slots = append(slots, slot{(float64(k) + 0.5) / float64(w), int32(i)})
		}
	}
	slices.SortStableFunc(slots, func(a, b slot) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
	order := make([]int32, total)
	for k, s := range slots {
		order[k] = s.i
	}
	return order, nil
}

// tagState is a prepared target's tag: the label its ops are recorded
// under and the counter of their failures.
type tagState struct {
	label  bench.Label
	errs   bench.Counter
	tagged bool
}

// bindTags declares a label and an errors{TAG} counter per tag, in the
// order tags first appear.
func (f *fetch) bindTags(s *bench.Setup) {
	for i := range f.targets {
		t := &f.targets[i]
		if t.opts.tag == "" {
			continue
		}
		t.tagState = tagState{
			label:  s.Label(t.opts.tag),
			errs:   s.Counter(bench.LabelCounter(bench.ErrorsCounter, t.opts.tag)),
			tagged: true,
		}
	}
}

// bindChecks builds each target's checks: targets without checks of
// their own share one set per tag (one in all when no target is named).
func (f *fetch) bindChecks(s *bench.Setup) {
	var decode *bench.KindError
	if f.cfg.decodeJSON {
		decode = f.errs.decode
	}
	shared := map[string]*checkSet{}
	for i := range f.targets {
		t := &f.targets[i]
		if !t.opts.checks.empty() {
			own := f.cfg.checks.merge(t.opts.checks)
			t.checks = own.bind(s, decode, t.opts.tag)
			continue
		}
		if t.checks = shared[t.opts.tag]; t.checks == nil {
			t.checks = f.cfg.checks.bind(s, decode, t.opts.tag)
			shared[t.opts.tag] = t.checks
		}
	}
}

// pick returns the index of the worker's next target.
func (f *fetch) pick(st *worker) int {
	i := st.next
	if st.next++; st.next == f.cycle {
		st.next = 0
	}
	if f.order != nil {
		return int(f.order[i])
	}
	return i
}

// recordTag counts a tagged op's failure and returns its label.
func (t *preparedTarget) recordTag(w *bench.Worker, err error) bench.Label {
	if err != nil && t.tagged {
		w.Count(t.errs, 1)
	}
	return t.label
}

// checkTargets parses the check parameters and validates the targets'
// tags and weights, before anything runs.
func (cfg *config) checkTargets(v bench.Values, file string) error {
	cs, err := parseChecks(v.String("check-status"), v.Int("check-max-body-bytes"),
		v.Strings("check-body-contains"), v.Strings("check-body-not-contains"), v.Strings("check-json"))
	if err != nil {
		return err
	}
	cfg.checks = cs
	if err := checkTagged(cfg.targets, file); err != nil {
		return err
	}
	if cfg.order, err = weightedOrder(cfg.targets); err != nil {
		return err
	}
	return nil
}

func checkStatusSpec(s string) error {
	if s == "" {
		return nil
	}
	_, err := parseStatusSet(s)
	return err
}

func checkJSONSpec(s string) error { _, err := parseJSONSpec(s); return err }

func checkNonEmpty(param string) func(string) error {
	return func(s string) error {
		if s == "" {
			return fmt.Errorf("bad %s \"\": want a non-empty text", param)
		}
		return nil
	}
}

func checkMaxBody(v any) error {
	if n, ok := v.(int64); ok && n < 0 {
		return fmt.Errorf("bad check-max-body-bytes %d: want a size in bytes > 0 (0: no limit)", n)
	}
	return nil
}

// redactTaggedURL redacts a url parameter, NAME=URL or a plain URL.
func redactTaggedURL(s string) string {
	opts, raw, err := splitTaggedURL(s)
	if err != nil || opts.tag == "" {
		return redactURL(s)
	}
	return s[:len(s)-len(raw)] + redactURL(raw)
}
