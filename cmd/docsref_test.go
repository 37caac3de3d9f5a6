package cmd

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The generated reference: docs/reference/cli.md (every command's flags,
// from the cobra declarations) and docs/reference/workloads.md (every
// built-in workload's params, from its bench.Definition) are written whole;
// a hand-written page under docs/ embeds any one table between
//
//	<!-- BEGIN generated: flags perfkit run -->
//	<!-- END generated -->
//
// (or "params fetch"), and the block is rewritten with the table.
const (
	refDir       = "docs/reference"
	regenerate   = "make docs (go test ./cmd -run TestReferenceDocs -update)"
	blockEndLine = "<!-- END generated -->"
)

var blockBegin = regexp.MustCompile(`(?m)^<!-- BEGIN generated: (.+?) -->\n`)

// TestReferenceDocs fails when the generated reference, or a generated block
// of a page under docs/, differs from what the declarations give today.
func TestReferenceDocs(t *testing.T) {
	root := filepath.Join(pkgDir, "..")
	f := newFactory(io.Discard, io.Discard)
	tree := NewCmdRoot(f)
	blocks := map[string]string{}
	cli := cliReference(tree, blocks)
	wl := workloadsReference(registry(f.Workloads), blocks)
	want := map[string]string{
		filepath.Join(refDir, "cli.md"):       cli,
		filepath.Join(refDir, "workloads.md"): wl,
	}
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		got, err := fillBlocks(string(raw), blocks)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if got != string(raw) {
			want[rel] = got
		}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
	})
	for _, rel := range names {
		path := filepath.Join(root, rel)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(want[rel]), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		have, err := os.ReadFile(path)
		if err != nil || string(have) != want[rel] {
			t.Errorf("%s is not what the flag and param declarations give: run %s", rel, regenerate)
		}
	}
}

// fillBlocks rewrites each generated block of page with its table; a block
// naming no table, or without its end, is an error.
func fillBlocks(page string, blocks map[string]string) (string, error) {
	var out strings.Builder
	rest := page
	for {
		loc := blockBegin.FindStringSubmatchIndex(rest)
		if loc == nil {
			out.WriteString(rest)
			return out.String(), nil
		}
		name := rest[loc[2]:loc[3]]
		body, ok := blocks[name]
		if !ok {
			return "", fmt.Errorf("generated block %q: no such table (flags COMMAND PATH, or params WORKLOAD)", name)
		}
		end := strings.Index(rest[loc[1]:], blockEndLine)
		if end < 0 {
			return "", fmt.Errorf("generated block %q has no %s", name, blockEndLine)
		}
		out.WriteString(rest[:loc[1]])
		out.WriteString(body)
		out.WriteString("\n" + blockEndLine) // a blank line ends the table before the comment
		rest = rest[loc[1]+end+len(blockEndLine):]
	}
}

const generatedNote = "<!-- Generated from the declarations by " + regenerate + "; do not edit. -->\n"

// cliReference renders every command's flags and records each table in
// blocks as "flags COMMAND PATH".
func cliReference(root *cobra.Command, blocks map[string]string) string {
	var b strings.Builder
	b.WriteString("# Command reference\n\n" + generatedNote + "\n")
	b.WriteString("Every command and its flags, as `perfkit COMMAND --help` shows them. The run settings are\n" +
		"also `PERFKIT_*` variables and config keys ([Running and configuring](../run.md)); the workload\n" +
		"params, flags of `run`, `profile` and `ab` too, are listed in [Workloads](workloads.md).\n")
	var run *cobra.Command
	var cmds []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		if c != root && c.Runnable() {
			cmds = append(cmds, c)
			if c.Name() == "run" && c.Parent() == root {
				run = c
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	// Siblings with the same flags (profile cpu, heap...; completion bash,
	// zsh...) share one section rather than repeat it.
	type section struct {
		cmds []*cobra.Command
		body string
	}
	var sections []*section
	for _, c := range cmds {
		table, shared := flagTable(c, run)
		blocks["flags "+c.CommandPath()] = table
		var body strings.Builder
		body.WriteString(table)
		if len(shared) > 0 {
			fmt.Fprintf(&body, "\nAnd these flags of [perfkit run](#perfkit-run), with the same meaning: %s.\n", strings.Join(shared, ", "))
		}
		if hasParams(c) {
			body.WriteString("\nEvery workload param is a flag too (`--url`, `--header`…): see [Workloads](workloads.md).\n")
		}
		if i := slices.IndexFunc(sections, func(s *section) bool {
			return s.body == body.String() && s.cmds[0].Parent() == c.Parent() && c.Parent() != root
		}); i >= 0 {
			sections[i].cmds = append(sections[i].cmds, c)
			continue
		}
		sections = append(sections, &section{cmds: []*cobra.Command{c}, body: body.String()})
	}
	for _, s := range sections {
		if len(s.cmds) == 1 {
			c := s.cmds[0]
			fmt.Fprintf(&b, "\n## %s\n\n%s.\n\n```\n%s\n```\n\n%s", c.CommandPath(), c.Short, c.UseLine(), s.body)
			continue
		}
		names := make([]string, len(s.cmds))
		for i, c := range s.cmds {
			names[i] = c.Name()
		}
		fmt.Fprintf(&b, "\n## %s %s\n\n", s.cmds[0].Parent().CommandPath(), strings.Join(names, " | "))
		for _, c := range s.cmds {
			fmt.Fprintf(&b, "- `%s`: %s.\n", c.UseLine(), c.Short)
		}
		b.WriteString("\n" + s.body)
	}
	return b.String()
}

// flagTable renders c's flags (its own and inherited ones, no workload
// params, no --help) as a markdown table; flags run declares with the same
// help are listed by name instead (shared), when c is not run.
func flagTable(c, run *cobra.Command) (table string, shared []string) {
	var runFlags *pflag.FlagSet
	if run != nil && c != run {
		runFlags = run.LocalFlags()
	}
	var rows []string
	visit := func(fl *pflag.Flag) {
		if fl.Name == "help" || fl.Hidden {
			return
		}
		if _, isParam := fl.Annotations[annotationWorkloads]; isParam {
			return
		}
		if runFlags != nil {
			if rf := runFlags.Lookup(fl.Name); rf != nil && rf.Usage == fl.Usage {
				shared = append(shared, "`--"+fl.Name+"`")
				return
			}
		}
		typ, usage := pflag.UnquoteUsage(fl)
		name := "`--" + fl.Name + "`"
		if fl.Shorthand != "" {
			name = "`-" + fl.Shorthand + ", --" + fl.Name + "`"
		}
		if typ == "" {
			typ = "bool"
		}
		def := fl.DefValue
		if def == "" || def == "[]" {
			def = "—"
		} else {
			def = "`" + def + "`"
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s |", name, cell(typ), def, cell(usage)))
	}
	c.LocalFlags().VisitAll(visit)
	c.InheritedFlags().VisitAll(visit)
	if len(rows) == 0 {
		return "", shared
	}
	return "| flag | type | default | meaning |\n|---|---|---|---|\n" + strings.Join(rows, "\n") + "\n", shared
}

func hasParams(c *cobra.Command) bool {
	found := false
	c.LocalFlags().VisitAll(func(fl *pflag.Flag) {
		_, isParam := fl.Annotations[annotationWorkloads]
		found = found || isParam
	})
	return found
}

// statedDefault finds a default a param's help states itself, "(default
// min(32, NumCPU+4))": the value the declaration computes depends on the
// machine, and the reference must not.
var statedDefault = regexp.MustCompile(`\(default ((?:[^()]|\([^()]*\))*)\)`)

// workloadsReference renders every built-in workload's params and records
// each table in blocks as "params WORKLOAD".
func workloadsReference(reg registry, blocks map[string]string) string {
	var b strings.Builder
	b.WriteString("# Workload reference\n\n" + generatedNote + "\n")
	b.WriteString("The params of each built-in workload, as `perfkit workloads NAME` lists them. A param is a flag\n" +
		"of `perfkit run` (`--NAME`), a key under `params:` in perfkit.yaml and a `PERFKIT_NAME` variable\n" +
		"(dashes as underscores; a list takes one value per line). What each workload does, its labels,\n" +
		"counters and error kinds: [Built-in workloads](../workloads.md).\n")
	for _, d := range reg {
		var rows []string
		for _, p := range d.Params {
			def := p.Default
			if m := statedDefault.FindStringSubmatch(p.Help); m != nil {
				def = m[1]
			}
			if def == "" {
				def = "—"
			} else {
				def = "`" + def + "`"
			}
			help := p.Help
			if p.Max != 0 {
				help += " (at most " + strconv.FormatFloat(p.Max, 'f', -1, 64) + ")"
			}
			if p.Exec {
				help += "; from a config file it needs `--allow-exec`"
			}
			rows = append(rows, fmt.Sprintf("| `%s` | %s | %s | %s |", p.Name, p.Kind, def, cell(help)))
		}
		table := "| param | type | default | meaning |\n|---|---|---|---|\n" + strings.Join(rows, "\n") + "\n"
		blocks["params "+d.Name] = table
		fmt.Fprintf(&b, "\n## %s\n\n%s.\n\n%s", d.Name, strings.TrimSuffix(d.Help, "."), table)
	}
	return b.String()
}

// cell makes s fit a markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

func TestFillBlocks(t *testing.T) {
	blocks := map[string]string{"flags perfkit x": "| a |\n"}
	page := "intro\n<!-- BEGIN generated: flags perfkit x -->\nstale\n" + blockEndLine + "\nafter\n"
	got, err := fillBlocks(page, blocks)
	want := "intro\n<!-- BEGIN generated: flags perfkit x -->\n| a |\n\n" + blockEndLine + "\nafter\n"
	if err != nil || got != want {
		t.Errorf("fillBlocks = %q, %v; want %q", got, err, want)
	}
	if _, err := fillBlocks("<!-- BEGIN generated: flags perfkit y -->\n"+blockEndLine, blocks); err == nil {
		t.Error("a block naming no table: want an error")
	}
	if _, err := fillBlocks("<!-- BEGIN generated: flags perfkit x -->\nno end\n", blocks); err == nil {
		t.Error("a block without its end: want an error")
	}
	if m := statedDefault.FindStringSubmatch("pool size (default min(32, NumCPU+4)); each"); m == nil || m[1] != "min(32, NumCPU+4)" {
		t.Errorf("statedDefault: got %q", m)
	}
}
