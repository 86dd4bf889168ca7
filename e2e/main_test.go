package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/recallbot/recallbot/ledger/ledgertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	ledgertest.StopShared()
	if built.path != "" {
		_ = os.RemoveAll(filepath.Dir(built.path))
	}
	os.Exit(code)
}
