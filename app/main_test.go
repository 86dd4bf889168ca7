package app_test

import (
	"os"
	"testing"

	"github.com/recallbot/recallbot/ledger/ledgertest"
)

func TestMain(m *testing.M) {
	// The operator's commands read the HTTP token from the environment;
	// every bot the tests start has the same one, so it is set once here
	// rather than by each test (t.Setenv rules out t.Parallel).
	os.Setenv("RECALLBOT_HTTP_TOKEN", testToken)
	code := m.Run()
	ledgertest.StopShared()
	os.Exit(code)
}
