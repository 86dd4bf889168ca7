package dingtalk

import (
	"context"
	"errors"
)

// codeBadCredentials is DingTalk's answer to a clientId or clientSecret it
// does not know, from the token API (observed) and, as far as is known,
// from the Stream gateway.
const codeBadCredentials = "invalidClientIdOrSecret"

// CheckCredentials fetches an access token (and keeps it for the calls to
// come), so that a wrong clientId or clientSecret shows at start rather
// than at the first send. Its error is whatever the token API's was;
// BadCredentials tells a refusal of the credentials from DingTalk being
// unreachable.
func (c *Client) CheckCredentials(ctx context.Context) error {
	_, err := c.token(ctx)
	return err
}

// BadCredentials reports whether err is DingTalk refusing the app's
// clientId or clientSecret: a mistake in the configuration that no retry
// mends, unlike an outage.
func BadCredentials(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == codeBadCredentials
}
