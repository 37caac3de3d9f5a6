package cmd

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/perfkit/perfkit/bench/profiling"
	"github.com/perfkit/perfkit/profiles"
)

// ProfilesDir is where the profiles of runs go.
const ProfilesDir = profiling.Dir

// The run flags (and top-level config keys) of profiling.
const (
	profileKey  = "profile"
	pprofURLKey = "pprof-url"
)

func addProfileFlags(fl *pflag.FlagSet) {
	fl.String(profileKey, "", "attach pprof profiles of perfkit to the run, merged over --count: "+kindNames()+" (comma-separated)")
	fl.String(pprofURLKey, "", "also fetch the target's profiles (--profile's kinds, else cpu) over the measured window from its net/http/pprof, e.g. http://127.0.0.1:6060/debug/pprof")
}

func kindNames() string {
	var names []string
	for _, k := range profiles.Kinds() {
		names = append(names, string(k))
	}
	return strings.Join(names, ", ")
}

// resolveProfiling reads --profile and --pprof-url through their layers
// (flag, PERFKIT_PROFILE / PERFKIT_PPROF_URL, top-level config keys). Both
// unset: nil.
func (r *resolver) resolveProfiling() (*profiling.Options, error) {
	kindsRaw, ko := r.lookupSetting(profileKey, nil)
	urlRaw, uo := r.lookupSetting(pprofURLKey, nil)
	kindsStr, urlStr := listString(kindsRaw), listString(urlRaw)
	if kindsStr == "" && urlStr == "" {
		return nil, nil
	}
	po := &profiling.Options{Dir: ProfilesDir}
	if kindsStr != "" {
		kinds, err := profiles.ParseKinds(kindsStr)
		if err != nil {
			return nil, ko.wrapGlobal(fmt.Errorf("%s: %w", profileKey, err))
		}
		po.Kinds = kinds
	}
	if urlStr != "" {
		u, err := profiles.ParseURL(urlStr)
		if err != nil {
			return nil, uo.wrapGlobal(fmt.Errorf("%s: %w", pprofURLKey, err))
		}
		po.Target = u
		po.TargetKinds = slices.Clone(po.Kinds)
		if len(po.TargetKinds) == 0 {
			po.TargetKinds = []profiles.Kind{profiles.CPU}
		}
	}
	return po, nil
}

// listString reads a config value that may be a list ([cpu, heap]) or a
// string ("cpu,heap").
func listString(raw any) string {
	switch v := raw.(type) {
	case nil:
		return ""
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = fmt.Sprint(x)
		}
		return strings.Join(parts, ",")
	case []string:
		return strings.Join(v, ",")
	}
	return strings.TrimSpace(fmt.Sprint(raw))
}

// addTopFlags registers the flags that shape top and diff tables.
func addTopFlags(fl *pflag.FlagSet, sortDefault profiles.Sort) {
	fl.Int("top", profiles.DefaultTop, "rows to show")
	fl.String("sort", string(sortDefault), "rank functions by cum (with callees) or flat (own cost)")
	fl.String("focus", "", "only samples with a function (or file) matching this regexp")
	fl.String("ignore", "", "drop samples with a function (or file) matching this regexp")
	fl.String("sample-index", "", "sample type to show, e.g. alloc_objects, inuse_space, contentions (default: the profile's)")
}

// topOptions reads the flags of addTopFlags; errors name the flag.
func topOptions(fl *pflag.FlagSet) (profiles.TopOptions, error) {
	var o profiles.TopOptions
	n, _ := fl.GetInt("top")
	if n < 1 {
		return o, fmt.Errorf("--top %d: must be at least 1", n)
	}
	o.N = n
	s, _ := fl.GetString("sort")
	sortBy, err := profiles.ParseSort(s)
	if err != nil {
		return o, fmt.Errorf("--%w", err)
	}
	o.Sort = sortBy
	for _, name := range []string{"focus", "ignore"} {
		expr, _ := fl.GetString(name)
		if expr == "" {
			continue
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return o, fmt.Errorf("--%s %q: %w", name, expr, err)
		}
		if name == "focus" {
			o.Focus = re
		} else {
			o.Ignore = re
		}
	}
	o.SampleType, _ = fl.GetString("sample-index")
	return o, nil
}

const profileLong = `Profile a scenario with pprof, and read, diff and browse profiles.

'perfkit profile KIND [SCENARIO...]' runs the scenarios exactly as 'perfkit run'
would (same flags, config file and environment), with a profile of KIND on for
the measured part of each run (not the warmup). Each scenario's profile, its
--count runs merged, is written to ` + ProfilesDir + `/<scenario>-<kind>-<time>.pb.gz,
a file 'go tool pprof' opens; the result is saved as usual with the profile's
path under "profiles"; stdout gets a top table of each profile.

Kinds: cpu (on-CPU time), heap (live memory at the end, after a GC), allocs
(allocations during the window), mutex and block (contention and blocking
during the window; their sampling rates are set for the run and restored
after), goroutine (the goroutines in the middle of the window). Each top table
says on its Covers line what the profile holds; perfkit's own profiling work
(snapshots, their encoding, the CPU profile writer) is left out of every one.

--pprof-url http://HOST:PORT/debug/pprof also fetches the same kinds from the
target's net/http/pprof over the measured window, while perfkit drives load
at it: where the target, not perfkit, spends its time. A target that stops
answering mid-run costs its profile (a warning), not the run.

'perfkit run --profile cpu,heap' attaches the same profiles to an ordinary run.
Profiles carry the op count of their window ("perfkit-ops=N" in their
comments), so 'perfkit profile diff' compares them per op.`

const profileExample = `  perfkit profile cpu fetch -d 5s
  perfkit profile allocs api --top 10 --sort flat
  perfkit profile cpu api --pprof-url http://127.0.0.1:6060/debug/pprof
  perfkit profile top .perfkit/profiles/api-cpu-20261102T100000Z.pb.gz --focus 'json'
  perfkit profile diff base.pb.gz new.pb.gz --format markdown
  perfkit profile web .perfkit/profiles/api-cpu-20261102T100000Z.pb.gz`

// NewCmdProfile builds `perfkit profile` and its subcommands. runF replaces
// runRun in tests that check what a profile command line resolves to.
func NewCmdProfile(f *Factory, runF func(*RunOptions) error) *cobra.Command {
	c := &cobra.Command{
		Use:     "profile KIND [SCENARIO...] | top FILE | diff BASE NEW | web FILE",
		Short:   "Profile a scenario with pprof; show, diff and browse profiles",
		Long:    profileLong,
		Example: profileExample,
		Args:    cobra.ArbitraryArgs,
		// An unknown kind's flags are not known either: name the kind.
		FParseErrWhitelist: cobra.FParseErrWhitelist{UnknownFlags: true},
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &usageError{err: fmt.Errorf("missing profile kind (%s) or subcommand (top, diff, web)", kindNames()), hint: helpHint(c)}
			}
			_, err := profiles.ParseKind(args[0])
			return &usageError{err: fmt.Errorf("%w; or a subcommand: top, diff, web", err), hint: helpHint(c)}
		},
	}
	for _, k := range profiles.Kinds() {
		c.AddCommand(newCmdProfileKind(f, k, runF))
	}
	c.AddCommand(newCmdProfileTop(f), newCmdProfileDiff(f), newCmdProfileWeb(f))
	return c
}

// kindHelp says what a profile of kind k records.
func kindHelp(k profiles.Kind) string {
	switch k {
	case profiles.CPU:
		return "on-CPU time of the measured part"
	case profiles.Heap:
		return "live memory at the end of the measured part"
	case profiles.Allocs:
		return "allocations made during the measured part"
	case profiles.Mutex:
		return "mutex contention during the measured part"
	case profiles.Block:
		return "time blocked (channels, select, sync) during the measured part"
	}
	return "goroutines in the middle of the measured part"
}

func newCmdProfileKind(f *Factory, kind profiles.Kind, runF func(*RunOptions) error) *cobra.Command {
	reg := registry(f.Workloads)
	params, regErr := reg.paramFlags()
	c := &cobra.Command{
		Use:   string(kind) + " [SCENARIO|WORKLOAD ...]",
		Short: "Run scenarios with " + string(kind) + " profiling: " + kindHelp(kind),
		Long: "Run scenarios as 'perfkit run' does, with " + string(kind) + " profiling (" + kindHelp(kind) + "),\n" +
			"write the profile to " + ProfilesDir + "/<scenario>-" + string(kind) + "-<time>.pb.gz, save the result with its\n" +
			"path, and print a top table of it (--format: table, markdown, json).",
		Example: "  perfkit profile " + string(kind) + " fetch -d 5s --top 10",
		RunE: func(c *cobra.Command, args []string) error {
			if regErr != nil {
				return regErr
			}
			top, err := topOptions(c.Flags())
			if err != nil {
				return err
			}
			opts, err := newRunOptions(f, c.Flags(), params, args)
			if err != nil {
				return err
			}
			format, err := profiles.ParseFormat(string(opts.Format))
			if err != nil {
				return err
			}
			opts.Profile = opts.Profile.WithKind(kind)
			opts.Profile.Top = &profiling.TopView{Options: top, Format: format}
			if runF != nil {
				return runF(opts)
			}
			return runRun(c.Context(), opts)
		},
	}
	addRunFlags(c.Flags(), params)
	addTopFlags(c.Flags(), profiles.SortCum)
	c.SetUsageFunc(runUsage)
	return c
}

func newCmdProfileTop(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:     "top FILE",
		Short:   "Show the top functions of a profile",
		Long:    "Show the functions of a profile (any pprof file) that cost most, as 'go tool pprof -top'.",
		Example: "  perfkit profile top .perfkit/profiles/api-cpu-20261102T100000Z.pb.gz --sort flat --focus json",
		Args:    exactArgs(1, "FILE"),
		RunE: func(c *cobra.Command, args []string) error {
			opts, err := topOptions(c.Flags())
			if err != nil {
				return err
			}
			format, err := formatFlag(c.Flags())
			if err != nil {
				return err
			}
			p, err := profiles.ReadFile(args[0])
			if err != nil {
				return err
			}
			top, err := profiles.Top(p, opts)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			top.File = args[0]
			if sc, ok := profiles.Comment(p, profiles.CommentScenario); ok {
				top.Title = sc
				if src, ok := profiles.Comment(p, profiles.CommentSource); ok {
					top.Title += " (" + src + ")"
				}
			}
			return profiles.WriteTop(f.IO.Out, top, format)
		},
	}
	addTopFlags(c.Flags(), profiles.SortCum)
	c.Flags().String("format", string(profiles.FormatTable), "output: table, markdown, json")
	return c
}

func formatFlag(fl *pflag.FlagSet) (profiles.Format, error) {
	s, _ := fl.GetString("format")
	f, err := profiles.ParseFormat(s)
	if err != nil {
		return "", fmt.Errorf("--%w", err)
	}
	return f, nil
}

func newCmdProfileDiff(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "diff BASE NEW",
		Short: "Show the functions whose cost changed most between two profiles",
		Long: `Show the functions whose cost changed most from BASE to NEW: flat (their own
cost) and cum (with their callees), absolute and in percent of BASE, the
biggest changes first (--sort flat, the default, puts a newly hot function
above the callers it slowed down).

When both profiles carry their op counts (perfkit writes them), values are
per op, so runs of different lengths or rates compare fairly; otherwise
(or with --raw) the profiles' totals are compared. Both must be of the same
kind (sample type).`,
		Example: "  perfkit profile diff base.pb.gz new.pb.gz --top 10 --format markdown",
		Args:    exactArgs(2, "BASE and NEW"),
		RunE: func(c *cobra.Command, args []string) error {
			top, err := topOptions(c.Flags())
			if err != nil {
				return err
			}
			format, err := formatFlag(c.Flags())
			if err != nil {
				return err
			}
			raw, _ := c.Flags().GetBool("raw")
			base, err := profiles.ReadFile(args[0])
			if err != nil {
				return err
			}
			new, err := profiles.ReadFile(args[1])
			if err != nil {
				return err
			}
			d, err := profiles.Diff(base, new, profiles.DiffOptions{
				N: top.N, Sort: top.Sort, Focus: top.Focus, Ignore: top.Ignore, SampleType: top.SampleType, Raw: raw,
			})
			if err != nil {
				return fmt.Errorf("%s vs %s: %w", args[0], args[1], err)
			}
			d.BaseFile, d.NewFile = args[0], args[1]
			return profiles.WriteDiff(f.IO.Out, d, format)
		},
	}
	addTopFlags(c.Flags(), profiles.SortFlat)
	c.Flags().String("format", string(profiles.FormatTable), "output: table, markdown, json")
	c.Flags().Bool("raw", false, "compare the profiles' totals even when both carry op counts")
	return c
}
