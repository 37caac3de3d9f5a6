package cmd

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/profiles"
	"github.com/perfkit/perfkit/report"
)

// Dynamic shell completion (perfkit completion bash|zsh|fish|powershell):
// commands offer the scenarios of the config file and the workloads, the
// baselines in the baselines directory, and the values of flags that take
// one of a fixed few. Completion never prints an error: a config file or
// baselines directory that cannot be read offers what is left.

type completeFunc = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective)

// completeScenarios offers the scenarios of the config file (the one
// --config or PERFKIT_CONFIG names, else ./perfkit.yaml...) and the built-in
// workloads, leaving out those already given.
func completeScenarios(f *Factory, reg registry) completeFunc {
	return func(c *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		var out []string
		add := func(name, desc string) {
			if !slices.Contains(args, name) && !slices.ContainsFunc(out, func(s string) bool { return strings.HasPrefix(s, name+"\t") }) {
				out = append(out, name+"\t"+desc)
			}
		}
		if cf, err := compareConfig(f, c.Flags()); err == nil && cf != nil {
			for _, n := range cf.scenarioNames() {
				add(n, "scenario in "+cf.path)
			}
		}
		for _, n := range reg.names() {
			add(n, "workload")
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// baselineNames lists the baselines of the directory the command's flags,
// PERFKIT_BASELINE_DIR or the config file name (nil when there is none).
func baselineNames(f *Factory, c *cobra.Command) []string {
	store, err := openStore(f, c.Flags())
	if err != nil {
		return nil
	}
	names, err := store.Names()
	if err != nil {
		return nil
	}
	return names
}

// completeBaselineArg offers baseline names for a command's one NAME argument.
func completeBaselineArg(f *Factory) completeFunc {
	return func(c *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return baselineNames(f, c), cobra.ShellCompDirectiveNoFileComp
	}
}

// fixed offers the values given.
func fixed(values ...string) completeFunc {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// commaList offers values for a comma-separated list (--profile cpu,heap):
// each after what is already typed, leaving out those already in it.
func commaList(values ...string) completeFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		i := strings.LastIndex(toComplete, ",")
		prefix := toComplete[:i+1]
		given := strings.Split(prefix, ",")
		var out []string
		for _, v := range values {
			if !slices.Contains(given, v) {
				out = append(out, prefix+v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

func strs[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// registerCompletions gives the commands and their subcommands their
// argument and flag completions. It takes the top-level commands as a list:
// root.Commands() would sort them, and cobra's "did you mean" suggestions
// follow that order ("rn" should suggest run before ab).
func registerCompletions(f *Factory, cmds ...*cobra.Command) {
	reg := registry(f.Workloads)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		completeCommandArgs(f, reg, c)
		c.LocalFlags().VisitAll(func(fl *pflag.Flag) {
			if fn := flagCompletion(f, c, fl.Name); fn != nil {
				_ = c.RegisterFlagCompletionFunc(fl.Name, fn)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	for _, c := range cmds {
		walk(c)
	}
}

// completeCommandArgs sets the completion of c's arguments.
func completeCommandArgs(f *Factory, reg registry, c *cobra.Command) {
	path := strings.TrimPrefix(c.CommandPath(), "perfkit ")
	switch {
	case path == "ab":
		scenarios := completeScenarios(f, reg)
		c.ValidArgsFunction = func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) >= 2 { // A and B given
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return scenarios(c, args, toComplete)
		}
	case path == "run", c.HasParent() && c.Parent().Name() == "profile" && slices.Contains(strs(profiles.Kinds()), c.Name()):
		c.ValidArgsFunction = completeScenarios(f, reg)
	case path == "baseline show", path == "baseline rm", path == "baseline save":
		c.ValidArgsFunction = completeBaselineArg(f)
	}
}

// flagCompletion returns the completion of flag name of command c, nil for
// a flag that takes any value (files and free text are left to the shell).
func flagCompletion(f *Factory, c *cobra.Command, name string) completeFunc {
	inProfile := c.HasParent() && c.Parent().Name() == "profile"
	switch name {
	case "format":
		switch {
		case inProfile:
			return fixed(strs([]profiles.Format{profiles.FormatTable, profiles.FormatMarkdown, profiles.FormatJSON})...)
		case c.Name() == "compare":
			return fixed(strs(report.CompareFormats())...)
		case c.Name() == "history":
			return fixed(strs(report.HistoryFormats())...)
		case c.Name() == "report":
			return fixed(strs(report.ReportFormats())...)
		}
		return fixed(formatNames()...)
	case "arrival":
		return fixed(bench.ArrivalConstant, bench.ArrivalPoisson)
	case "fail-on":
		return commaList("regression", "invalid", "inconclusive", "never")
	case "sort":
		return fixed(strs([]profiles.Sort{profiles.SortCum, profiles.SortFlat})...)
	case profileKey:
		return commaList(strs(profiles.Kinds())...)
	case sweepKey:
		// PARAM= for each run setting and workload param; the values are the user's.
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			var out []string
			for _, p := range sweepSettings() {
				out = append(out, p+"=")
			}
			for _, d := range f.Workloads {
				for _, p := range d.Params {
					if !slices.Contains(out, p.Name+"=") {
						out = append(out, p.Name+"=")
					}
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
		}
	case "baseline", "compare":
		return func(c *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
			return baselineNames(f, c), cobra.ShellCompDirectiveNoFileComp
		}
	case "config":
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
		}
	case "baseline-dir":
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		}
	}
	return nil
}
