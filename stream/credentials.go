package stream

import (
	"encoding/json"
	"errors"
)

// ErrBadCredentials is the Stream gateway refusing the app's clientId or
// clientSecret: a mistake in the configuration that no retry mends.
var ErrBadCredentials = errors.New("the Stream gateway refused the app's clientId or clientSecret (invalidClientIdOrSecret)")

// refusesCredentials reports whether an error of the SDK's connect is the
// gateway refusing the credentials. The SDK returns a non-200 answer's
// body as the error's text; DingTalk does not document the gateway's
// error body, and recallbot reads it as the token API's
// ({"code": "invalidClientIdOrSecret", ...}), which the emulator answers.
func refusesCredentials(err error) bool {
	if err == nil {
		return false
	}
	var body struct {
		Code string `json:"code"`
	}
	return json.Unmarshal([]byte(err.Error()), &body) == nil && body.Code == "invalidClientIdOrSecret"
}
