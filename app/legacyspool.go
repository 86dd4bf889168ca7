package app

import (
	"context"
	"errors"
	"os"

	"go.uber.org/zap"

	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/ledger"
)

// adoptLegacySpool replays into the ledger the keys an older recallbot
// left in config.LegacySpool, when this process's spool was named after its
// config file instead: without it, keys spooled before an upgrade would
// wait in a file nobody opens. A file another process holds is left to
// it (an older instance still running replays its own); a file that
// cannot be replayed in full stays where it is for the next start, and
// the log says so. An emptied file is removed.
func (a *App) adoptLegacySpool(ctx context.Context) {
	c := a.Config.Ledger
	if !c.AdoptsLegacySpool() {
		return
	}
	old, err := os.Stat(config.LegacySpool)
	if err != nil {
		return
	}
	if mine, err := os.Stat(a.Spool.Path()); err == nil && os.SameFile(old, mine) {
		return
	}
	sp, err := ledger.OpenSpool(config.LegacySpool)
	if err != nil {
		a.Log.Warn("a spool left at the old default was not opened; it is left as it is", zap.Error(err))
		return
	}
	n, err := sp.Replay(ctx, a.Ledger)
	waiting := sp.Waiting()
	err = errors.Join(err, sp.Close())
	if err != nil || waiting > 0 {
		a.Log.Error("keys an older recallbot left in its spool were not all replayed; they stay there until the next start",
			zap.String("spool", config.LegacySpool), zap.Int("waiting", waiting), zap.Error(err))
		return
	}
	if err := os.Remove(config.LegacySpool); err != nil {
		a.Log.Warn("the emptied spool left at the old default was not removed", zap.Error(err))
	}
	if n > 0 {
		a.Log.Info("replayed the spool an older recallbot left at the old default", zap.String("spool", config.LegacySpool), zap.Int("records", n))
	}
}
