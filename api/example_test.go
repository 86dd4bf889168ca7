package api_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/api"
)

// TestMain starts a bot for Example, which finds it where a Go program
// would: RECALLBOT_API and RECALLBOT_HTTP_TOKEN.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "api-example-")
	if err != nil {
		log.Fatal(err)
	}
	b, stop, err := startBot(dir)
	if err != nil {
		log.Fatal(err)
	}
	os.Setenv("RECALLBOT_API", b.url)
	os.Setenv("RECALLBOT_HTTP_TOKEN", token)
	code := m.Run()
	stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// A Go program sends through the bot, so that its message is ledgered and
// can be recalled, and later takes it back.
func Example() {
	ctx := context.Background()
	bot := api.NewClient(os.Getenv("RECALLBOT_API"), os.Getenv("RECALLBOT_HTTP_TOKEN"))

	sent, err := bot.Send(ctx, api.SendRequest{
		Chat:    api.GroupChat("cidReleaseTeam=="),
		Content: api.Content{Title: "Release", Text: "v2.4 goes out at **20:00**"},
		Client:  "release-bot", // the audit trail names it api:release-bot
	})
	var e *api.Error
	if errors.As(err, &e) && e.Code == "ledger_unavailable" {
		log.Fatal("nothing was sent: the bot cannot record it now; try again later")
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sent.State, "with a key:", sent.ProcessQueryKey != "")

	// The release moved: take the message back.
	receipt, err := bot.Recall(ctx, api.RecallRequest{Keys: []string{sent.ProcessQueryKey}, Client: "release-bot"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(receipt.Summary)
	// Output:
	// sent with a key: true
	// 1 recalled
}

// TestDocsShowTheExample: docs/http-api.md shows Example as it is run here, so
// the documented program compiles and works.
func TestDocsShowTheExample(t *testing.T) {
	src, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	body := string(src)
	body = body[strings.Index(body, "func Example() {\n")+len("func Example() {\n"):]
	body = body[:strings.Index(body, "\t// Output:")]
	body = strings.ReplaceAll("\n"+body, "\n\t", "\n")[1:]
	docs, _ := filepath.Glob("../docs/*.md")
	for _, name := range append([]string{"../README.md"}, docs...) {
		if b, err := os.ReadFile(name); err == nil && strings.Contains(string(b), body) {
			return
		}
	}
	t.Errorf("neither the README nor docs/ show Example's body as it is:\n%s", body)
}
