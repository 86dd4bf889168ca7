package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// runSim serves the DingTalk emulator until ctx ends, so that a person can
// run the bot against it and play the users through the control API.
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sim", "sim [flags]", stderr)
	var o dingtalktest.Options
	fs.StringVar(&o.Addr, "listen", "127.0.0.1:8471", "listen address (loopback)")
	fs.StringVar(&o.ClientID, "client-id", "dingemulatorapp", "the app's clientId (AppKey)")
	fs.StringVar(&o.ClientSecret, "client-secret", "emulator-secret", "the app's clientSecret")
	fs.StringVar(&o.RobotCode, "robot-code", "dingemulatorbot", "the bot's robotCode")
	fs.StringVar(&o.CoolAppCode, "cool-app-code", "COOLAPP-1-EMULATOR", "the cool app code for person-to-person chats")
	fs.DurationVar(&o.ACKTimeout, "ack-timeout", 60*time.Second, "redeliver a frame not ACKed within this time")
	fs.DurationVar(&o.RecallWindow, "recall-window", 24*time.Hour, "how long messages stay recallable")
	fs.DurationVar(&o.PingInterval, "ping-interval", 30*time.Second, "SYSTEM ping cadence (0: never)")
	fs.IntVar(&o.QPS, "qps", 20, "calls per second per app and API (-1: unlimited)")
	fs.IntVar(&o.MaxCalls, "max-calls", 100_000, "recorded calls kept for /sim/v1/calls (oldest dropped)")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	srv, err := dingtalktest.NewServer(o)
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Fprintf(stdout, `DingTalk emulator listening on %[1]s
The emulator's console (chats, OpenAPI calls, Stream frames, faults): %[1]s/ui/

Point the bot at it with this config (and DINGTALK_CLIENT_SECRET=%[3]s):

  dingtalk:
    client_id: %[2]s
    client_secret: ${DINGTALK_CLIENT_SECRET}
    robot_code: %[4]s
    cool_app_code: %[5]s
    api_base: %[1]s

Play a user (the bot answers in that user's chat; ?wait=5s returns its replies):

  curl -s -XPOST '%[1]s/sim/v1/conversations/-/messages?wait=5s' \
    -d '{"senderStaffId":"manager4220","text":"/help","conversationType":"1"}'

See a chat as its members do:   curl -s %[1]s/sim/v1/users/manager4220/conversation
Every OpenAPI call received:    curl -s %[1]s/sim/v1/calls
The rest of the control API is in docs/emulator.md. Ctrl-C stops.
`, srv.URL(), o.ClientID, o.ClientSecret, o.RobotCode, o.CoolAppCode)
	<-ctx.Done()
	return nil
}
