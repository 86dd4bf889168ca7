package handlers

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/open-dingtalk/dingtalk-stream-sdk-go/logger"
	"go.uber.org/zap"
)

var (
	routeOnce sync.Once
	sdkLog    atomic.Pointer[zap.SugaredLogger]
	// sdkUp follows the SDK's connection as its log lines report it; see
	// connectionEvent.
	sdkUp atomic.Bool
)

// RouteSDKLogs sends the Stream SDK's logging into log. The SDK logs
// through one package-global logger, so the latest call wins. The SDK's
// debug lines include the clientSecret (client.go of v0.9.2-beta.1), so
// they are dropped whatever the level, and its Fatalf is logged as an
// error: the SDK never ends the process.
func RouteSDKLogs(log *zap.Logger) {
	sdkLog.Store(log.Named("stream_sdk").WithOptions(zap.AddCallerSkip(1)).Sugar())
	routeOnce.Do(func() { logger.SetLogger(sdkLogger{}) })
}

type sdkLogger struct{}

func (sdkLogger) log() *zap.SugaredLogger {
	if l := sdkLog.Load(); l != nil {
		return l
	}
	return zap.NewNop().Sugar()
}

func (sdkLogger) Debugf(string, ...any) {}
func (l sdkLogger) Infof(format string, args ...any) {
	connectionEvent(format)
	l.log().Infof(format, args...)
}
func (l sdkLogger) Warningf(format string, args ...any) { l.log().Warnf(format, args...) }
func (l sdkLogger) Errorf(format string, args ...any) {
	connectionEvent(format)
	l.log().Errorf(format, args...)
}
func (l sdkLogger) Fatalf(format string, args ...any) { l.log().Errorf(format, args...) }

// connectionEvent tracks the connection from the SDK's own log formats:
// v0.9.2-beta.1 offers no other signal (no callback, no accessor). These
// are the exact format strings of that version's client.go; the SDK is
// pinned to it, and TestReadinessFollowsTheConnection fails if they change.
func connectionEvent(format string) {
	switch {
	case strings.HasPrefix(format, "connect success"), strings.HasPrefix(format, "StreamClient reconnect success"):
		sdkUp.Store(true)
	case strings.HasPrefix(format, "connection process read message error"),
		strings.HasPrefix(format, "connection process is closed"),
		strings.HasPrefix(format, "ping time out"):
		sdkUp.Store(false)
	}
}
