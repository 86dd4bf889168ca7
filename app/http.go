package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"
)

// maxHeaderBytes bounds a request's line and headers; larger ones are
// refused (431) before any handler runs. net/http allows 4 KiB on top of
// the setting, so 12 KiB here refuses what is over 16 KiB.
const maxHeaderBytes = 12 << 10

// server serves the HTTP API. Its handlers run on a context of its own,
// cancelled when shutdown's ctx ends, and shutdown waits for them:
// http.Server.Shutdown waits for idle connections, not for a handler that
// does not return.
type server struct {
	srv     *http.Server
	ln      net.Listener
	cancel  context.CancelFunc // the handlers' context
	work    sync.WaitGroup     // handlers running
	serving chan struct{}      // closed when Serve has returned
}

// listen listens on addr and serves h there. onShutdown, when set, is
// called as shutdown begins.
func listen(addr string, h http.Handler, onShutdown func(), log *zap.Logger) (*server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http.listen: %w", err)
	}
	base, cancel := context.WithCancel(context.Background())
	s := &server{ln: ln, cancel: cancel, serving: make(chan struct{})}
	s.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.work.Add(1)
			defer s.work.Done()
			h.ServeHTTP(w, r)
		}),
		BaseContext:       func(net.Listener) context.Context { return base },
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	if onShutdown != nil {
		s.srv.RegisterOnShutdown(onShutdown)
	}
	go func() {
		defer close(s.serving)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", zap.Error(err))
		}
	}()
	return s, nil
}

func (s *server) addr() string { return s.ln.Addr().String() }

// shutdown stops taking requests and lets the running ones finish until
// ctx ends; then it cancels them and waits for them, at most
// closeHardLimit.
func (s *server) shutdown(ctx context.Context) error {
	var errs []error
	if err := s.srv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("http: requests cut short: %w", err))
	}
	s.cancel()
	<-s.serving
	done := make(chan struct{})
	go func() { s.work.Wait(); close(done) }()
	t := time.NewTimer(closeHardLimit)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		errs = append(errs, errors.New("http: requests still running; closing the ledger under them"))
	}
	return errors.Join(errs...)
}
