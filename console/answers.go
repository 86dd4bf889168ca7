package console

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/recallbot/recallbot/api"
	"github.com/recallbot/recallbot/operator"
)

// failAction answers a request whose operator action was refused with the
// status and sentence the HTTP API answers it with.
func (c *Console) failAction(w http.ResponseWriter, r *http.Request, s *session, err error) {
	e := operator.AsError(err, c.cfg.Locale)
	c.failCode(w, r, s, e.Status, e.Code, e.Message)
}

// jsonError answers a script with the API's error envelope; code defaults
// to the status's name (not_found, service_unavailable).
func jsonError(w http.ResponseWriter, status int, code, msg string) {
	if code == "" {
		code = strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
	}
	writeJSON(w, status, &api.Error{Status: status, Code: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
