//go:build race

package ratelimit

// raceEnabled shortens the floods under the race detector, which makes
// each operation some ten times slower; the plain run floods in full.
const raceEnabled = true
