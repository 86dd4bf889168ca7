package handlers

import (
	"sync"

	"github.com/open-dingtalk/dingtalk-stream-sdk-go/logger"
	"go.uber.org/zap"
)

var routeOnce sync.Once

// RouteSDKLogs sends the Stream SDK's logging into log. The SDK logs through
// a package-global logger, so this takes effect once per process; later
// calls are ignored. The SDK's debug lines include the clientSecret
// (client.go of v0.9.2-beta.1), so they are dropped here whatever the level,
// and its Fatalf is logged as an error: the SDK never ends the process.
func RouteSDKLogs(log *zap.Logger) {
	routeOnce.Do(func() {
		logger.SetLogger(sdkLogger{log.Named("stream_sdk").WithOptions(zap.AddCallerSkip(1)).Sugar()})
	})
}

type sdkLogger struct{ s *zap.SugaredLogger }

func (l sdkLogger) Debugf(string, ...any)               {}
func (l sdkLogger) Infof(format string, args ...any)    { l.s.Infof(format, args...) }
func (l sdkLogger) Warningf(format string, args ...any) { l.s.Warnf(format, args...) }
func (l sdkLogger) Errorf(format string, args ...any)   { l.s.Errorf(format, args...) }
func (l sdkLogger) Fatalf(format string, args ...any)   { l.s.Errorf(format, args...) }
