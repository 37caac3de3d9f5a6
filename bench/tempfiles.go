package bench

import (
	"time"

	"github.com/perfkit/perfkit/internal/atomicfile"
)

// StaleTempAge is how old a temporary file of an atomic write must be for
// CleanStaleTemps to remove it whatever its writer: no write of a result,
// baseline or profile takes minutes, so such a file belongs to a writer that
// was killed (SIGKILL, power loss) before it could remove it.
const StaleTempAge = atomicfile.StaleAge

// WriteFileAtomic writes data to path through a temporary file and a rename,
// so readers see the old file or the new one, never a mix. Leftovers of
// killed writers in the directory are removed first (CleanStaleTemps).
func WriteFileAtomic(path string, data []byte) error { return atomicfile.Write(path, data) }

// CleanStaleTemps removes the leftovers of interrupted atomic writes in dir
// (".NAME.tmp-…" files): those whose writer's process is gone, and those
// older than StaleTempAge (now is the current time). A live writer's file is
// left alone. It returns the paths removed; a missing dir is not an error.
func CleanStaleTemps(dir string, now time.Time) ([]string, error) {
	return atomicfile.CleanStale(dir, now)
}
