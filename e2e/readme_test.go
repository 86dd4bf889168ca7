package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tryItBlock is the README's "try it" block: the fenced block after the
// marker comment, one command a line.
func tryItBlock(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "<!-- try-it")
	if !ok {
		t.Fatal("README.md has no <!-- try-it --> block")
	}
	_, after, _ = strings.Cut(after, "```sh\n")
	block, _, ok := strings.Cut(after, "```")
	if !ok {
		t.Fatal("the try-it block is not closed")
	}
	return strings.Split(strings.TrimSpace(block), "\n")
}

// TestReadmeTryIt runs the README's "try it" block line by line against
// the binary, as a person pasting it would: a line ending in & runs in the
// background, "kill %2 %1" stops those jobs (each must exit 0), any other
// line must exit 0. A person waits for sim's banner before the next line
// and says "healthcheck" again until it answers ready; so does the test.
// Two things differ, so that the test never depends on free fixed ports:
// sim gets -listen and -bot-http on free ports, and RECALLBOT_API points
// the CLI at the bot there; "go build" is the binary the test built.
func TestReadmeTryIt(t *testing.T) {
	t.Parallel()
	bin := binary(t)
	lines := tryItBlock(t)
	dir := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(dir, "recallbot")); err != nil {
		t.Fatal(err)
	}
	simAddr, botAddr := freeAddr(t), freeAddr(t)
	env := append(os.Environ(), "RECALLBOT_API=http://"+botAddr, "TMPDIR="+dir)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	shell := func(line string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, "bash", "-c", line)
		cmd.Dir, cmd.Env = dir, env
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test
		return cmd
	}
	type job struct {
		line string
		cmd  *exec.Cmd
		done chan error
	}
	var jobs []*job
	t.Cleanup(func() {
		for _, j := range jobs {
			_ = j.cmd.Process.Kill()
			<-j.done
		}
	})
	exportLine := regexp.MustCompile(`^export ([A-Z_]+)=(.*)$`)
	killLine := regexp.MustCompile(`^kill((?: %\d+)+)$`)
	outputs := map[string]string{}
	for _, raw := range lines {
		line := raw
		if i := strings.Index(line, "  #"); i >= 0 { // a trailing comment, as the shell drops it
			line = line[:i]
		}
		line = strings.TrimSpace(strings.ReplaceAll(line, "127.0.0.1:8471", simAddr))
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "go build "):
			if line != "go build -o recallbot ." {
				t.Fatalf("the block builds differently from the test: %q", line)
			}
		case exportLine.MatchString(line):
			name := exportLine.FindStringSubmatch(line)[1]
			out, err := shell(line + `; printf %s "$` + name + `"`).Output()
			if err != nil || len(out) == 0 {
				t.Fatalf("%s: %v", raw, err)
			}
			env = append(env, name+"="+string(out))
		case strings.HasSuffix(line, "&"):
			line = strings.TrimSpace(strings.TrimSuffix(line, "&"))
			if strings.HasPrefix(line, "./recallbot sim") {
				line = strings.Replace(line, "./recallbot sim", "./recallbot sim -listen "+simAddr+" -bot-http "+botAddr, 1)
			}
			j := &job{line: raw, cmd: shell("exec " + line), done: make(chan error, 1)}
			if err := j.cmd.Start(); err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			go func() { j.done <- j.cmd.Wait() }()
			jobs = append(jobs, j)
			if m := regexp.MustCompile(`-write-config (\S+)`).FindStringSubmatch(line); m != nil {
				if err := waitFor(ctx, func() bool { _, err := os.Stat(filepath.Join(dir, m[1])); return err == nil }); err != nil {
					t.Fatalf("%s: no configuration written: %v", raw, err)
				}
			}
		case killLine.MatchString(line):
			for _, spec := range strings.Fields(killLine.FindStringSubmatch(line)[1]) {
				n, err := strconv.Atoi(spec[1:])
				if err != nil || n < 1 || n > len(jobs) {
					t.Fatalf("%s: no job %s", raw, spec)
				}
				j := jobs[n-1]
				_ = j.cmd.Process.Signal(syscall.SIGTERM)
				if err := <-j.done; err != nil {
					t.Errorf("%s: %s ended with %v", raw, j.line, err)
				}
				j.done <- nil // for the cleanup
			}
		case strings.HasPrefix(line, "./recallbot healthcheck"):
			var out []byte
			err := waitFor(ctx, func() bool {
				var err error
				out, err = shell(line).CombinedOutput()
				return err == nil
			})
			if err != nil {
				t.Fatalf("%s: never ready: %v %s\nbot.log:\n%s", raw, err, out, readFile(filepath.Join(dir, "bot.log")))
			}
			outputs[line] = string(out)
		default:
			out, err := shell(line).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", raw, err, out)
			}
			outputs[line] = string(out)
			if strings.HasPrefix(line, "curl ") && strings.Contains(line, "/recall last 1") {
				checkRecalledInGroup(t, simAddr, string(out))
			}
		}
	}
	wants := map[string]string{"./recallbot healthcheck": "ready", "./recallbot send": "已发送：记录", "--dry-run": "1 条将被撤回", "/recall last 1": "1 条已撤回"}
	for part, want := range wants {
		found := false
		for line, out := range outputs {
			if strings.Contains(line, part) {
				found = true
				if !strings.Contains(out, want) {
					t.Errorf("%s printed %q, want %q", line, out, want)
				}
			}
		}
		if !found {
			t.Errorf("the block has no line with %q", part)
		}
	}
	if log := readFile(filepath.Join(dir, "bot.log")); !strings.Contains(log, "recallbot running") || !strings.Contains(log, "stopped") {
		t.Errorf("bot.log:\n%s", log)
	}
}

// checkRecalledInGroup: the admin's /recall in the group answered with a
// receipt, and the message sent into the group is recalled there.
func checkRecalledInGroup(t *testing.T, simAddr, answer string) {
	t.Helper()
	var a struct{ Replies []struct{ Text string } }
	if err := json.Unmarshal([]byte(answer), &a); err != nil || len(a.Replies) != 1 {
		t.Errorf("the admin's /recall: %v %s", err, answer)
	}
	resp, err := http.Get("http://" + simAddr + "/sim/v1/conversations/" + simGroup)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c struct {
		Messages []struct {
			Text     string
			Recalled bool
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, m := range c.Messages {
		if m.Text == "db-7 disk at 97%" {
			sent++
			if !m.Recalled {
				t.Errorf("the group's message was not recalled: %+v", c.Messages)
			}
		}
	}
	if sent != 1 {
		t.Errorf("the group holds %d of the messages sent: %+v", sent, c.Messages)
	}
}

func readFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// simGroup is the group `recallbot sim` starts with.
const simGroup = "cidOpsGroup=="
