package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/recallbot/recallbot/app"
	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk"
	"github.com/recallbot/recallbot/ledger"
)

// CheckConfig is `recallbot check-config`: it validates a configuration
// file as `run` would (errors name the key and line), prints the
// effective configuration with its secrets redacted, and with -online
// also fetches a DingTalk access token and opens the ledger as the bot
// would, then closes it. It returns nil only when everything passed.
func CheckConfig(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check-config", "check-config [-config FILE] [-online] [-quiet]", stderr)
	path := fs.String("config", "config.yaml", "configuration file")
	online := fs.Bool("online", false, "also fetch a DingTalk access token and open the ledger (then close it)")
	quiet := fs.Bool("quiet", false, "print only the verdict, not the configuration")
	timeout := fs.Duration("timeout", 10*time.Second, "with -online, how long each check may take")
	if err := parseFlags(fs, args, envLang(os.Getenv)); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fs, fmt.Sprintf("unexpected argument %q (name the file with -config)", fs.Arg(0)))
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if !*quiet {
		if err := printConfig(stdout, cfg); err != nil {
			return err
		}
	}
	if *online {
		var errs []error
		for _, check := range []func(context.Context, config.Config) (string, error){checkDingTalk, checkLedger} {
			cctx, cancel := context.WithTimeout(ctx, *timeout)
			ok, err := check(cctx, cfg)
			cancel()
			if err != nil {
				errs = append(errs, err)
				continue
			}
			fmt.Fprintln(stderr, "ok:", ok)
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("%s is valid, but %w", *path, err)
		}
	}
	fmt.Fprintf(stderr, "%s: valid\n", *path) // stdout holds the configuration alone, to save and reuse
	return nil
}

// printConfig prints cfg with defaults filled in and secrets redacted.
// Whatever the redaction missed is caught here: no secret is printed.
func printConfig(w io.Writer, cfg config.Config) error {
	shown := cfg.Redacted()
	// What the components fill in when the file leaves it out.
	shown.Ledger.Spool = cfg.Ledger.SpoolPath()
	if shown.Ledger.RedisURL != "" && shown.Ledger.RedisPrefix == "" {
		shown.Ledger.RedisPrefix = "recallbot:"
	}
	shown.AutoRecall.Rules = cfg.AutoRecall.RulesInForce()
	shown.Alerts = shown.Alerts.WithDefaults()
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(shown); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	out := b.String()
	secrets := slices.DeleteFunc(cfg.Secrets(), func(s string) bool { return len(s) < 4 })
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, s := range secrets {
		out = strings.ReplaceAll(out, s, config.RedactedMark)
	}
	_, err := fmt.Fprintf(w, "# the effective configuration: defaults filled in, ${VAR}s expanded, secrets redacted\n%s", out)
	return err
}

// checkDingTalk fetches an access token with the app's credentials.
func checkDingTalk(ctx context.Context, cfg config.Config) (string, error) {
	d := cfg.DingTalk
	c := dingtalk.New(dingtalk.Config{BaseURL: d.APIBase, ClientID: d.ClientID, ClientSecret: d.ClientSecret,
		RobotCode: d.RobotCode, Timeout: d.Timeout, QPS: d.QPS}, nil)
	err := c.CheckCredentials(ctx)
	switch {
	case dingtalk.BadCredentials(err):
		return "", app.ErrBadCredentials
	case err != nil:
		return "", fmt.Errorf("no access token from %s: %w", d.APIBase, err)
	}
	return fmt.Sprintf("DingTalk at %s gave client_id %s an access token", d.APIBase, d.ClientID), nil
}

// checkLedger opens the ledger as the bot would and closes it: a Redis
// ledger is reached and its prefix checked; a bbolt file is opened (it is
// locked while a bot runs on it) or, when it does not exist yet, its
// directory is checked for a file the bot could create.
func checkLedger(ctx context.Context, cfg config.Config) (string, error) {
	c := cfg.Ledger
	if c.RedisURL != "" {
		s, err := ledger.OpenRedis(ctx, c.RedisURL, ledger.RedisOptions{Prefix: c.RedisPrefix, MinReplicas: c.MinReplicas,
			ReplicaTimeout: c.ReplicaTimeout})
		if err != nil {
			return "", err
		}
		counts, err := s.Counts(ctx)
		s.Close()
		if err != nil {
			return "", fmt.Errorf("ledger: %w", err)
		}
		return fmt.Sprintf("the Redis ledger answered (prefix %q, %d entries)", prefixOr(c.RedisPrefix), counts.Total()), nil
	}
	if _, err := os.Stat(c.Path); errors.Is(err, os.ErrNotExist) {
		f, err := os.CreateTemp(filepath.Dir(c.Path), ".recallbot-check-*")
		if err != nil {
			return "", fmt.Errorf("ledger %s does not exist and cannot be created: %w", c.Path, err)
		}
		f.Close()
		os.Remove(f.Name())
		return fmt.Sprintf("ledger %s does not exist yet; the bot can create it", c.Path), nil
	}
	s, err := ledger.Open(c.Path, ledger.BoltOptions{})
	if errors.Is(err, ledger.ErrLocked) { // bbolt locks out readers too: say what that means
		return fmt.Sprintf("ledger %s is held by a running bot (bbolt locks the file while it is open), so it was not opened; the rest of the configuration is valid", c.Path), nil
	}
	if err != nil {
		return "", err
	}
	counts, err := s.Counts(ctx)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("ledger %s: %w", c.Path, err)
	}
	return fmt.Sprintf("ledger %s opened and closed (%d entries)", c.Path, counts.Total()), nil
}

// prefixOr is the Redis prefix in force.
func prefixOr(p string) string {
	if p == "" {
		return "recallbot:"
	}
	return p
}
