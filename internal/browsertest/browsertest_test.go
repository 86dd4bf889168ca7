package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserRuns: the browser starts, loads a page over loopback and runs
// its JavaScript.
func TestBrowserRuns(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>t</title><p id="p">static</p><script>document.getElementById("p").textContent = "from js"</script>`)
	}))
	defer srv.Close()
	ctx := New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#p")))
	if err != nil {
		t.Fatal(err)
	}
	if text != "from js" {
		t.Errorf("the page says %q", text)
	}
}

// TestClickSurvivesAPageThatReplacesItself: a button that the page
// replaces with a fresh copy every few milliseconds (as the emulator's
// console swaps its live parts) is clicked, once.
func TestClickSurvivesAPageThatReplacesItself(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>t</title><div id="part"></div><p id="clicks">0</p><script>
let n = 0;
function render() {
  const b = document.createElement("button");
  b.textContent = "go";
  b.addEventListener("click", () => { n++; document.getElementById("clicks").textContent = String(n); });
  document.getElementById("part").replaceChildren(b);
}
render(); setInterval(render, 2);
</script>`)
	}))
	defer srv.Close()
	ctx := New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if err := Click(ctx, "#part button"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#clicks")))
	if err != nil || got != "20" {
		t.Errorf("clicks counted %q, %v; want 20", got, err)
	}
}
