package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recallbot/recallbot/cli"
)

// recallbot runs a command line as the binary does, in the test process.
func recallbot(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

// TestUnknownCommandIsNamed: a word that is no command is named, with the
// nearest command when it is close, on the first line, and the next says
// where the commands are listed: the usage does not bury it.
func TestUnknownCommandIsNamed(t *testing.T) {
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	t.Setenv("LANG", "C.UTF-8")
	for word, want := range map[string]string{
		"sned":        `unknown command "sned"; did you mean "send"?`,
		"broad":       `unknown command "broad"; did you mean "broadcast"?`,
		"chek-config": `unknown command "chek-config"; did you mean "check-config"?`,
		"frobnicate":  `unknown command "frobnicate"`,
	} {
		_, errOut, err := recallbot(t, word)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if err == nil || exitCode(err, &bytes.Buffer{}) != 2 || lines[0] != "recallbot: "+want || len(lines) != 2 || !strings.Contains(lines[1], "recallbot help") {
			t.Errorf("recallbot %s: %v; stderr %q, want %q and where help is", word, err, errOut, "recallbot: "+want)
		}
		if word == "frobnicate" && strings.Contains(errOut, "did you mean") {
			t.Errorf("recallbot frobnicate suggests a command: %q", errOut)
		}
	}
}

// TestUnknownCommandIsNamedInTheUsersLanguage: under a Chinese locale
// the unknown word and the nearest command are named in Chinese.
func TestUnknownCommandIsNamedInTheUsersLanguage(t *testing.T) {
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_MESSAGES", "")
	t.Setenv("LANG", "zh_CN.UTF-8")
	_, errOut, err := recallbot(t, "sned")
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if want := `recallbot: 没有「sned」这个命令；是要用「send」吗？`; err == nil || lines[0] != want || len(lines) != 2 {
		t.Errorf("recallbot sned: %v; stderr %q, want %q and where help is", err, errOut, want)
	}
}

// TestHelpShowsEachDefaultOnce: no help line states its default twice (the
// -api line did: once in its text, once from the flag package).
func TestHelpShowsEachDefaultOnce(t *testing.T) {
	for _, c := range commands() {
		args := []string{c.Name, "-h"}
		if c.Name == "completion" || c.Name == "version" || c.Name == "help" {
			continue
		}
		_, errOut, _ := recallbot(t, args...)
		for _, line := range strings.Split(errOut, "\n") {
			text, _, ok := strings.Cut(line, `(default "`)
			if ok && strings.Contains(text, "default") {
				t.Errorf("recallbot %s -h: %q", c.Name, line)
			}
		}
	}
}

// TestBroadcastHelpShowsEveryVerbsFlags: `broadcast -h` lists the flags
// of start (the message and the recipients), status and cancel.
func TestBroadcastHelpShowsEveryVerbsFlags(t *testing.T) {
	_, errOut, _ := recallbot(t, "broadcast", "-h")
	for _, want := range []string{"broadcast start:", "-users-file", "-text", "-expires-in", "broadcast status:", "-wait", "broadcast cancel:"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("broadcast -h lacks %q:\n%s", want, errOut)
		}
	}
}

// TestUsageListsEveryCommand: recallbot -h names every command of the
// table that dispatches them.
func TestUsageListsEveryCommand(t *testing.T) {
	out, _, _ := recallbot(t, "-h")
	for _, c := range commands() {
		if c.Name != "help" && !strings.Contains(out, "\n  "+c.Name+" ") {
			t.Errorf("recallbot -h does not list %s", c.Name)
		}
	}
}

// TestBashCompletion: the bash script is valid bash, lists every command,
// and completes commands, verbs, flags and the files after -config.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not found")
	}
	script, _, err := recallbot(t, "completion", "bash")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "recallbot.bash")
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bash, "-n", path).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "my.yaml"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) []string {
		t.Helper()
		var q []string
		for _, w := range words {
			q = append(q, "'"+w+"'")
		}
		cmd := exec.Command(bash, "-c", `source "$1"; COMP_WORDS=(`+strings.Join(q, " ")+`); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _recallbot; printf '%s\n' "${COMPREPLY[@]}"`, "bash", path)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("complete %q: %v\n%s", words, err, out)
		}
		return strings.Fields(string(out))
	}
	all := strings.Join(complete("recallbot", ""), " ")
	for _, c := range commands() {
		if !strings.Contains(" "+all+" ", " "+c.Name+" ") {
			t.Errorf("the bash completion does not list %s: %s", c.Name, all)
		}
	}
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"recallbot", "bro"}, "broadcast"},
		{[]string{"recallbot", "broadcast", "st"}, "start status"},
		{[]string{"recallbot", "broadcast", "start", "-users-"}, "-users-file"},
		{[]string{"recallbot", "recall", "--dry"}, "--dry-run"},
		{[]string{"recallbot", "check-config", "-onl"}, "-online"},
		{[]string{"recallbot", "run", "-config", "my"}, "my.yaml"},
		{[]string{"recallbot", "completion", "f"}, "fish"},
	} {
		if got := strings.Join(complete(tc.words...), " "); got != tc.want {
			t.Errorf("completing %q = %q, want %q", tc.words, got, tc.want)
		}
	}
}

// TestZshAndFishCompletion: zsh's script runs the bash function through
// bashcompinit; fish's names every command and flag.
func TestZshAndFishCompletion(t *testing.T) {
	zsh, _, err := recallbot(t, "completion", "zsh")
	if err != nil || !strings.Contains(zsh, "bashcompinit") || !strings.Contains(zsh, "complete -o default -F _recallbot recallbot") {
		t.Errorf("zsh: %v\n%s", err, zsh)
	}
	fish, _, err := recallbot(t, "completion", "fish")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"check-config", `"__fish_seen_subcommand_from broadcast; and __fish_seen_subcommand_from start" -o users-file -r -F`} {
		if !strings.Contains(fish, want) {
			t.Errorf("fish lacks %q", want)
		}
	}
	if _, _, err := recallbot(t, "completion", "tcsh"); err == nil || exitCode(err, &bytes.Buffer{}) != 2 {
		t.Errorf("completion tcsh: %v, want a usage error", err)
	}
}

// TestVersionTakesHelpAndNoArguments: `recallbot version -h` says how to
// use it instead of printing the version, and an argument is a usage
// error, as for every other command.
func TestVersionTakesHelpAndNoArguments(t *testing.T) {
	out, errOut, err := recallbot(t, "version", "-h")
	if !errors.Is(err, flag.ErrHelp) || out != "" || !strings.Contains(errOut, "recallbot version") {
		t.Errorf("version -h: %v, stdout %q, stderr %q", err, out, errOut)
	}
	if _, _, err := recallbot(t, "version", "extra"); !errors.As(err, new(cli.UsageError)) {
		t.Errorf("version extra: %v, want a usage error", err)
	}
	if out, _, err := recallbot(t, "version"); err != nil || !strings.HasPrefix(out, "recallbot ") {
		t.Errorf("version: %q, %v", out, err)
	}
}

// TestUsageErrorsComeFirst: a command line that cannot be used gets its
// error line first and one line on where help is, never the usage alone:
// a broadcast without a verb or with a wrong one, a shell that has no
// completion; and "help COMMAND" shows that command's flags.
func TestUsageErrorsComeFirst(t *testing.T) {
	t.Setenv("LANG", "C")
	t.Setenv("RECALLBOT_HTTP_TOKEN", "a-token")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"broadcast"}, "recallbot: broadcast: say start, status or cancel"},
		{[]string{"broadcast", "stop", "x"}, `recallbot: broadcast: unknown verb "stop"`},
		{[]string{"completion", "powershell"}, `recallbot: "powershell" is not supported`},
		{[]string{"send", "--text", "x"}, "recallbot: give exactly one of --group, --private or --user"},
	} {
		_, errOut, err := recallbot(t, c.args...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if exitCode(err, &bytes.Buffer{}) != 2 || !strings.HasPrefix(lines[0], c.want) || len(lines) != 2 || !strings.Contains(lines[1], "-h") {
			t.Errorf("recallbot %s: %v; stderr %q, want %q first and one line of help", strings.Join(c.args, " "), err, errOut, c.want)
		}
	}
	_, errOut, err := recallbot(t, "help", "recall")
	if exitCode(err, &bytes.Buffer{}) != 0 || !strings.Contains(errOut, "-last") || !strings.Contains(errOut, "Usage: recallbot recall") {
		t.Errorf("recallbot help recall: %v; %q does not show recall's flags", err, errOut)
	}
}
