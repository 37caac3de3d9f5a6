package bench

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// StaleTempAge is how old a temporary file of an atomic write must be for
// CleanStaleTemps to remove it whatever its writer: no write of a result,
// baseline or profile takes minutes, so such a file belongs to a writer that
// was killed (SIGKILL, power loss) before it could remove it.
const StaleTempAge = 5 * time.Minute

// tempPattern is the name os.CreateTemp gives the temporary file of an atomic
// write of path: ".NAME.tmp-PID-RANDOM", hidden, beside path. The writer's
// pid lets a later writer tell a dead writer's leftover from a live one.
func tempPattern(path string) string {
	return "." + filepath.Base(path) + ".tmp-" + strconv.Itoa(os.Getpid()) + "-*"
}

// CleanStaleTemps removes the leftovers of interrupted atomic writes in dir
// (".NAME.tmp-…" files): those whose writer's process is gone, and those
// older than StaleTempAge (now is the current time). A live writer's file is
// left alone. It returns the paths removed; a missing dir is not an error.
func CleanStaleTemps(dir string, now time.Time) ([]string, error) {
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
			stale = now.Sub(info.ModTime()) > StaleTempAge
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
