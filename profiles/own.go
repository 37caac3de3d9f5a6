package profiles

import (
	"regexp"

	"github.com/google/pprof/profile"
)

// ownFrames matches the functions that do perfkit's profiling: this
// package's captures, snapshots and fetches of a target's profiles, and the
// runtime's CPU profile writer, a goroutine pprof.StartCPUProfile starts
// with none of ours on its stack, and the profiler observer
// (bench/profiling.Profiler), which decodes, merges and saves the profiles
// of one run while the window of another may be open (the runtime publishes
// an allocation in its memory profile a GC cycle or two after it happens,
// so a save just before a window opens can land in it). Only the entry points are named, so a function of
// a test or workload in this package is not matched.
var ownFrames = regexp.MustCompile(`^(github\.com/perfkit/perfkit/profiles\.(Start|StartRemote|Fetch|SetAllocsSampling|snapshot|delta|newSnapshotTimer|startMemWindow|\(\*(Capture|Remote|snapshotTimer|memWindow)\)\.)|github\.com/perfkit/perfkit/bench/profiling\.\(\*Profiler\)\.|runtime/pprof\.profileWriter$)`)

// targetProfiling matches a target's net/http/pprof handlers: serving a
// profile to perfkit (a delta's base snapshot, its encoding) is perfkit's
// profiling too, done in the target's process.
var targetProfiling = regexp.MustCompile(`^net/http/pprof\.`)

// excludeTargetProfiling drops the samples of a target's profile taken
// while serving profiles (targetProfiling), and says so in a comment.
func excludeTargetProfiling(p *profile.Profile) {
	p.FilterSamplesByName(nil, targetProfiling, nil, nil)
	SetComment(p, CommentExcluded, "profiling")
}

// ExcludeOwn drops the samples of perfkit's own profiling from p: any
// sample with a frame of ownFrames on its stack (the encoding of a
// snapshot, a goroutine snapshot taken mid-window, the CPU profiler's
// writer, the fetch of a target's profile). What is left is what the
// workload and the engine did. p is changed and returned, with a comment
// (CommentExcluded) saying so.
func ExcludeOwn(p *profile.Profile) *profile.Profile {
	p.FilterSamplesByName(nil, ownFrames, nil, nil)
	SetComment(p, CommentExcluded, "profiling")
	return p
}

// withoutOwn is p as reported: a profile perfkit took of itself before it
// left its own profiling out (an older file, a baseline's copy) gets the
// same rule, on a copy, so a diff against a newer one does not show the
// old snapshots' cost as an improvement.
func withoutOwn(p *profile.Profile) *profile.Profile {
	if src, _ := Comment(p, CommentSource); src != "perfkit" {
		return p
	}
	if _, done := Comment(p, CommentExcluded); done {
		return p
	}
	return ExcludeOwn(p.Copy())
}
