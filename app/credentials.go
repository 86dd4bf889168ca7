package app

import (
	"context"
	"errors"
	"time"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/stream"
)

// ErrBadCredentials says which setting to fix when DingTalk refuses the
// app's credentials. Unlike an outage, no retry mends it: the bot stops
// at start (exit 1) instead of retrying for ever.
var ErrBadCredentials = errors.New("dingtalk.client_id or dingtalk.client_secret is wrong: DingTalk answered invalidClientIdOrSecret")

// checkCredentials asks DingTalk for an access token before the bot starts
// (the token is kept for the first calls). Only a refusal of the
// credentials stops the start: DingTalk unreachable, slow or failing says
// nothing about them, and the bot starts anyway and keeps trying, as
// Stream does.
func (a *App) checkCredentials(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, credentialsWait)
	defer cancel()
	if err := a.Client.CheckCredentials(ctx); dingtalk.BadCredentials(err) {
		return ErrBadCredentials
	}
	return nil
}

// credentialsWait bounds the check, so that a DingTalk that does not
// answer delays the start no longer than the Stream SDK's own wait for
// its gateway (5 s).
const credentialsWait = 5 * time.Second

// startListener connects Stream; a gateway that refuses the credentials
// is ErrBadCredentials too.
func (a *App) startListener(ctx context.Context) error {
	err := a.Listener.Start(ctx)
	if errors.Is(err, stream.ErrBadCredentials) {
		return ErrBadCredentials
	}
	return err
}
