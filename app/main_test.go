package app_test

import (
	"os"
	"testing"

	"github.com/recallbot/recallbot/ledger/ledgertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	ledgertest.StopShared()
	os.Exit(code)
}
