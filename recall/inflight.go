package recall

import "github.com/recallbot/recallbot/dingtalk"

// inFlightAdvisor is the part of *dingtalk.Client that sizes a job's calls
// in flight from the round trips it measures (Little's law: the pace's
// rate times the round trip, with headroom; see dingtalk.Client.InFlight).
type inFlightAdvisor interface {
	InFlight(apis ...string) int
}

// defaultInFlight is the calls in flight of a job whose API cannot say
// (a test's stand-in for the client).
const defaultInFlight = 4

// newGate bounds a job's calls to apis in flight: fixed if it is set (a
// Config's Concurrency), else what api recommends, read again as the job
// runs so that it follows the round trip.
func newGate(api any, fixed int, apis ...string) *dingtalk.Gate {
	if fixed > 0 {
		return dingtalk.NewGate(func() int { return fixed })
	}
	if a, ok := api.(inFlightAdvisor); ok {
		return dingtalk.NewGate(func() int { return a.InFlight(apis...) })
	}
	return dingtalk.NewGate(func() int { return defaultInFlight })
}

// recallAPIs and sendAPIs are the paths whose round trips size a recall's
// and a broadcast's calls in flight.
var (
	recallAPIs = []string{dingtalk.PathOTORecall, dingtalk.PathPrivateRecall, dingtalk.PathGroupRecall}
	sendAPIs   = []string{dingtalk.PathOTOSend, dingtalk.PathPrivateSend, dingtalk.PathGroupSend}
	queryAPIs  = []string{dingtalk.PathOTOQuery, dingtalk.PathPrivateQuery, dingtalk.PathGroupQuery}
)
