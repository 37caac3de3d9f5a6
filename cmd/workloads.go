package cmd

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"

	"github.com/perfkit/perfkit/bench"
)

// WorkloadsOptions is what `perfkit workloads` shows.
type WorkloadsOptions struct {
	IO        *IOStreams
	Workloads []bench.Definition
	// Name selects one workload to show its parameters; "" lists them all.
	Name string
}

// NewCmdWorkloads builds `perfkit workloads [NAME]`. runF replaces
// workloadsRun in tests.
func NewCmdWorkloads(f *Factory, runF func(*WorkloadsOptions) error) *cobra.Command {
	opts := &WorkloadsOptions{IO: f.IO, Workloads: f.Workloads}
	c := &cobra.Command{
		Use:   "workloads [NAME]",
		Short: "List workloads, or show one's parameters with their defaults",
		Long: `List the built-in workloads, or show the parameters of one.

Each parameter is a flag of 'perfkit run' (--NAME), a key under 'params:' in
perfkit.yaml, and a PERFKIT_NAME environment variable (dashes as underscores).`,
		Example: "  perfkit workloads\n  perfkit workloads fetch",
		Args:    cobra.MaximumNArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return registry(f.Workloads).names(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Name = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return workloadsRun(opts)
		},
	}
	return c
}

func workloadsRun(opts *WorkloadsOptions) error {
	reg := registry(opts.Workloads)
	if opts.Name == "" {
		rows := make([][]string, 0, len(reg))
		for _, d := range reg {
			rows = append(rows, []string{d.Name, d.Help})
		}
		return writeTable(opts.IO.Out, []string{"WORKLOAD", "DESCRIPTION"}, rows)
	}
	def, ok := reg.lookup(opts.Name)
	if !ok {
		return fmt.Errorf("unknown workload %q (workloads: %s)", opts.Name, strings.Join(reg.names(), ", "))
	}
	if _, err := fmt.Fprintf(opts.IO.Out, "%s: %s\n\n", def.Name, def.Help); err != nil {
		return err
	}
	rows := make([][]string, 0, len(def.Params))
	for _, p := range def.Params {
		d := p.Default
		if d == "" {
			d = "-"
		}
		help := p.Help
		if p.Max != 0 {
			help += fmt.Sprintf(" (at most %s)", strconv.FormatFloat(p.Max, 'f', -1, 64))
		}
		rows = append(rows, []string{p.Name, p.Kind.String(), d, help})
	}
	if err := writeTable(opts.IO.Out, []string{"PARAM", "TYPE", "DEFAULT", "DESCRIPTION"}, rows); err != nil {
		return err
	}
	_, err := fmt.Fprintf(opts.IO.Out, "\nSet a param with --NAME on 'perfkit run %s', under params: in perfkit.yaml, or as PERFKIT_NAME.\n", def.Name)
	return err
}

// writeTable renders a borderless table with tablewriter, header text as
// given, lines without trailing blanks.
func writeTable(w io.Writer, header []string, rows [][]string) error {
	var buf bytes.Buffer
	t := tablewriter.NewTable(&buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleNone),
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off},
				Lines:      tw.Lines{ShowHeaderLine: tw.Off},
			},
		})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithTrimSpace(tw.Off),
		tablewriter.WithPadding(tw.Padding{Left: "", Right: "  ", Overwrite: true}),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	)
	t.Header(header)
	if err := t.Bulk(rows); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}
	var out bytes.Buffer
	for line := range strings.Lines(buf.String()) {
		out.WriteString(strings.TrimRight(line, " \n"))
		out.WriteByte('\n')
	}
	_, err := w.Write(out.Bytes())
	return err
}
