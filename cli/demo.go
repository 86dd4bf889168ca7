package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/recallbot/recallbot/demo"
	"github.com/recallbot/recallbot/recall"
)

// Demo is `recallbot demo`: it plays the whole job against the embedded
// emulator and prints it as a chat transcript. With -interactive it keeps
// running for a person to play the users.
func Demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "demo [-locale zh|en] [-alerts] [-interactive] [-v]", stderr)
	locale := fs.String("locale", "zh", "reply language: zh or en")
	interactive := fs.Bool("interactive", false, "keep running after the scene; play users through the emulator's control API")
	verbose := fs.Bool("v", false, "show the bot's log")
	alertLife := fs.Bool("alerts", false, "play an alert group's life instead: Alertmanager's notifications (fire, repeat, change, resolve) as one card")
	if err := parseFlags(fs, args, envLang(os.Getenv)); err != nil {
		return err
	}
	if *locale != "zh" && *locale != "en" {
		if envLang(os.Getenv) == "zh" {
			return usageError(fs, fmt.Sprintf("-locale 的值%s无效：应为 zh 或 en", recall.QuoteValue(*locale, "zh")))
		}
		return usageError(fs, fmt.Sprintf("-locale %q: want zh or en", *locale))
	}
	o := demo.Options{Locale: *locale, Alerts: *alertLife, Interactive: *interactive}
	if *verbose {
		o.Log = stderr
	}
	return demo.Run(ctx, o, stdout)
}
