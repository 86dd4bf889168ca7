package dingtalk

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// tokenCache holds the app's access token. One refresh runs at a time, and
// callers waiting for it give up when their context ends.
type tokenCache struct {
	sem     chan struct{} // held while refreshing
	mu      sync.Mutex
	value   string
	refresh time.Time // refresh at or after this time
	expires time.Time
}

func (t *tokenCache) init() { t.sem = make(chan struct{}, 1) }

func (t *tokenCache) get(now time.Time) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.value, t.value != "" && now.Before(t.refresh)
}

// drop forgets tok if it is still the cached token.
func (t *tokenCache) drop(tok string) {
	t.mu.Lock()
	if t.value == tok {
		t.value = ""
	}
	t.mu.Unlock()
}

// token returns a valid access token, fetching one when the cached token is
// missing or due for refresh (a tenth of its lifetime early, at most five
// minutes, as DingTalk suggests refreshing before expireIn).
func (c *Client) token(ctx context.Context) (string, error) {
	if tok, ok := c.tokens.get(c.now()); ok {
		return tok, nil
	}
	select {
	case c.tokens.sem <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("dingtalk: waiting for an access token: %w", ctx.Err())
	}
	defer func() { <-c.tokens.sem }()
	if tok, ok := c.tokens.get(c.now()); ok {
		return tok, nil // another caller refreshed it while we waited
	}
	var out struct {
		AccessToken string `json:"accessToken"`
		ExpireIn    int64  `json:"expireIn"`
	}
	in := map[string]string{"appKey": c.cfg.ClientID, "appSecret": c.cfg.ClientSecret}
	_, wrote, err := c.limiter(pathAccessToken).wait(ctx, Interactive)
	if err != nil {
		return "", err
	}
	tm := &timing{jit: &c.limiter(pathAccessToken).jit, wrote: wrote}
	err = c.do(unguarded(ctx), http.MethodPost, pathAccessToken, nil, "", in, &out, tm)
	tm.settle(time.Time{})
	if err != nil {
		return "", err
	}
	if out.AccessToken == "" || out.ExpireIn <= 0 {
		return "", &APIError{Path: pathAccessToken, Status: 200, Code: "malformedResponse", Message: "the token answer has no accessToken or expireIn"}
	}
	life := time.Duration(out.ExpireIn) * time.Second
	early := min(life/10, 5*time.Minute)
	now := c.now()
	c.tokens.mu.Lock()
	c.tokens.value, c.tokens.refresh, c.tokens.expires = out.AccessToken, now.Add(life-early), now.Add(life)
	c.tokens.mu.Unlock()
	return out.AccessToken, nil
}
