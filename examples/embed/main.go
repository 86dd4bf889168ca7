// Command embed shows recallbot used as a plugin: an existing DingTalk bot
// keeps its own Stream client and its own commands, hands recallbot's
// commands (/recall, /confirm, /sent, /audit, /撤回 …) to recallbot's
// handler, and sends its own messages through recallbot's sender, so that
// every one of them is ledgered and recallable.
//
// It embeds recallbot's packages and makes no HTTP call. A program that
// talks to a running bot instead sends through its HTTP API with package
// api (api.Client; see api's Example).
//
// Run it with no flags and it starts an in-process DingTalk emulator, plays
// a short scene and exits:
//
//	go run ./examples/embed
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/open-dingtalk/dingtalk-stream-sdk-go/chatbot"
	"github.com/open-dingtalk/dingtalk-stream-sdk-go/client"
	"go.uber.org/zap"

	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
	"github.com/recallbot/recallbot/handlers"
	"github.com/recallbot/recallbot/ledger"
	"github.com/recallbot/recallbot/recall"
	"github.com/recallbot/recallbot/stream"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("embed", flag.ContinueOnError)
	dir := fs.String("dir", "", "where to keep the ledger (default: a temporary directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	// Stand-in for DingTalk. A real bot would use its own credentials and
	// https://api.dingtalk.com.
	srv, err := dingtalktest.NewServer(dingtalktest.Options{})
	if err != nil {
		return err
	}
	defer srv.Close()
	o := srv.Options()
	if *dir == "" {
		if *dir, err = os.MkdirTemp("", "embed-"); err != nil {
			return err
		}
		defer os.RemoveAll(*dir)
	}
	log := zap.NewNop()

	// 1. recallbot's parts, composed by the host.
	led, err := ledger.Open(filepath.Join(*dir, "ledger.db"), ledger.BoltOptions{})
	if err != nil {
		return err
	}
	defer led.Close()
	api := dingtalk.New(dingtalk.Config{BaseURL: srv.URL(), ClientID: o.ClientID, ClientSecret: o.ClientSecret, RobotCode: o.RobotCode}, nil)
	sender := recall.NewSender(led, api, log, recall.SenderConfig{})
	engine := recall.New(led, api, log, recall.Config{})
	rb := handlers.NewBot(handlers.Config{Admins: []string{"manager4220"}, Locale: "en"}, led, sender, engine, log, nil)

	// 2. The host's own Stream client and handler.
	var handling sync.WaitGroup // recallbot's commands running, waited for before the ledger closes
	defer handling.Wait()
	cli := client.NewStreamClient(client.WithAppCredential(client.NewAppCredentialConfig(o.ClientID, o.ClientSecret)), client.WithOpenApiHost(srv.URL()))
	cli.RegisterChatBotCallbackRouter(func(c context.Context, data *chatbot.BotCallbackDataModel) ([]byte, error) {
		msg := handlers.Message(stream.FromSDK(data))
		if rb.Owns(msg.Text) {
			// recallbot's command: run it off the SDK's goroutine, on a
			// context the socket dropping does not cancel.
			handling.Go(func() { rb.Handle(context.WithoutCancel(c), msg) })
			return nil, nil
		}
		// The host's own logic; it sends through recallbot's sender.
		_, err := sender.Send(context.WithoutCancel(c), ledger.Chat{Family: ledger.OTO, UserID: msg.SenderStaffID},
			dingtalk.Text("echo: "+strings.TrimSpace(msg.Text)), recall.SendOptions{Origin: ledger.OriginCommand, Actor: msg.SenderStaffID})
		return nil, err
	})
	if err := cli.Start(ctx); err != nil {
		return err
	}
	defer cli.Close()

	// 3. A user talks to the host bot, then recalls its answer.
	user := dingtalktest.UserMessage{SenderStaffID: "manager4220", Text: "hello host"}
	msgID, err := srv.PushMessage(user)
	if err != nil {
		return err
	}
	// The host's handler sends before it returns, and the SDK ACKs after:
	// once ACKed, the answer's key is in the ledger.
	if err := srv.WaitUntil(ctx, func() bool { d, _ := srv.Delivery(msgID); return d.ACKs == 1 }); err != nil {
		return err
	}
	entries, _ := led.List(ctx, ledger.Query{Chat: ledger.Chat{Family: ledger.OTO, UserID: "manager4220"}})
	fmt.Printf("the host answered %q; recallbot's ledger has it as %s with key %s\n", entries[0].Excerpt, entries[0].State, entries[0].ProcessQueryKey)

	user.Text = "/recall " + entries[0].ProcessQueryKey
	if _, err := srv.PushMessage(user); err != nil {
		return err
	}
	if err := srv.WaitUntil(ctx, func() bool { c, _ := srv.UserConversation("manager4220"); return countBot(c) == 2 }); err != nil {
		return err
	}
	c, _ := srv.UserConversation("manager4220")
	if !c.Messages[1].Recalled {
		return fmt.Errorf("the host's answer was not recalled")
	}
	for _, m := range c.Messages {
		mark := ""
		if m.Recalled {
			mark = " [recalled]"
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(m.Text, "recallbot\n"), "\n")
		fmt.Printf("  %-12s %s%s\n", m.Sender, first, mark)
	}
	return nil
}

func countBot(c dingtalktest.Conversation) int {
	n := 0
	for _, m := range c.Messages {
		if m.FromBot() {
			n++
		}
	}
	return n
}
