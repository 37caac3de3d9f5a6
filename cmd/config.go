package cmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/perfkit/perfkit/bench"
)

// ConfigFileName is the config file perfkit looks for in the working
// directory, then in $XDG_CONFIG_HOME/perfkit (~/.config/perfkit).
const ConfigFileName = "perfkit.yaml"

// configFile is a parsed perfkit.yaml. Values keep the line they came from so
// errors name file:line.
type configFile struct {
	path      string
	top       map[string]configValue // top-level keys other than scenarios
	scenarios []*scenarioConfig
	// topWarnings name ${VAR}s of the top level that are not set.
	topWarnings []string
}

// scenarioConfig is one entry of `scenarios:`.
type scenarioConfig struct {
	name     string
	workload string
	line     int
	settings map[string]configValue // run settings and sweep, by long flag name
	params   map[string]configValue
	warnings []string // ${VAR}s of this scenario that are not set
}

// configValue is a decoded YAML value (${VAR} expanded) and its line.
type configValue struct {
	raw  any
	line int
	node *yaml.Node // the value's node, for the lines of list items
}

// Keys a scenario accepts besides the run settings.
var scenarioKeys = []string{"name", "workload", "params"}

// Top-level keys besides the run settings (defaults for every scenario).
// baseline-dir and compare belong to later commands; run accepts and ignores
// them so one file serves all commands.
func topKeys() []string {
	return append([]string{"scenarios", "params", sweepKey, "format", "out", "no-save", "strict", "baseline-dir", "compare", profileKey, pprofURLKey}, monitorTopKeys()...)
}

// findConfig returns the config file to read: the one given (which must
// exist), else ./perfkit.yaml, else $XDG_CONFIG_HOME/perfkit/perfkit.yaml
// (~/.config when XDG_CONFIG_HOME is unset); "" when there is none.
func findConfig(given string) (string, error) {
	if given != "" {
		st, err := os.Stat(given)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("config file %s: no such file", given)
		case err != nil:
			return "", fmt.Errorf("config file %s: %w", given, err)
		case st.IsDir():
			return "", fmt.Errorf("config file %s: is a directory", given)
		}
		return given, nil
	}
	candidates := []string{ConfigFileName}
	if dir := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(dir) {
		candidates = append(candidates, filepath.Join(dir, "perfkit", ConfigFileName))
	} else if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".config", "perfkit", ConfigFileName))
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c, nil
		}
	}
	return "", nil
}

var yamlLineErr = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// loadConfig reads and checks the structure of a config file: known keys,
// named scenarios with known workloads. Values are checked when a scenario is
// resolved.
func loadConfig(path string, workloads registry) (*configFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := oneLine(err.Error())
		if m := yamlLineErr.FindStringSubmatch(msg); m != nil {
			return nil, fmt.Errorf("%s:%s: %s", path, m[1], m[2])
		}
		return nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(msg, "yaml: "))
	}
	cf := &configFile{path: path, top: map[string]configValue{}}
	if len(doc.Content) == 0 { // empty file
		return cf, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: expected a mapping of keys (scenarios:, concurrency:, ...), found %s", path, root.Line, nodeKind(root))
	}
	topAccepted := append(topKeys(), settingKeys()...)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch {
		case k.Value == "scenarios":
			if err := cf.loadScenarios(v, workloads); err != nil {
				return nil, err
			}
		case slices.Contains(topAccepted, k.Value):
			val, err := cf.decode(v, &cf.topWarnings)
			if err != nil {
				return nil, err
			}
			cf.top[k.Value] = configValue{raw: val, line: k.Line, node: v}
		default:
			return nil, fmt.Errorf("%s:%d: unknown key %q (accepted: %s)", path, k.Line, k.Value, strings.Join(topAccepted, ", "))
		}
	}
	if p, ok := cf.top["params"]; ok {
		m, isMap := p.raw.(map[string]any)
		if !isMap {
			return nil, fmt.Errorf("%s:%d: params: expected a mapping of param names to values", path, p.line)
		}
		for name := range m {
			if !slices.ContainsFunc(workloads, func(d bench.Definition) bool { _, ok := d.Param(name); return ok }) {
				return nil, fmt.Errorf("%s:%d: params: unknown param %q (no workload takes it; see 'perfkit workloads NAME')", path, p.line, name)
			}
		}
	}
	return cf, nil
}

func (cf *configFile) loadScenarios(seq *yaml.Node, workloads registry) error {
	if seq.Kind != yaml.SequenceNode {
		return fmt.Errorf("%s:%d: scenarios: expected a list of scenarios (- name: ...), found %s", cf.path, seq.Line, nodeKind(seq))
	}
	accepted := append(slices.Clone(scenarioKeys), settingKeys()...)
	accepted = append(accepted, sweepKey)
	accepted = append(accepted, monitorScenarioKeys()...)
	seen := map[string]int{}
	for _, item := range seq.Content {
		if item.Kind != yaml.MappingNode {
			return fmt.Errorf("%s:%d: scenarios: expected a scenario (name: ..., workload: ...), found %s", cf.path, item.Line, nodeKind(item))
		}
		sc := &scenarioConfig{line: item.Line, settings: map[string]configValue{}, params: map[string]configValue{}}
		for i := 0; i+1 < len(item.Content); i += 2 {
			k, v := item.Content[i], item.Content[i+1]
			switch k.Value {
			case "name", "workload":
				if v.Kind != yaml.ScalarNode || v.Value == "" {
					return fmt.Errorf("%s:%d: %s: expected a non-empty string", cf.path, v.Line, k.Value)
				}
				if k.Value == "name" {
					sc.name = v.Value
				} else {
					sc.workload = v.Value
				}
			case "params":
				if v.Kind != yaml.MappingNode {
					return fmt.Errorf("%s:%d: params: expected a mapping of param names to values, found %s", cf.path, v.Line, nodeKind(v))
				}
				for j := 0; j+1 < len(v.Content); j += 2 {
					pk, pv := v.Content[j], v.Content[j+1]
					val, err := cf.decode(pv, &sc.warnings)
					if err != nil {
						return err
					}
					sc.params[pk.Value] = configValue{raw: val, line: pk.Line}
				}
			default:
				where := "scenario"
				if sc.name != "" {
					where = "scenario " + sc.name
				}
				if slices.Contains(append([]string{"format", "out", "no-save", "strict", profileKey, pprofURLKey}, monitorRunKeys()...), k.Value) {
					return fmt.Errorf("%s:%d: %s: key %q applies to the whole run: set it at the top level", cf.path, k.Line, where, k.Value)
				}
				if !slices.Contains(accepted, k.Value) {
					return fmt.Errorf("%s:%d: %s: unknown key %q (accepted: %s)", cf.path, k.Line, where, k.Value, strings.Join(accepted, ", "))
				}
				val, err := cf.decode(v, &sc.warnings)
				if err != nil {
					return err
				}
				sc.settings[k.Value] = configValue{raw: val, line: k.Line, node: v}
			}
		}
		if sc.name == "" {
			return fmt.Errorf("%s:%d: scenario has no name", cf.path, item.Line)
		}
		if prev, dup := seen[sc.name]; dup {
			return fmt.Errorf("%s:%d: scenario %s: name already used on line %d", cf.path, item.Line, sc.name, prev)
		}
		seen[sc.name] = item.Line
		if sc.workload == "" {
			if _, ok := workloads.lookup(sc.name); !ok {
				return fmt.Errorf("%s:%d: scenario %s: no workload (workloads: %s)", cf.path, item.Line, sc.name, strings.Join(workloads.names(), ", "))
			}
			sc.workload = sc.name
		}
		def, ok := workloads.lookup(sc.workload)
		if !ok {
			return fmt.Errorf("%s:%d: scenario %s: unknown workload %q (workloads: %s)", cf.path, item.Line, sc.name, sc.workload, strings.Join(workloads.names(), ", "))
		}
		for name, pv := range sc.params {
			if _, ok := def.Param(name); !ok {
				return fmt.Errorf("%s:%d: scenario %s: unknown param %q for workload %s (accepted: %s)", cf.path, pv.line, sc.name, name, def.Name, strings.Join(def.ParamNames(), ", "))
			}
		}
		cf.scenarios = append(cf.scenarios, sc)
	}
	return nil
}

// scenario returns the configured scenario named name.
func (cf *configFile) scenario(name string) (*scenarioConfig, bool) {
	if cf == nil {
		return nil, false
	}
	for _, s := range cf.scenarios {
		if s.name == name {
			return s, true
		}
	}
	return nil, false
}

func (cf *configFile) scenarioNames() []string {
	if cf == nil {
		return nil
	}
	out := make([]string, len(cf.scenarios))
	for i, s := range cf.scenarios {
		out[i] = s.name
	}
	return out
}

// where names a config line in errors.
func (cf *configFile) where(line int) string { return cf.path + ":" + strconv.Itoa(line) }

// decode turns a YAML node into plain Go values, expanding ${VAR} in strings.
// Unset variables are noted in warn.
func (cf *configFile) decode(n *yaml.Node, warn *[]string) (any, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, fmt.Errorf("%s:%d: %s", cf.path, n.Line, strings.TrimPrefix(oneLine(err.Error()), "yaml: "))
	}
	return cf.expand(v, n.Line, warn), nil
}

func (cf *configFile) expand(v any, line int, warn *[]string) any {
	switch t := v.(type) {
	case string:
		s, unset := expandEnv(t, os.LookupEnv)
		for _, name := range unset {
			*warn = append(*warn, fmt.Sprintf("%s: ${%s} is not set (expanded to \"\")", cf.where(line), name))
		}
		return s
	case []any:
		for i := range t {
			t[i] = cf.expand(t[i], line, warn)
		}
	case map[string]any:
		for k := range t {
			t[k] = cf.expand(t[k], line, warn)
		}
	}
	return v
}

// expandEnv replaces ${VAR} and ${VAR:-default} with values from lookup;
// $${ stays a literal ${. Other $ signs are left alone, so passwords and
// regular expressions in values survive. It returns the names of unset
// variables without a default.
func expandEnv(s string, lookup func(string) (string, bool)) (string, []string) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	var unset []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		if i > 0 && s[i-1] == '$' { // $${ → literal ${
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		expr := s[i+2 : i+j]
		name, def, hasDef := strings.Cut(expr, ":-")
		if val, ok := lookup(name); ok && (val != "" || !hasDef) {
			b.WriteString(val)
		} else if hasDef {
			b.WriteString(def)
		} else {
			unset = append(unset, name)
		}
		s = s[i+j+1:]
	}
	return b.String(), unset
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}
