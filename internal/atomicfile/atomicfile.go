// Package atomicfile writes files so that a reader sees the old content or
// the new, never a mix, and a writer killed half-way leaves nothing that
// lasts: the one atomic write behind perfkit's results, baselines, reports
// and profiles. It imports only the standard library, so every perfkit
// package may use it (docs/design.md, "Import direction").
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// StaleAge is how old a temporary file of an atomic write must be for
// CleanStale to remove it whatever its writer: no write of a result,
// baseline or profile takes minutes, so such a file belongs to a writer that
// was killed (SIGKILL, power loss) before it could remove it.
const StaleAge = 5 * time.Minute

// Write writes data to path through a temporary file in the same directory,
// fsynced, made 0644 and renamed over path; the directory is fsynced after.
// A failed write leaves nothing behind. Leftovers of killed writers in the
// directory are removed first (CleanStale).
func Write(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	_, _ = CleanStale(dir, time.Now()) // best effort: the write matters
	f, err := os.CreateTemp(dir, tempPattern(path))
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// tempPattern is the name os.CreateTemp gives the temporary file of an atomic
// write of path: ".NAME.tmp-PID-RANDOM", hidden, beside path. The writer's
// pid lets a later writer tell a dead writer's leftover from a live one.
func tempPattern(path string) string {
	return "." + filepath.Base(path) + ".tmp-" + strconv.Itoa(os.Getpid()) + "-*"
}

// CleanStale removes the leftovers of interrupted atomic writes in dir
// (".NAME.tmp-…" files): those whose writer's process is gone, and those
// older than StaleAge (now is the current time). A live writer's file is
// left alone. It returns the paths removed; a missing dir is not an error.
func CleanStale(dir string, now time.Time) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range ents {
		name := e.Name()
		i := strings.LastIndex(name, ".tmp-")
		if !strings.HasPrefix(name, ".") || i <= 1 || !e.Type().IsRegular() {
			continue
		}
		stale := false
		if pid, _, ok := strings.Cut(name[i+len(".tmp-"):], "-"); ok {
			if n, err := strconv.Atoi(pid); err == nil && n > 0 && !processAlive(n) {
				stale = true
			}
		}
		if !stale {
			info, err := e.Info()
			if err != nil {
				continue
			}
			stale = now.Sub(info.ModTime()) > StaleAge
		}
		if !stale {
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.Remove(p); err == nil {
			removed = append(removed, p)
		}
	}
	return removed, nil
}
