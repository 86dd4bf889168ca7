package app

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/recallbot/recallbot/config"
)

// NewLogger builds the process logger. Every line passes through a core that
// replaces each secret with "[redacted]", in the message and in every field,
// so that a secret reaching a log call by mistake (the Stream SDK logs the
// clientSecret at debug level) never reaches the output.
func NewLogger(cfg config.Log, out io.Writer, secrets []string) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(cfg.Level)
	if err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	ec := zap.NewProductionEncoderConfig()
	ec.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if cfg.Format == "console" {
		ec.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		enc = zapcore.NewJSONEncoder(ec)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(out)), level)
	return zap.New(redactCore{Core: core, r: newRedactor(secrets)}), nil
}

// redactor replaces secrets in strings.
type redactor struct{ r *strings.Replacer }

func newRedactor(secrets []string) redactor {
	var pairs []string
	for _, s := range secrets {
		if len(s) >= 4 { // shorter values would redact ordinary words
			pairs = append(pairs, s, "[redacted]")
		}
	}
	return redactor{strings.NewReplacer(pairs...)}
}

func (r redactor) fields(fs []zapcore.Field) []zapcore.Field {
	out := make([]zapcore.Field, len(fs))
	for i, f := range fs {
		switch f.Type {
		case zapcore.StringType:
			f.String = r.r.Replace(f.String)
		case zapcore.ErrorType:
			if err, ok := f.Interface.(error); ok {
				f = zap.String(f.Key, r.r.Replace(err.Error()))
			}
		case zapcore.StringerType, zapcore.ReflectType, zapcore.ByteStringType:
			f = zap.String(f.Key, r.r.Replace(fmt.Sprint(fieldValue(f))))
		}
		out[i] = f
	}
	return out
}

func fieldValue(f zapcore.Field) any {
	if f.Type == zapcore.ByteStringType {
		return string(f.Interface.([]byte))
	}
	return f.Interface
}

// redactCore is a zapcore.Core that redacts secrets before encoding.
type redactCore struct {
	zapcore.Core
	r redactor
}

func (c redactCore) With(fs []zapcore.Field) zapcore.Core {
	return redactCore{Core: c.Core.With(c.r.fields(fs)), r: c.r}
}

func (c redactCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c redactCore) Write(e zapcore.Entry, fs []zapcore.Field) error {
	e.Message = c.r.r.Replace(e.Message)
	return c.Core.Write(e, c.r.fields(fs))
}

// redisLog routes go-redis's own logging (pool and connection trouble) into
// zap, so that it neither lands in the JSON stream as plain text nor
// repeats itself without limit: the latest call of routeRedisLogs wins.
type redisLog struct {
	log atomic.Pointer[zap.SugaredLogger]
}

var redisLogs redisLog

var routeRedisOnce sync.Once

// routeRedisLogs sends go-redis's logging to log until the returned stop
// is called; stop leaves a later route (another App's) alone.
func routeRedisLogs(log *zap.Logger) (stop func()) {
	l := log.Named("redis").Sugar()
	redisLogs.log.Store(l)
	routeRedisOnce.Do(func() { redis.SetLogger(&redisLogs) })
	return func() { redisLogs.log.CompareAndSwap(l, nil) }
}

func (r *redisLog) Printf(_ context.Context, format string, v ...any) {
	if l := r.log.Load(); l != nil {
		l.Warnf(format, v...)
	}
}
