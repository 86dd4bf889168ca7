package httpapi

import (
	"net/http"
)

// root answers GET / on the bot's listener, where a person who typed its
// address lands: the console when it is on, else a sentence saying what
// is served here and how to turn the console on.
func (a *API) root(w http.ResponseWriter, r *http.Request) {
	if a.UI != nil {
		http.Redirect(w, r, "/ui/", http.StatusFound)
		return
	}
	writeError(w, refusal(http.StatusNotFound, "not_found", "root"))
}

// favicon sends a browser's /favicon.ico (asked for on every page, the
// JSON ones too) to the console's icon; without the console there is none.
func (a *API) favicon(w http.ResponseWriter, r *http.Request) {
	if a.UI == nil {
		http.NotFound(w, r)
		return
	}
	http.Redirect(w, r, "/ui/static/favicon.svg", http.StatusMovedPermanently)
}
