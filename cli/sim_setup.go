package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// What `recallbot sim` starts with, so that a bot pointed at it can send
// at once: a group and a person-to-person chat to send into, and two
// people to play, one of them the configuration's admin.
const (
	simGroup        = "cidOpsGroup=="
	simGroupTitle   = "运维值班群"
	simPrivate      = "cidSimPrivateChat=="
	simPrivateTitle = "王经理 ↔ 小李"
	simAdmin        = "manager4220"
	simAdminName    = "王经理"
	simUser         = "intern001"
	simUserName     = "小李"
)

// simConfigHeader starts every configuration sim writes: it lets sim
// write the file again (its ledger directory changes every run) while
// refusing to overwrite a file a person wrote.
const simConfigHeader = "# recallbot sim: "

// simSetup is what sim needs besides the emulator's own flags.
type simSetup struct {
	writeConfig string // -write-config: where to write the bot's configuration
	botHTTP     string // -bot-http: the http.listen the configuration gives the bot
}

// simFlags registers sim's flags about the bot it prepares for.
func simFlags(flags *flag.FlagSet) *simSetup {
	s := &simSetup{}
	flags.StringVar(&s.writeConfig, "write-config", "", "write the bot's configuration for this emulator to `FILE` (else it is printed)")
	flags.StringVar(&s.botHTTP, "bot-http", "127.0.0.1:8470", "the bot's http.listen in that configuration")
	return s
}

// prepare readies the emulator for a person: it adds the chats and people
// sim starts with, writes or prints the bot's configuration and says how
// to go on. cleanup removes the ledger's directory.
func (s *simSetup) prepare(srv *dingtalktest.Server, out io.Writer) (func(), error) {
	if err := seedSim(srv); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "recallbot-sim-")
	if err != nil {
		return nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	config := simConfig(srv, dir, s.botHTTP)
	cfgFile, configText := "sim.yaml", ""
	if s.writeConfig != "" {
		if err := writeSimConfig(s.writeConfig, config); err != nil {
			cleanup()
			return nil, err
		}
		cfgFile = s.writeConfig
		configText = fmt.Sprintf("The bot's configuration is in %s (its ledger is in %s, removed when sim stops).\n", cfgFile, dir)
	} else {
		configText = fmt.Sprintf("Run the bot with this configuration (save it as %s; its ledger is in %s, removed when sim stops):\n\n%s",
			cfgFile, dir, indentLines(config, "  "))
	}
	apiLine := ""
	if s.botHTTP != "127.0.0.1:8470" {
		apiLine = "  export RECALLBOT_API=http://" + s.botHTTP + "\n"
	}
	fmt.Fprintf(out, `DingTalk emulator listening on %[1]s
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
%[13]s  %[16]s run -config %[14]s
  %[16]s send --group %[2]s --text "db-7 disk at 97%%"

Play the admin in the group (the bot answers; ?wait=5s returns its replies):

  curl -s -XPOST '%[1]s/sim/v1/conversations/%[2]s/messages?wait=5s' \
    -d '{"senderStaffId":"%[6]s","text":"/recall last 1","conversationType":"2"}'

See a chat as its members do:   curl -s %[1]s/sim/v1/conversations/%[2]s
Every OpenAPI call received:    curl -s %[1]s/sim/v1/calls
The rest of the control API is in docs/emulator.md.
%[15]s Ctrl-C stops.
`, srv.URL(), simGroup, simGroupTitle, simPrivate, simPrivateTitle, simAdmin, simAdminName, simUser, simUserName,
		configText, srv.Options().ClientSecret, randomToken(), apiLine, cfgFile, simLimits(srv.Options()), invokedAs(os.Args[0]))
	return cleanup, nil
}

// seedSim adds the chats and people sim starts with.
func seedSim(srv *dingtalktest.Server) error {
	if err := srv.AddConversation(simGroup, dingtalktest.KindGroup, simGroupTitle); err != nil {
		return err
	}
	if err := srv.AddConversation(simPrivate, dingtalktest.KindPrivate, simPrivateTitle); err != nil {
		return err
	}
	for _, u := range []string{simAdmin, simUser} {
		if _, err := srv.AddUser(u); err != nil {
			return err
		}
	}
	return nil
}

// simConfig is a complete configuration for a bot against the emulator at
// srv: `recallbot run -config` takes it as it is, with the two secrets in
// the environment. The ledger is in ledgerDir, which sim removes when it
// stops: the emulator forgets its chats then, and a ledger that outlived
// them would point at messages that no longer exist.
func simConfig(srv *dingtalktest.Server, ledgerDir, botHTTP string) string {
	o := srv.Options()
	return fmt.Sprintf(`%[1]sthe bot's configuration for the DingTalk emulator at %[2]s.
# Before running the bot with it, set the two secrets it names:
#   export DINGTALK_CLIENT_SECRET=%[3]s
#   export RECALLBOT_HTTP_TOKEN=...   (any 16 characters or more; sim prints one)
dingtalk:
  client_id: %[4]s
  client_secret: ${DINGTALK_CLIENT_SECRET}
  robot_code: %[5]s
  cool_app_code: %[6]s
  api_base: %[2]s
admins: [%[7]s]  # %[8]s; %[9]s (%[10]s) is not an admin
ledger:
  path: %[11]s/ledger.db  # removed when sim stops, as the emulator's chats are
http:
  listen: %[12]s
  token: ${RECALLBOT_HTTP_TOKEN}
log: {level: info, format: console}
locale: zh  # or en
`, simConfigHeader, srv.URL(), o.ClientSecret, o.ClientID, o.RobotCode, o.CoolAppCode,
		simAdmin, simAdminName, simUser, simUserName, ledgerDir, botHTTP)
}

// writeSimConfig writes the configuration to path, refusing to overwrite
// a file that sim did not write.
func writeSimConfig(path, config string) error {
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("-write-config: %w", err)
	case !bytes.HasPrefix(old, []byte(simConfigHeader)):
		return fmt.Errorf("-write-config: %s exists and recallbot sim did not write it; remove it or name another file", path)
	}
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		return fmt.Errorf("-write-config: %w", err)
	}
	return nil
}

// indentLines indents every line that has text; empty lines stay empty.
func indentLines(s, by string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = by + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// randomToken is an HTTP token for the bot sim prepares for.
func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
