package cmd

import (
	"fmt"
	"os"

	"github.com/perfkit/perfkit/bench"
)

// writeResultFile is the writer of result files unless a test injects one.
func writeResultFile(res *bench.Result, path string) error { return res.WriteFile(path) }

// saveResult writes res to path. When that fails (a full disk, a directory
// made read-only during the run), what was measured is not lost: it goes to
// a fallback file in the temp directory, and the error, an exit 3, names the
// path that failed, why, and where the result is (or that the fallback
// failed too). The caller prints the results before returning the error.
func saveResult(write func(*bench.Result, string) error, res *bench.Result, path string) error {
	if write == nil {
		write = writeResultFile
	}
	err := write(res, path)
	if err == nil {
		return nil
	}
	cause := unwrapPath(err)
	fb, ferr := os.CreateTemp("", "perfkit-result-*.json")
	if ferr == nil {
		name := fb.Name()
		fb.Close()
		if ferr = write(res, name); ferr == nil {
			return measureErr(fmt.Errorf("writing result %s: %w; the result is saved to %s instead", path, cause, name))
		}
		os.Remove(name)
	}
	return measureErr(fmt.Errorf("writing result %s: %w; the fallback in %s failed too (%v): only the output above remains",
		path, cause, os.TempDir(), unwrapPath(ferr)))
}
