package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/bench/alert"
	"github.com/perfkit/perfkit/bench/capacity"
)

// The flags of sharded runs and capacity search (also PERFKIT_SHARD,
// PERFKIT_SHARDS, PERFKIT_START_AT...). They apply to the whole run, so
// they are not config keys.
const (
	shardKey       = "shard"
	shardsKey      = "shards"
	startAtKey     = "start-at"
	findMaxRateKey = "find-max-rate"
	sloKey         = "slo"
	maxRateKey     = "max-rate"
	precisionKey   = "precision"
)

// jobIndexEnv is the shard index a Kubernetes Indexed Job gives each pod.
const jobIndexEnv = "JOB_COMPLETION_INDEX"

// scenarioGap is the time --start-at leaves between one scenario's last
// measured window and the next one's warmup, for teardown and setup.
const scenarioGap = time.Second

// DefaultSearchConcurrency is the in-flight cap of a capacity search when no
// --concurrency is given: as many connections as wrk -c64 opens. The open
// model runs a worker per op in flight, and every idle worker waits on a
// timer of its own, so a larger cap costs schedule precision at high rates;
// a step whose ops waited for a free worker says so.
const DefaultSearchConcurrency = 64

func scaleFlagNames() []string {
	return []string{shardKey, shardsKey, startAtKey, findMaxRateKey, sloKey, maxRateKey, precisionKey}
}

// addScaleFlags registers the sharding and capacity search flags.
func addScaleFlags(fl *pflag.FlagSet) {
	fl.String(shardKey, "", "run shard I of N (I from 0): its share of concurrency, rate and iterations; combine the results with 'perfkit merge'")
	fl.Int(shardsKey, 0, "number of shards; the index comes from --shard or "+jobIndexEnv+" (a Kubernetes Indexed Job)")
	fl.String(startAtKey, "", "RFC3339 time at which to begin measuring (the warmup runs just before), so every shard measures the same window")
	fl.Bool(findMaxRateKey, false, "search for the highest open-model rate that is valid and meets every --slo (start: --rate, else 100/s)")
	fl.StringArray(sloKey, nil, `objective of --find-max-rate, METRIC OP VALUE: "p99<20ms", "error_rate<0.1%" (p50, p90, p95, p99, p999, mean, max, error_rate; repeatable)`)
	fl.Float64(maxRateKey, 0, "highest rate --find-max-rate tries (0: no bound)")
	fl.String(precisionKey, "5%", "--find-max-rate stops when the highest failing rate is within this share above the highest passing one")
}

// searchOptions are a resolved --find-max-rate.
type searchOptions struct {
	slos      []alert.Expr
	maxRate   float64
	precision float64
	start     float64
	// run measures a step (nil: bench.Run with the progress observer);
	// tests script it.
	run func(ctx context.Context, sc bench.Scenario) (bench.ScenarioResult, error)
}

// given reports whether a scale flag or its variable is set, and its value.
func (r *resolver) given(key string) (string, origin, bool) {
	raw, o := r.lookupSetting(key, nil)
	if o.layer == fromDefault {
		return "", o, false
	}
	switch v := raw.(type) {
	case []string:
		return strings.Join(v, "\n"), o, true
	case []any:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = fmt.Sprint(p)
		}
		return strings.Join(parts, "\n"), o, true
	}
	return fmt.Sprint(raw), o, true
}

// resolveScale applies --shard/--shards and --start-at to the scenarios and
// resolves --find-max-rate.
func (r *resolver) resolveScale(opts *RunOptions) error {
	sh, so, err := r.resolveShard()
	if err != nil {
		return err
	}
	if sh != nil {
		for i := range opts.Scenarios {
			s := &opts.Scenarios[i]
			cp := *sh
			s.Settings.Shard = &cp
			if err := s.Settings.Validate(); err != nil {
				return so.wrap(s.Name, err)
			}
		}
	}
	if err := r.resolveStartAt(opts); err != nil {
		return err
	}
	return r.resolveSearch(opts, sh != nil)
}

// resolveShard reads --shard I/N, or --shards N with the index from
// JOB_COMPLETION_INDEX; nil when neither is set.
func (r *resolver) resolveShard() (*bench.Shard, origin, error) {
	spec, o, hasShard := r.given(shardKey)
	nRaw, on, hasCount := r.given(shardsKey)
	count := 0
	if hasCount {
		n, err := strconv.Atoi(strings.TrimSpace(nRaw))
		if err != nil {
			return nil, on, on.wrapGlobal(fmt.Errorf("shards %q: want a number of shards such as 4", nRaw))
		}
		count = n
	}
	if hasShard {
		is, ns, ok := strings.Cut(strings.TrimSpace(spec), "/")
		i, err1 := strconv.Atoi(strings.TrimSpace(is))
		n, err2 := strconv.Atoi(strings.TrimSpace(ns))
		if !ok || err1 != nil || err2 != nil {
			return nil, o, o.wrapGlobal(fmt.Errorf("shard %q: want I/N, the shard's index from 0 and the number of shards, e.g. 0/4", spec))
		}
		if hasCount && n != count {
			return nil, o, o.wrapGlobal(fmt.Errorf("shard %s and shards %d disagree on the number of shards", spec, count))
		}
		return &bench.Shard{Index: i, Count: n}, o, nil
	}
	if !hasCount {
		return nil, o, nil
	}
	if count < 1 { // let Validate name the bad count
		return &bench.Shard{Index: 0, Count: count}, on, nil
	}
	idx, ok := os.LookupEnv(jobIndexEnv)
	if !ok || idx == "" {
		return nil, on, on.wrapGlobal(fmt.Errorf("shards %d: no shard index: give --shard I/%d or set %s (a Kubernetes Indexed Job sets it)", count, count, jobIndexEnv))
	}
	i, err := strconv.Atoi(strings.TrimSpace(idx))
	if err != nil {
		return nil, on, fmt.Errorf("%s %q: want the shard's index, a number from 0", jobIndexEnv, idx)
	}
	return &bench.Shard{Index: i, Count: count}, origin{fromEnv, jobIndexEnv + " with " + on.where}, nil
}

// resolveStartAt parses --start-at and gives each scenario its instant: the
// first begins measuring at it; each later one (in duration mode) right
// after the previous one's last window, its warmup and a setup gap, so
// every shard stays in step.
func (r *resolver) resolveStartAt(opts *RunOptions) error {
	s, o, ok := r.given(startAtKey)
	if !ok || len(opts.Scenarios) == 0 {
		return nil
	}
	at, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return o.wrapGlobal(fmt.Errorf("start-at %q: not an RFC3339 time such as 2025-03-01T12:00:00Z", s))
	}
	now := time.Now()
	if opts.Now != nil {
		now = opts.Now()
	}
	warm := opts.Scenarios[0].Settings.Warmup
	if late := now.Sub(at); late > warm {
		return o.wrapGlobal(fmt.Errorf("start-at %s: %s ago, longer than the warmup (%s): the measured window began without this run; give a time in the future",
			s, late.Round(time.Millisecond), warm))
	}
	for i := range opts.Scenarios {
		set := &opts.Scenarios[i].Settings
		set.StartAt = at
		if set.Iterations > 0 {
			break // runs end when their ops are done: nothing later can be placed
		}
		end := at.Add(time.Duration(set.Count)*(set.Warmup+set.Duration) - set.Warmup)
		if i+1 < len(opts.Scenarios) {
			at = end.Add(scenarioGap + opts.Scenarios[i+1].Settings.Warmup)
		}
	}
	return nil
}

// resolveSearch reads --find-max-rate, --slo, --max-rate and --precision.
func (r *resolver) resolveSearch(opts *RunOptions, sharded bool) error {
	raw, o, find := r.given(findMaxRateKey)
	if find {
		v, err := bench.Param{Kind: bench.Bool}.Parse(raw)
		if err != nil {
			return o.wrapGlobal(fmt.Errorf("find-max-rate: %w", err))
		}
		find = v.(bool)
	}
	slos, so, hasSLO := r.given(sloKey)
	if !find {
		for _, k := range []string{sloKey, maxRateKey, precisionKey} {
			if _, ko, ok := r.given(k); ok {
				return ko.wrapGlobal(fmt.Errorf("%s applies to a capacity search: add --find-max-rate", k))
			}
		}
		return nil
	}
	if !hasSLO || strings.TrimSpace(slos) == "" {
		return errors.New(`--find-max-rate needs an objective: --slo "p99<20ms" (repeatable; p50, p90, p95, p99, p999, mean, max, error_rate)`)
	}
	so2 := &searchOptions{start: capacity.DefaultStart}
	for _, s := range strings.Split(slos, "\n") {
		e, err := capacity.ParseSLO(s)
		if err != nil {
			return so.wrapGlobal(err)
		}
		so2.slos = append(so2.slos, e)
	}
	if s, mo, ok := r.given(maxRateKey); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || !(v >= 0) || v > bench.MaxRate {
			return mo.wrapGlobal(fmt.Errorf("max-rate %q: want ops per second up to %d (the engine's bound on --rate), 0 for that bound", s, bench.MaxRate))
		}
		so2.maxRate = v
	}
	so2.precision = capacity.DefaultPrecision
	if s, po, ok := r.given(precisionKey); ok {
		v, err := parseShare(s)
		if err != nil || v <= 0 || v >= 1 {
			return po.wrapGlobal(fmt.Errorf("precision %q: want a share between 0 and 100%%, such as 5%% or 0.05", s))
		}
		so2.precision = v
	}
	switch {
	case len(opts.Scenarios) != 1:
		return fmt.Errorf("--find-max-rate searches one scenario at a time; %d selected", len(opts.Scenarios))
	case opts.Scenarios[0].Sweep != nil:
		return errors.New("--find-max-rate and a sweep: give one or the other")
	case sharded:
		return errors.New("--find-max-rate and --shard: search from one machine (shard the load at the rate found)")
	case opts.Compare != nil:
		return errors.New("--find-max-rate and --compare: compare a run at the rate found instead")
	case opts.Profile != nil:
		return errors.New("--find-max-rate and profiling: profile a run at the rate found instead")
	}
	sc := &opts.Scenarios[0]
	if sc.Settings.Iterations > 0 {
		return fmt.Errorf("--find-max-rate measures every step for a duration: drop -n %d (use -d)", sc.Settings.Iterations)
	}
	if sc.Settings.Stages != "" {
		return fmt.Errorf("--find-max-rate and --stages %s: the search sets each step's rate; search without stages, then stage the rate found", sc.Settings.Stages)
	}
	if sc.Settings.Rate > 0 {
		so2.start = sc.Settings.Rate
	}
	if so2.maxRate > 0 && so2.start > so2.maxRate {
		return fmt.Errorf("--rate %g (the first step) is above --max-rate %g", so2.start, so2.maxRate)
	}
	scCfg, _ := r.cfg.scenario(sc.Name)
	if _, co := r.lookupSetting("concurrency", scCfg); co.layer == fromDefault {
		sc.Settings.Concurrency = DefaultSearchConcurrency
	}
	sc.Settings.Rate = so2.start
	opts.Search = so2
	return nil
}

// parseShare reads 5% or 0.05.
func parseShare(s string) (float64, error) {
	s = strings.TrimSpace(s)
	num, pct := strings.CutSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil {
		return 0, err
	}
	if pct {
		v /= 100
	}
	return v, nil
}
