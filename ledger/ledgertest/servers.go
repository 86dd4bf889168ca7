package ledgertest

import (
	"testing"

	"github.com/recallbot/recallbot/internal/redistest"
)

// The Redis servers a test of the shared ledger runs against: real
// redis-server and redis-sentinel processes on free loopback ports (package
// internal/redistest, which package ledger's own tests use directly).

// Redis is a running redis-server: Stop, Kill and Restart it.
type Redis = redistest.Redis

// HA is a Sentinel-managed primary and replica (StartHA).
type HA = redistest.HA

// Sentinel is a running redis-sentinel.
type Sentinel = redistest.Sentinel

// MasterName is the name the Sentinels of StartHA monitor.
const MasterName = redistest.MasterName

// SkipReason is why Redis tests cannot run here, or "".
func SkipReason() string { return redistest.SkipReason() }

// SentinelSkipReason is why Sentinel tests cannot run here, or "".
func SentinelSkipReason() string { return redistest.SentinelSkipReason() }

// Start starts a redis-server and waits until it accepts connections;
// extra arguments go to redis-server (e.g. "--requirepass", "x").
func Start(extra ...string) (*Redis, error) { return redistest.Start(extra...) }

// Shared returns one redis-server for the whole test binary, started on
// first use; StopShared (from TestMain) stops it. Without redis-server the
// test is skipped, except under CI, where that is a failure.
func Shared(t testing.TB) *Redis { t.Helper(); return redistest.Shared(t) }

// StopShared stops the shared server, if one was started.
func StopShared() { redistest.StopShared() }

// Own starts a redis-server for one test, one it may kill and restart; it
// is stopped when the test ends. Skipping works as for Shared.
func Own(t testing.TB, extra ...string) *Redis { t.Helper(); return redistest.Own(t, extra...) }

// StartHA starts a primary, a replica and three Sentinels, and stops them
// when the test ends (see redistest.StartHA).
func StartHA(t testing.TB, password string) *HA { t.Helper(); return redistest.StartHA(t, password) }
