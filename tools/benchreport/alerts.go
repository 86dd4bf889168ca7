package main

import "fmt"

// runAlertStorm is the alert storm's benchmark (bench_alerts_test.go).
var runAlertStorm = run1{"./app", "^BenchmarkAlertStorm$", "1x"}

// alertStormRow reports the alert storm: groups firing at once, each
// notified twice, paced within the app's quota; the time until every
// group's one message shows its latest state, as a ratio to the ceiling
// the calls made imply at the emulator's limit. Only a group's latest
// state goes out, so the calls stay near one per group.
func alertStormRow(res map[string]result) row {
	s := res["BenchmarkAlertStorm"]
	if !s.has("groups", "notifications", "calls", "s", "ceiling-s", "x-ceiling", "403s", "limit-qps", "answer-p99-ms") {
		return missing("alert storm (1,000 groups firing at once)", runAlertStorm)
	}
	ok := s["x-ceiling"] <= ceilingTarget && s["403s"] == 0 && s["calls"] < 1.1*s["groups"]
	return row{fmt.Sprintf("alert storm: %s groups firing at once, each notified twice (fires, then changes); emulator limit on: %.0f calls/s per API, sliding (DingTalk's 20/s x%.0f)", thousands(s["groups"]), s["limit-qps"], s["limit-qps"]/20),
		fmt.Sprintf("%s notifications, %s DingTalk calls, every group's card showing its latest state after %.2f s, %.0f HTTP 403; webhook answered in p99 %.1f ms",
			thousands(s["notifications"]), thousands(s["calls"]), s["s"], s["403s"], s["answer-p99-ms"]),
		fmt.Sprintf("ceiling %.2f s (%s calls ÷ %.0f/s)", s["ceiling-s"], thousands(s["calls"]), s["limit-qps"]), fmt.Sprintf("%.3fx the ceiling", s["x-ceiling"]),
		judge(ok, fmt.Sprintf("≤ %.2fx, no 403, calls < 1.1 × groups (coalesced)", ceilingTarget)), runAlertStorm.command()}
}
