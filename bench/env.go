package bench

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Env fingerprints the machine and build a result was measured on, so compare
// can warn when two results are not from like machines.
type Env struct {
	PerfkitVersion string `json:"perfkit_version"`
	GoVersion      string `json:"go_version"`
	OS             string `json:"os"`
	Arch           string `json:"arch"`
	CPUModel       string `json:"cpu_model"`
	NumCPU         int    `json:"num_cpu"`
	GOMAXPROCS     int    `json:"gomaxprocs"`
	Hostname       string `json:"hostname"`
	Kernel         string `json:"kernel"`
	GitCommit      string `json:"git_commit"`
	GitDirty       bool   `json:"git_dirty"`
}

// CurrentEnv reads the fingerprint of this process and machine. The git
// fields describe the repository in dir (the code under test), if it is one.
func CurrentEnv(ctx context.Context, version, dir string) Env {
	e := Env{
		PerfkitVersion: version,
		GoVersion:      runtime.Version(),
		OS:             runtime.GOOS,
		Arch:           runtime.GOARCH,
		CPUModel:       cpuModel(),
		NumCPU:         runtime.NumCPU(),
		GOMAXPROCS:     runtime.GOMAXPROCS(0),
		Kernel:         kernel(),
	}
	e.Hostname, _ = os.Hostname()
	if e.PerfkitVersion == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			e.PerfkitVersion = bi.Main.Version
		}
	}
	e.GitCommit, e.GitDirty = gitState(ctx, dir)
	return e
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func gitState(ctx context.Context, dir string) (commit string, dirty bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	git := func(args ...string) (string, bool) {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		return strings.TrimSpace(string(out)), err == nil
	}
	commit, ok := git("rev-parse", "HEAD")
	if !ok {
		return "", false
	}
	st, ok := git("status", "--porcelain", "--untracked-files=no")
	return commit, ok && st != ""
}
