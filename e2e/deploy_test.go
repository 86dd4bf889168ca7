package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/recallbot/recallbot/config"
	"github.com/recallbot/recallbot/dingtalk/dingtalktest"
)

// The tests in this file check the two installs the repository ships, the
// systemd unit and the container image, as far as this machine can: no
// systemd runs here and no Docker engine. They lay the files out as the
// install would, with the owners and modes it gives them, under a
// directory standing for /, and run the binary as the user the install
// runs it as.

// asUser needs root: only root can start a process as another user.
func asUser(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("runs the binary as the install's unprivileged user, which needs root to set its credentials (syscall.Credential); this test runs as uid", os.Getuid())
	}
}

// layoutRoot is a directory standing for /: anyone may pass through it,
// as through /, so that an unprivileged user reaches what is under it.
func layoutRoot(t *testing.T) string {
	t.Helper()
	root, err := os.MkdirTemp("", "recallbot-layout-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

// install writes a file under root with its mode and owner, its
// directories as "install -d" makes them (root's, 0755).
func install(t *testing.T, path string, data []byte, mode os.FileMode, uid int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	if err := os.Chown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
}

// stateDir makes a directory owned by uid with mode, as systemd's
// StateDirectory= or the image's chown does.
func stateDir(t *testing.T, path string, mode os.FileMode, uid int) {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
}

// rewrite replaces each old text by its new one, failing when an old one
// is missing: the example changed and the test must follow.
func rewrite(t *testing.T, text string, pairs ...string) string {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(text, pairs[i]) {
			t.Fatalf("the example no longer holds %q", pairs[i])
		}
		text = strings.ReplaceAll(text, pairs[i], pairs[i+1])
	}
	return text
}

// asUserCmd is a command run as uid (and its group of the same number),
// with env only, in dir.
func asUserCmd(ctx context.Context, bin string, uid int, dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}},
		Pdeathsig:  syscall.SIGKILL, // never outlive the test
	}
	return cmd
}

// runInstalled starts `recallbot run -config cfg` as uid in dir, waits
// until `recallbot healthcheck -url` (as the same user) says ready, then
// stops it with SIGTERM and wants exit 0. It returns the bot's output.
func runInstalled(t *testing.T, bin string, uid int, dir, cfg, readyURL string, env []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out syncBuffer
	cmd := asUserCmd(ctx, bin, uid, dir, env, "run", "-config", cfg)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	ended := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(ended) }()
	exited := func() bool {
		select {
		case <-ended:
			return true
		default:
			return false
		}
	}
	var last []byte
	err := waitFor(ctx, func() bool {
		if exited() {
			return true
		}
		last, _ = asUserCmd(ctx, bin, uid, dir, env, "healthcheck", "-url", readyURL).CombinedOutput()
		return string(last) == "ready\n"
	})
	if err != nil || exited() {
		_ = cmd.Process.Kill()
		<-ended
		t.Fatalf("the bot never became ready (%v; healthcheck said %q):\n%s", err, last, out.String())
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	<-ended
	if waitErr != nil {
		t.Errorf("after SIGTERM: %v, want exit 0:\n%s", waitErr, out.String())
	}
	if !strings.Contains(out.String(), "stopped") {
		t.Errorf("no clean stop in the log:\n%s", out.String())
	}
	return out.String()
}

// owned reports whether path exists and belongs to uid.
func owned(path string, uid int) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == uid
}

// dynamicUID is the first uid systemd's DynamicUser= hands out.
const dynamicUID = 61184

// TestSystemdUnitVerifies: systemd-analyze verify accepts the unit (no
// error, no warning), with its ExecStart pointed at a built binary, as
// verify wants the program to exist. It needs no running systemd.
func TestSystemdUnitVerifies(t *testing.T) {
	t.Parallel()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is missing (Debian: apt-get install systemd); .ci/run installs it")
		}
		t.Skip("systemd-analyze is not installed (Debian package systemd)")
	}
	unit, err := os.ReadFile("../deploy/recallbot.service")
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), "recallbot.service")
	text := rewrite(t, string(unit), "ExecStart=/usr/local/bin/recallbot ", "ExecStart="+binary(t)+" ")
	if err := os.WriteFile(copyPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", copyPath).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, want := range []string{"\nDynamicUser=yes\n", "\nStateDirectory=recallbot\n", "\nWorkingDirectory=/var/lib/recallbot\n",
		"\nProtectSystem=strict\n", "\nEnvironmentFile=/etc/recallbot/env\n"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the unit lacks %q", strings.TrimSpace(want))
		}
	}
	if strings.Contains(string(unit), "ReadWritePaths=/etc") {
		t.Error("the service may write its own configuration")
	}
}

// TestSystemdInstallRunsAsItsUser: installed as the unit's comment says,
// the example config.yaml with the mode it gives, the bot runs as a user
// DynamicUser= allocates (neither the config's owner nor in its group), in
// its state directory: it reads its configuration, keeps its ledger there,
// answers healthcheck, and stops cleanly on SIGTERM.
func TestSystemdInstallRunsAsItsUser(t *testing.T) {
	t.Parallel()
	asUser(t)
	unit, err := os.ReadFile("../deploy/recallbot.service")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`install -m (0[0-7]{3}) config\.yaml /etc/recallbot/config\.yaml`).FindSubmatch(unit)
	if m == nil {
		t.Fatal("the unit's install steps do not install config.yaml")
	}
	perm, err := strconv.ParseUint(string(m[1]), 8, 32)
	if err != nil {
		t.Fatal(err)
	}
	mode := os.FileMode(perm)
	if mode&0o004 == 0 {
		t.Errorf("config.yaml installed %04o: a DynamicUser= service, neither its owner nor in its group, cannot read it", mode)
	}
	srv, err := dingtalktest.NewServer(dingtalktest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	o := srv.Options()
	root := layoutRoot(t)
	bin := filepath.Join(root, "usr/local/bin/recallbot")
	b, err := os.ReadFile(binary(t))
	if err != nil {
		t.Fatal(err)
	}
	install(t, bin, b, 0o755, 0)
	example, err := os.ReadFile("../config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cfg := rewrite(t, string(example),
		"client_id: dingxxxxxxxx ", "client_id: "+o.ClientID+" ",
		"robot_code: dingxxxxxxxx ", "robot_code: "+o.RobotCode+" ",
		"api_base: https://api.dingtalk.com ", "api_base: "+srv.URL()+" ",
		"listen: 127.0.0.1:8470 ", "listen: "+addr+" ")
	cfgPath := filepath.Join(root, "etc/recallbot/config.yaml")
	install(t, cfgPath, []byte(cfg), mode, 0)
	state := filepath.Join(root, "var/lib/recallbot")
	stateDir(t, state, 0o700, dynamicUID)                                                            // StateDirectory=, StateDirectoryMode=0700
	env := []string{"DINGTALK_CLIENT_SECRET=" + o.ClientSecret, "RECALLBOT_HTTP_TOKEN=" + testToken} // EnvironmentFile=
	runInstalled(t, bin, dynamicUID, state, cfgPath, "http://"+addr+"/readyz", env)
	for _, f := range []string{"recallbot.db", "recallbot.db.spool"} {
		if !owned(filepath.Join(state, f), dynamicUID) {
			t.Errorf("%s is not in the state directory, owned by the service's user", f)
		}
	}
}

// TestContainerLayoutRunsAsNonroot: the image's layout, checked without a
// Docker engine. The binary is built with the Dockerfile's -ldflags (its
// VERSION is what "recallbot version" prints); it runs as the image's
// USER (65532) in its WORKDIR, the state directory (the VOLUME, owned by
// 65532 as the Dockerfile makes it), with deploy/container.yaml at the
// ENTRYPOINT's path (its absolute paths moved under a directory standing
// for /, its placeholders set to the emulator), and the environment alone
// as docker run -e gives it: it starts, "recallbot healthcheck" (the
// HEALTHCHECK, as that user) says ready, and SIGTERM stops it cleanly.
func TestContainerLayoutRunsAsNonroot(t *testing.T) {
	t.Parallel()
	asUser(t)
	df, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	dockerfile := string(df)
	find := func(re string) string {
		t.Helper()
		m := regexp.MustCompile(re).FindStringSubmatch(dockerfile)
		if m == nil {
			t.Fatalf("the Dockerfile has no %s", re)
		}
		return m[1]
	}
	workdir := find(`(?m)^WORKDIR (/var/\S+)$`)
	volume := find(`(?m)^VOLUME (\S+)$`)
	user := find(`(?m)^USER (\d+):\d+$`)
	ldflags := find(`(?m)^RUN CGO_ENABLED=0 go build -trimpath -ldflags "([^"]*-X main\.version=\$\{VERSION\}[^"]*)"`)
	config := find(`(?m)^ENTRYPOINT \["/usr/local/bin/recallbot", "run", "-config", "(/etc/recallbot/config\.yaml)"\]$`)
	find(`(?m)^COPY deploy/container\.yaml (/etc/recallbot/config\.yaml)$`)
	find(`(?m)^HEALTHCHECK .*CMD \["/usr/local/bin/recallbot", "(healthcheck)"\]$`)
	find(`(chown 65532:65532 /out/state)`)
	find(`(?m)^COPY --from=build --chown=65532:65532 /out/state (/var/lib/recallbot)$`)
	if workdir != volume || user != "65532" {
		t.Fatalf("WORKDIR %s, VOLUME %s, USER %s", workdir, volume, user)
	}

	root := layoutRoot(t)
	bin := filepath.Join(root, "usr/local/bin/recallbot")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	const version = "v0.0.0-container-test"
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build",
		"-ldflags", strings.ReplaceAll(ldflags, "${VERSION}", version), "-o", bin, ".")
	build.Dir = ".." // the module's root: package main
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build with the Dockerfile's -ldflags: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "version").Output(); err != nil || !strings.HasPrefix(string(out), "recallbot "+version) {
		t.Errorf("recallbot version: %q %v, want %s", out, err, version)
	}

	srv, err := dingtalktest.NewServer(dingtalktest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	o := srv.Options()
	example, err := os.ReadFile("../deploy/container.yaml")
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(root, volume)
	port := strings.TrimPrefix(freeAddr(t), "127.0.0.1:")
	cfg := rewrite(t, string(example),
		"/var/lib/recallbot/", state+"/",
		"client_id: dingYOURAPPKEY ", "client_id: "+o.ClientID+" ",
		"robot_code: dingYOURROBOTCODE ", "robot_code: "+o.RobotCode+" ",
		"api_base: https://api.dingtalk.com", "api_base: "+srv.URL(),
		"listen: 0.0.0.0:8470 ", "listen: 0.0.0.0:"+port+" ")
	cfgPath := filepath.Join(root, config)
	install(t, cfgPath, []byte(cfg), 0o644, 0) // COPY: root's, readable
	stateDir(t, state, 0o700, 65532)
	env := []string{"DINGTALK_CLIENT_SECRET=" + o.ClientSecret, "RECALLBOT_HTTP_TOKEN=" + testToken}
	runInstalled(t, bin, 65532, filepath.Join(root, workdir), cfgPath, "http://127.0.0.1:"+port+"/readyz", env)
	if !owned(filepath.Join(state, "recallbot.db"), 65532) {
		t.Error("the ledger is not on the volume, owned by the image's user")
	}
}

// TestContainerConfigParses: the container example is a valid
// configuration as it stands, listening beyond the container's loopback,
// its ledger by an absolute path.
func TestContainerConfigParses(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../deploy/container.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(b, env(map[string]string{"DINGTALK_CLIENT_SECRET": "x", "RECALLBOT_HTTP_TOKEN": "0123456789abcdef"}))
	if err != nil {
		t.Fatalf("deploy/container.yaml: %v", err)
	}
	if cfg.HTTP.Listen != "0.0.0.0:8470" || !filepath.IsAbs(cfg.Ledger.Path) {
		t.Errorf("listen %q, ledger %q", cfg.HTTP.Listen, cfg.Ledger.Path)
	}
}
