package stream

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/open-dingtalk/dingtalk-stream-sdk-go/logger"
	"go.uber.org/zap"
)

// The Stream SDK (v0.9.2-beta.1) logs through one package-global logger,
// and its log lines are its only word on the connection: it has no
// connection callback and no accessor. This file is the one place that
// reads them. RouteSDKLogs sends them into zap; connectionEvent turns the
// few that mean "connected" or "lost" into events, which every running
// Listener applies to its own state. (The lines do not say which client
// wrote them: with several Listeners in one process, an event reaches all
// of them, and a Listener also counts any frame it receives as proof of
// its own connection.) TestConnectionEvents pins the format strings; a new
// SDK version that changes them fails it.

var (
	routeOnce sync.Once
	sdkLog    atomic.Pointer[zap.SugaredLogger]
)

// RouteSDKLogs sends the Stream SDK's logging into log. The latest call
// wins. The SDK's debug lines include the clientSecret (client.go of
// v0.9.2-beta.1), so they are dropped whatever the level; its Fatalf is
// logged as an error: the SDK never ends the process. While every
// Listener is stopping, the SDK's complaints about the socket it is
// closing are expected and logged at debug level.
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
	listeners.tell(connectionEvent(format))
	l.log().Infof(format, args...)
}

func (l sdkLogger) Warningf(format string, args ...any) { l.log().Warnf(format, args...) }

func (l sdkLogger) Errorf(format string, args ...any) {
	listeners.tell(connectionEvent(format))
	if listeners.allStopping() {
		l.log().Debugf(format, args...)
		return
	}
	l.log().Errorf(format, args...)
}

func (l sdkLogger) Fatalf(format string, args ...any) { l.log().Errorf(format, args...) }

// event is what a log line says of the connection.
type event int

const (
	noEvent event = iota
	connUp
	connDown
)

// connectionEvent reads one of the SDK's log format strings: those of
// v0.9.2-beta.1's client.go that mean the connection came up or went down.
func connectionEvent(format string) event {
	switch {
	case strings.HasPrefix(format, "connect success"), strings.HasPrefix(format, "StreamClient reconnect success"):
		return connUp
	case strings.HasPrefix(format, "connection process read message error"),
		strings.HasPrefix(format, "connection process is closed"),
		strings.HasPrefix(format, "ping time out"):
		return connDown
	}
	return noEvent
}

// registry is the running Listeners, told of every connection event.
type registry struct {
	mu   sync.Mutex
	all  map[*Listener]bool // -> stopping
	live atomic.Int32       // listeners not stopping
}

var listeners = registry{all: map[*Listener]bool{}}

func (r *registry) add(l *Listener) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.all[l]; !ok {
		r.all[l] = false
		r.live.Add(1)
	}
}

func (r *registry) stopping(l *Listener) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if stopping, ok := r.all[l]; ok && !stopping {
		r.all[l] = true
		r.live.Add(-1)
	}
}

func (r *registry) remove(l *Listener) {
	r.stopping(l)
	r.mu.Lock()
	delete(r.all, l)
	r.mu.Unlock()
}

// allStopping reports whether every registered Listener is stopping (and
// at least one is registered).
func (r *registry) allStopping() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.all) > 0 && r.live.Load() == 0
}

func (r *registry) tell(ev event) {
	if ev == noEvent {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for l := range r.all {
		l.status.up.Store(ev == connUp)
	}
}
