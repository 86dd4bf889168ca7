package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/recallbot/recallbot/autorecall"
	"github.com/recallbot/recallbot/config"
)

// TestInvalidRuleStopsStartup: a rule whose pattern does not compile is a
// configuration error naming the rule and where its pattern goes wrong.
func TestInvalidRuleStopsStartup(t *testing.T) {
	cfg := config.Default()
	cfg.DingTalk = config.DingTalk{ClientID: "a", ClientSecret: "b", RobotCode: "c", APIBase: "http://127.0.0.1:1", QPS: 20, Timeout: time.Second, KeepAlive: time.Minute}
	cfg.Admins = []string{"manager4220"}
	cfg.HTTP.Listen = ""
	cfg.AutoRecall.Rules = []autorecall.Rule{{Name: "hosts", Pattern: `db-(\d+`, Action: autorecall.Block, Mode: autorecall.Enforce}}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "autorecall.rules[0] (hosts): invalid pattern at position 3") {
		t.Errorf("Validate = %v", err)
	}
}
