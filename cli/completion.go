package cli

// Shell completion. The scripts are generated from main's command table
// and from each command's own flag set (collected by running it with -h),
// so a flag added to a command is completed without touching this file.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Command is one subcommand of recallbot: main's table of them dispatches
// the command line and generates the completion scripts.
type Command struct {
	Name string
	// Verbs are the words the command takes first (broadcast start), if
	// any; each may have flags of its own.
	Verbs []string
	Run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// Shells are the shells `recallbot completion` writes a script for.
var Shells = []string{"bash", "zsh", "fish"}

// Completion is `recallbot completion bash|zsh|fish`: it prints a
// completion script for the commands of table and their flags.
func Completion(ctx context.Context, table []Command, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("completion", "completion bash|zsh|fish\n\n"+
		"  bash: source <(recallbot completion bash)   (or save it in /etc/bash_completion.d/recallbot)\n"+
		"  zsh:  source <(recallbot completion zsh)\n"+
		"  fish: recallbot completion fish > ~/.config/fish/completions/recallbot.fish", stderr)
	if err := parseFlags(fs, args, envLang(os.Getenv)); err != nil {
		return err
	}
	switch {
	case fs.NArg() == 1 && !slices.Contains(Shells, fs.Arg(0)):
		return usageError(fs, fmt.Sprintf("%q is not supported: the shells are bash, zsh and fish", fs.Arg(0)))
	case fs.NArg() != 1:
		return usageError(fs, "name one shell: bash, zsh or fish")
	}
	words, err := completionWords(ctx, table)
	if err != nil {
		return err
	}
	var script string
	switch fs.Arg(0) {
	case "bash":
		script = bashScript(words)
	case "zsh":
		script = zshScript(words)
	case "fish":
		script = fishScript(words)
	}
	_, err = io.WriteString(stdout, script)
	return err
}

// cmdWords is what completes after one command: its verbs, and the flags
// of the command ("" key) and of each verb.
type cmdWords struct {
	name  string
	verbs []string
	flags map[string][]flagWord
}

// flagWord is one flag; value says whether it takes an argument.
type flagWord struct {
	name  string
	value bool
}

// completionWords runs every command of table with -h (and each verb with
// -h) to collect the flag sets it builds.
func completionWords(ctx context.Context, table []Command) ([]cmdWords, error) {
	var out []cmdWords
	for _, c := range table {
		w := cmdWords{name: c.Name, verbs: c.Verbs, flags: map[string][]flagWord{}}
		for _, verb := range append([]string{""}, c.Verbs...) {
			args := []string{"-h"}
			if verb != "" {
				args = []string{verb, "-h"}
			}
			fl, err := collectFlags(ctx, c, args)
			if err != nil {
				return nil, err
			}
			w.flags[verb] = fl
		}
		out = append(out, w)
	}
	return out, nil
}

// flagCollector is the stderr a command is run with to learn its flags:
// newFlagSet registers each flag set it builds with it.
type flagCollector struct {
	sets []*flag.FlagSet
}

func (*flagCollector) Write(p []byte) (int, error) { return len(p), nil }

// collectFlags runs c with args (ending in -h) and lists the flags of the
// flag sets it built, sorted.
func collectFlags(ctx context.Context, c Command, args []string) ([]flagWord, error) {
	fc := new(flagCollector)
	if err := c.Run(ctx, args, io.Discard, fc); err != nil && !errors.Is(err, flag.ErrHelp) {
		var ue UsageError
		if !errors.As(err, &ue) {
			return nil, fmt.Errorf("completion: %s %s: %w", c.Name, strings.Join(args, " "), err)
		}
	}
	seen := map[string]bool{}
	var out []flagWord
	for _, fs := range fc.sets {
		fs.VisitAll(func(f *flag.Flag) {
			if seen[f.Name] {
				return
			}
			seen[f.Name] = true
			b, ok := f.Value.(interface{ IsBoolFlag() bool })
			out = append(out, flagWord{name: f.Name, value: !ok || !b.IsBoolFlag()})
		})
	}
	slices.SortFunc(out, func(a, b flagWord) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// names are the command names of words.
func names(words []cmdWords) []string {
	var out []string
	for _, w := range words {
		out = append(out, w.name)
	}
	return out
}

// flagList is the flags as the shell sees them (-name), and those of them
// that take a value.
func flagList(fl []flagWord) (all, value string) {
	var a, v []string
	for _, f := range fl {
		a = append(a, "-"+f.name)
		if f.value {
			v = append(v, "-"+f.name)
		}
	}
	return strings.Join(a, " "), strings.Join(v, " ")
}
