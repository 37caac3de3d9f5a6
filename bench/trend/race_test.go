//go:build race

package trend

// raceEnabled: the rate tests run hundreds of single-goroutine searches,
// where the race detector finds nothing and costs ten times the time; they
// run on a quarter of their series under it.
const raceEnabled = true
