package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// runSim serves the DingTalk emulator until ctx ends, so that a person can
// run the bot against it and play the users through the control API.
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sim", "sim [flags]", stderr)
	setup := simFlags(fs)
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
	if err := seedSim(srv); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "recallbot-sim-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	config := simConfig(srv, dir, setup.botHTTP)
	cfgFile, configText := "sim.yaml", ""
	if setup.writeConfig != "" {
		if err := writeSimConfig(setup.writeConfig, config); err != nil {
			return err
		}
		cfgFile = setup.writeConfig
		configText = fmt.Sprintf("The bot's configuration is in %s (its ledger is in %s, removed when sim stops).\n", cfgFile, dir)
	} else {
		configText = fmt.Sprintf("Run the bot with this configuration (save it as %s; its ledger is in %s, removed when sim stops):\n\n%s",
			cfgFile, dir, indentLines(config, "  "))
	}
	apiLine := ""
	if setup.botHTTP != "127.0.0.1:8470" {
		apiLine = "  export RECALLBOT_API=http://" + setup.botHTTP + "\n"
	}
	fmt.Fprintf(stdout, `DingTalk emulator listening on %[1]s
The emulator's console (chats, OpenAPI calls, Stream frames, faults): %[1]s/ui/

It starts with a group, a person-to-person chat and two people:
  group                   %-20[2]s %[3]s
  person-to-person chat   %-20[4]s %[5]s
  admin                   %-20[6]s %[7]s (in the configuration's admins)
  not an admin            %-20[8]s %[9]s

%[10]s
In another shell:

  export DINGTALK_CLIENT_SECRET=%[11]s
  export RECALLBOT_HTTP_TOKEN=%[12]s
%[13]s  recallbot run -config %[14]s
  recallbot send --group %[2]s --text "db-7 disk at 97%%"

Play the admin in the group (the bot answers; ?wait=5s returns its replies):

  curl -s -XPOST '%[1]s/sim/v1/conversations/%[2]s/messages?wait=5s' \
    -d '{"senderStaffId":"%[6]s","text":"/recall last 1","conversationType":"2"}'

See a chat as its members do:   curl -s %[1]s/sim/v1/conversations/%[2]s
Every OpenAPI call received:    curl -s %[1]s/sim/v1/calls
The rest of the control API is in docs/emulator.md. Ctrl-C stops.
`, srv.URL(), simGroup, simGroupTitle, simPrivate, simPrivateTitle, simAdmin, simAdminName, simUser, simUserName,
		configText, srv.Options().ClientSecret, randomToken(), apiLine, cfgFile)
	<-ctx.Done()
	return nil
}
