package app_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/open-dingtalk/dingtalk-stream-sdk-go/logger"
	"go.uber.org/zap"

	"github.com/recallbot/recallbot/app"
	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/stream"
)

// TestLogsNeverShowSecrets sends secrets through every path a log line can
// take, including the Stream SDK's logger at debug level, and checks that
// none reaches the output.
func TestLogsNeverShowSecrets(t *testing.T) {
	// Not parallel: it routes the Stream SDK's logger, a process global,
	// to its own buffer.
	const secret, token = "client-secret-value", "access-token-value"
	var buf bytes.Buffer
	log, err := app.NewLogger(config.Log{Level: "debug", Format: "json"}, &buf, []string{secret, token})
	if err != nil {
		t.Fatal(err)
	}
	log.Info("open "+secret, zap.String("token", token), zap.Error(errors.New("bad "+secret)),
		zap.ByteString("body", []byte(`{"clientSecret":"`+secret+`"}`)), zap.Any("req", map[string]string{"s": secret}))
	log.With(zap.String("k", token)).Warn("with")
	log.Sugar().Errorf("call failed: %s", token)

	stream.RouteSDKLogs(log)
	sdk := logger.GetLogger()
	// The SDK logs the open-connection body, secret included, at debug
	// level, and its Fatalf must not exit.
	sdk.Debugf("[wire] %s", `{"clientSecret":"`+secret+`"}`)
	sdk.Errorf("reconnect error %s", secret)
	sdk.Fatalf("fatal %s", secret)

	out := buf.String()
	for _, s := range []string{secret, token} {
		if strings.Contains(out, s) {
			t.Errorf("log output contains %q:\n%s", s, out)
		}
	}
	if !strings.Contains(out, "[redacted]") || !strings.Contains(out, "fatal [redacted]") {
		t.Errorf("expected redacted lines, got:\n%s", out)
	}
}
