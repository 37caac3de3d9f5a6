package fetch

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// A data file feeds {{row.COLUMN}} actions: a CSV file whose first line
// names the columns, or NDJSON (one JSON object a line, .ndjson or .jsonl),
// whose keys are the columns. It is read once, before the run, into a table
// holding only the columns the templates use.

// dataMode is how a request's row is chosen.
type dataMode uint8

const (
	modeSequential dataMode = iota // row seq mod rows: in order, wrapping
	modeRandom                     // a row at random, per request
	modeOnce                       // row seq: each row once; the run may not ask for more
)

// dataModeList names the accepted data-mode values.
const dataModeList = "sequential, random, once"

func parseDataMode(s string) (dataMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "sequential", "seq", "":
		return modeSequential, nil
	case "random":
		return modeRandom, nil
	case "once":
		return modeOnce, nil
	}
	return 0, fmt.Errorf("bad data-mode %q (accepted: %s)", s, dataModeList)
}

func checkDataMode(s string) error { _, err := parseDataMode(s); return err }

// Bounds of a data file, held in memory for the whole run.
const (
	maxDataBytes = 1 << 30
	maxDataRows  = 50_000_000
	maxDataLine  = 1 << 20
)

// table is a data file's rows, compact: the values of every row's stored
// columns back to back in data, row r's column c spanning
// data[offs[r*len(cols)+c]:offs[r*len(cols)+c+1]]. A 100,000-row file
// costs its values' bytes plus 4 bytes a value (TestDataMemory).
type table struct {
	name   string   // the file, for messages
	header []string // every column of the file
	cols   []string // the stored columns
	data   []byte
	offs   []uint32
	rows   int
}

// column returns the index of a stored column, or -1.
func (d *table) column(name string) int { return slices.Index(d.cols, name) }

// value returns row r's column c.
func (d *table) value(r, c int) []byte {
	i := r*len(d.cols) + c
	return d.data[d.offs[i]:d.offs[i+1]]
}

// dataMemory bounds the table of the data file at path: values are at
// most its size, and offsets 4 bytes a value; a value of a byte or more
// and its separator take 2 bytes, so offsets are at most twice its size.
func dataMemory(path string) (float64, string) {
	if path == "" {
		return 0, ""
	}
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return 0, ""
	}
	return 3 * float64(st.Size()), fmt.Sprintf(" and the rows of data file %s", path)
}

// dataError is a data file error at a line.
func dataError(name string, line int, err error) error {
	return &templateError{where: fmt.Sprintf("%s:%d", name, line), err: err}
}

// loadData reads the data file at path, keeping the columns cols of those
// it has (a column it lacks is reported by tmpl.bind, at the template).
func loadData(path string, cols []string) (*table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data file: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("data file %s: is a directory", path)
	}
	r := io.LimitReader(f, maxDataBytes+1)
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return readCSV(r, path, cols)
	case ".ndjson", ".jsonl":
		return readNDJSON(r, path, cols)
	}
	return nil, fmt.Errorf("data file %s: unknown format: want a .csv file (first line names the columns) or .ndjson/.jsonl (a JSON object a line)", path)
}

// builder appends rows to a table.
type builder struct {
	t    *table
	size int
}

func newBuilder(name string) *builder {
	return &builder{t: &table{name: name, offs: []uint32{0}}}
}

func (b *builder) add(name string, line int, vals [][]byte) error {
	if b.t.rows == maxDataRows {
		return dataError(name, line, fmt.Errorf("more than %d rows, the most a data file may have (rows are held in memory)", maxDataRows))
	}
	for _, v := range vals {
		b.t.data = append(b.t.data, v...)
		if len(b.t.data) > maxDataBytes {
			return dataError(name, line, errors.New("values add up to more than 1 GiB, the most a data file may hold (rows are held in memory)"))
		}
		b.t.offs = append(b.t.offs, uint32(len(b.t.data)))
	}
	b.t.rows++
	return nil
}

func (b *builder) done(name string) (*table, error) {
	if b.t.rows == 0 {
		return nil, fmt.Errorf("data file %s: no rows", name)
	}
	b.t.data = slices.Clip(b.t.data)
	b.t.offs = slices.Clip(b.t.offs)
	return b.t, nil
}

func readCSV(r io.Reader, name string, want []string) (*table, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	line := func() int { l, _ := cr.FieldPos(0); return l }
	bad := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return dataError(name, pe.Line, pe.Err)
		}
		return fmt.Errorf("data file %s: %w", name, err)
	}
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("data file %s: empty (want a first line naming the columns)", name)
	}
	if err != nil {
		return nil, bad(err)
	}
	b := newBuilder(name)
	b.t.header = slices.Clone(head)
	if len(b.t.header) > 0 {
		b.t.header[0] = strings.TrimPrefix(b.t.header[0], "\ufeff")
	}
	var idx []int // file column of each stored column
	for _, c := range want {
		if i := slices.Index(b.t.header, c); i >= 0 {
			b.t.cols = append(b.t.cols, c)
			idx = append(idx, i)
		}
	}
	vals := make([][]byte, len(idx))
	var scratch []byte
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, bad(err)
		}
		scratch = scratch[:0]
		for k, i := range idx {
			start := len(scratch)
			scratch = append(scratch, rec[i]...)
			vals[k] = scratch[start:len(scratch):len(scratch)]
		}
		if err := b.add(name, line(), vals); err != nil {
			return nil, err
		}
	}
	return b.done(name)
}

func readNDJSON(r io.Reader, name string, want []string) (*table, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxDataLine)
	b := newBuilder(name)
	line := 0
	var vals [][]byte
	for sc.Scan() {
		line++
		s := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			s = bytes.TrimPrefix(s, []byte("\ufeff"))
		}
		if len(s) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(s, &obj); err != nil || obj == nil {
			// The line is not quoted: data files may hold credentials.
			return nil, dataError(name, line, errors.New(`not a JSON object (want one object a line, e.g. {"user_id": 7})`))
		}
		if b.t.header == nil { // the first row names the columns
			for k := range obj {
				b.t.header = append(b.t.header, k)
			}
			slices.Sort(b.t.header)
			for _, c := range want {
				if _, ok := obj[c]; ok {
					b.t.cols = append(b.t.cols, c)
				}
			}
			vals = make([][]byte, len(b.t.cols))
		}
		for k, c := range b.t.cols {
			raw, ok := obj[c]
			if !ok {
				return nil, dataError(name, line, fmt.Errorf("no key %q (the first row has it, and a template uses it)", c))
			}
			vals[k] = jsonText(raw)
		}
		if err := b.add(name, line, vals); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, dataError(name, line+1, err)
	}
	return b.done(name)
}

// jsonText is a JSON value as a template inserts it: a string's text, any
// other value as written (numbers, true, null, objects).
func jsonText(raw json.RawMessage) []byte {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return []byte(s)
		}
	}
	return raw
}

// checkHeaderValues refuses line breaks in the values of columns used in
// header values: they would end the header and forge others.
func (d *table) checkHeaderValues(cols []string) error {
	for _, name := range cols {
		c := d.column(name)
		if c < 0 {
			continue
		}
		for r := 0; r < d.rows; r++ {
			if bytes.ContainsAny(d.value(r, c), "\r\n") {
				return fmt.Errorf("data file %s: row %d: column %q holds a line break, and a header value uses it", d.name, r+1, name)
			}
		}
	}
	return nil
}
