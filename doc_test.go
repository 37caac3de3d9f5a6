package main

import (
	"bufio"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/perfkit/perfkit/bench"
)

// modulePath is the import path of this repository's module.
const modulePath = "github.com/perfkit/perfkit"

// goFiles returns the .go files of the module, relative to the repository
// root, skipping testdata, hidden directories and nested modules.
func goFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if path != "." {
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// citation is a markdown file named in a comment, with the quoted section
// that may follow it: (docs/design.md, "Validity") or
// docs/result-format.md ("The result file").
var citation = regexp.MustCompile(`([A-Za-z0-9_./-]+\.md)\b(?:\)?,?\s*\(?"([^"]+)")?`)

// TestCommentCitations fails when a Go comment cites a markdown file that is
// not in the repository, or a section (a quoted heading after the file
// name) that the file does not have: a comment must never send a reader to
// a document they cannot open.
func TestCommentCitations(t *testing.T) {
	headings := map[string]map[string]bool{} // file → lower-case headings
	fset := token.NewFileSet()
	for _, path := range goFiles(t) {
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, cg := range f.Comments {
			for _, m := range citation.FindAllStringSubmatch(cg.Text(), -1) {
				cited, section := m[1], m[2]
				pos := fset.Position(cg.Pos())
				md := resolveCited(cited, filepath.Dir(path))
				if md == "" {
					t.Errorf("%s:%d: comment cites %s, which is not in the repository", pos.Filename, pos.Line, cited)
					continue
				}
				if section == "" {
					continue
				}
				hs, ok := headings[md]
				if !ok {
					hs = markdownHeadings(t, md)
					headings[md] = hs
				}
				if !hasHeading(hs, section) {
					t.Errorf("%s:%d: comment cites %s, %q: %s has no such section", pos.Filename, pos.Line, cited, section, md)
				}
			}
		}
	}
}

// resolveCited finds a cited markdown file, from the repository root or the
// citing file's directory; "" when it is in neither.
func resolveCited(cited, dir string) string {
	for _, p := range []string{cited, filepath.Join(dir, cited)} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return filepath.Clean(p)
		}
	}
	return ""
}

// markdownHeadings returns the headings of a markdown file, lower case,
// without the leading #s; lines in fenced code blocks are not headings.
func markdownHeadings(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hs := map[string]bool{}
	fenced := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if !fenced && strings.HasPrefix(line, "#") {
			hs[strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return hs
}

// hasHeading reports whether section names a heading: the whole heading or
// its part before a colon ("Validity" for "Validity: when not to trust a
// run").
func hasHeading(hs map[string]bool, section string) bool {
	s := strings.ToLower(strings.Join(strings.Fields(section), " ")) // a comment may wrap it
	for h := range hs {
		if h == s || strings.HasPrefix(h, s+":") {
			return true
		}
	}
	return false
}

func TestCitationPattern(t *testing.T) {
	for _, c := range []struct{ text, file, section string }{
		{`marks a run (docs/design.md, "Validity").`, "docs/design.md", "Validity"},
		{`documented in README.md ("Baselines and compare").`, "README.md", "Baselines and compare"},
		{"schema\nin README.md, \"Baselines and compare\").", "README.md", "Baselines and compare"},
		{`see DESIGN.md for why`, "DESIGN.md", ""},
	} {
		m := citation.FindStringSubmatch(c.text)
		if m == nil || m[1] != c.file || m[2] != c.section {
			t.Errorf("%q: got %q, want file %q section %q", c.text, m, c.file, c.section)
		}
	}
}

// TestImportDirection holds the packages to the import rules of
// docs/design.md, "Import direction". Test files are not checked: a test
// may use any helper.
func TestImportDirection(t *testing.T) {
	imports := map[string]map[string]bool{} // package dir → perfkit packages it imports
	fset := token.NewFileSet()
	for _, path := range goFiles(t) {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		if imports[pkg] == nil {
			imports[pkg] = map[string]bool{}
		}
		for _, spec := range f.Imports {
			p, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			if rel, ok := strings.CutPrefix(p, modulePath+"/"); ok {
				imports[pkg][rel] = true
			}
		}
	}
	if len(imports["bench"]) == 0 && len(imports["cmd"]) == 0 {
		t.Fatal("found no perfkit imports: is the test running at the repository root?")
	}
	for pkg, imps := range imports {
		for imp := range imps {
			if why := importRule(pkg, imp); why != "" {
				t.Errorf("%s imports %s: %s (docs/design.md, \"Import direction\")", pkg, imp, why)
			}
		}
	}
}

// importRule says why package dir pkg may not import imp (both relative to
// the module root), or "" when it may.
func importRule(pkg, imp string) string {
	under := func(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }
	internal := under(imp, "internal")
	switch {
	case under(imp, "cmd") && pkg != "cli":
		return "nothing but cli imports cmd: cli is the command line's one public entry"
	case under(imp, "cli") && pkg != "." && !under(pkg, "examples"):
		return "only main and examples import cli: no library depends on the command line"
	case under(pkg, "examples") && imp != "cli" && imp != "bench" && imp != "bench/session":
		return "an example uses only the public API a user's module has: cli, bench and bench/session"
	case (pkg == "bench" || pkg == "bench/stats") && !internal:
		return pkg + " imports no other perfkit package"
	case under(pkg, "profiles") && !internal:
		return "profiles imports only the standard library and pprof"
	case under(pkg, "workloads") && imp != "bench" && !internal:
		return "a workload imports only bench"
	case under(pkg, "report") && under(imp, "workloads"):
		return "report and workloads never import each other"
	case under(pkg, "internal") && !internal:
		return "internal packages import only internal packages"
	}
	return ""
}

func TestImportRule(t *testing.T) {
	for _, c := range []struct {
		pkg, imp string
		ok       bool
	}{
		{".", "cmd", false},
		{".", "cli", true},
		{"cli", "cmd", true},
		{"report", "cli", false},
		{"examples/lrucache", "cli", true},
		{"examples/embed", "bench", true},
		{"examples/embed", "bench/session", true},
		{"examples/embed", "bench/monitor", false},
		{"bench/profiling", "profiles", true},
		{"cmd", "bench/session", true},
		{"examples/embed", "cmd", false},
		{"examples/embed", "workloads/cache", false},
		{"report", "cmd", false},
		{"bench", "bench/stats", false},
		{"bench", "internal/fileutil", true},
		{"bench/compare", "bench/stats", true},
		{"profiles", "bench", false},
		{"workloads/fetch", "bench", true},
		{"workloads/fetch", "workloads/cache", false},
		{"report", "workloads/fetch", false},
		{"internal/x", "bench", false},
	} {
		if got := importRule(c.pkg, c.imp) == ""; got != c.ok {
			t.Errorf("importRule(%q, %q) allowed = %v, want %v", c.pkg, c.imp, got, c.ok)
		}
	}
}

// TestResultFormatDoc holds docs/result-format.md to bench.Result field by
// field: each struct the file nests has a section whose heading names it
// ("### Run (`RunResult`)"), with a table row for each of its JSON fields
// and none for a field it does not have.
func TestResultFormatDoc(t *testing.T) {
	const page = "docs/result-format.md"
	raw, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string][]string{} // Go type name → field names of its table
	var cur string
	for line := range strings.Lines(string(raw)) {
		if strings.HasPrefix(line, "#") {
			cur = ""
			if m := regexp.MustCompile("\\(`(\\w+)`\\)\\s*$").FindStringSubmatch(line); m != nil {
				cur = m[1]
				sections[cur] = []string{}
			}
			continue
		}
		if m := regexp.MustCompile("^\\| `([a-z0-9_]+)` \\|").FindStringSubmatch(line); m != nil && cur != "" {
			sections[cur] = append(sections[cur], m[1])
		}
	}
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ.PkgPath() != reflect.TypeFor[bench.Result]().PkgPath() || seen[typ] {
			return
		}
		seen[typ] = true
		documented, ok := sections[typ.Name()]
		if !ok {
			t.Errorf("%s has no section for bench.%s (a heading ending in (`%s`))", page, typ.Name(), typ.Name())
		}
		want := map[string]bool{}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			want[name] = true
			if ok && !contains(documented, name) {
				t.Errorf("%s, %s: no row for field %q (bench.%s.%s)", page, typ.Name(), name, typ.Name(), f.Name)
			}
			walk(f.Type)
		}
		for _, name := range documented {
			if !want[name] {
				t.Errorf("%s, %s: row %q names no field of bench.%s", page, typ.Name(), name, typ.Name())
			}
		}
	}
	walk(reflect.TypeFor[bench.Result]())
	for name := range sections {
		if !slicesContainsType(seen, name) {
			t.Errorf("%s: section (`%s`) is not a type the result file holds", page, name)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func slicesContainsType(seen map[reflect.Type]bool, name string) bool {
	for typ := range seen {
		if typ.Name() == name {
			return true
		}
	}
	return false
}

// TestDocLinks fails on a relative link in README.md or under docs/ that
// leads nowhere: a file that does not exist, or an anchor that no heading
// of the linked page makes.
func TestDocLinks(t *testing.T) {
	pages := []string{"README.md", "examples/README.md"}
	err := filepath.WalkDir("docs", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".md") {
			pages = append(pages, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	anchors := map[string]map[string]bool{}
	for _, page := range pages {
		raw, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(stripFences(string(raw)), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.Join(filepath.Dir(page), file)
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s: link %s: no file %s", page, target, path)
					continue
				}
			}
			if anchor == "" {
				continue
			}
			if !strings.HasSuffix(path, ".md") {
				t.Errorf("%s: link %s: an anchor into a file that is not markdown", page, target)
				continue
			}
			as, ok := anchors[path]
			if !ok {
				as = markdownAnchors(t, path)
				anchors[path] = as
			}
			if !as[anchor] {
				t.Errorf("%s: link %s: %s has no heading with anchor #%s", page, target, path, anchor)
			}
		}
	}
}

// stripFences removes fenced code blocks, whose brackets are not links.
func stripFences(s string) string {
	var out strings.Builder
	fenced := false
	for line := range strings.Lines(s) {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			out.WriteString(line)
		}
	}
	return out.String()
}

// markdownAnchors returns the anchors GitHub makes for a page's headings:
// lower case, punctuation dropped, spaces as dashes, "-1", "-2"… for
// repeats.
func markdownAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	as := map[string]bool{}
	count := map[string]int{}
	for line := range strings.Lines(stripFences(string(raw))) {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		var b strings.Builder
		for _, r := range h {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := count[a]; n > 0 {
			as[a+"-"+strconv.Itoa(n)] = true
		} else {
			as[a] = true
		}
		count[a]++
	}
	return as
}
