// Package k6sidecar runs the k6 control plane (`k6-runner serve`) as a
// supervised child of a Go web server, behind that server's own routes.
// Standard library only; copy this folder and the websocket one into
// your server.
//
//   - Start starts the runner on a free loopback port, waits until its
//     GET /api/k6/health answers, and restarts it (backoff 1 s, doubling up
//     to Config.MaxBackoff) whenever it dies.
//   - Handler is the runner's API, WebSocket and web page, reverse-proxied.
//   - Config.OnStatus receives the runner's status (the document of
//     GET /api/k6/status, live numbers included) each time it changes,
//     read from the runner's own WebSocket, for your app state.
//   - Stop stops the runner (SIGTERM: it stops any k6 run first, letting
//     k6 write its summary), and SIGKILLs its process group if it has
//     not exited after Config.StopTimeout.
//
// One process tree: the runner is the host's child in its own process
// group (a Ctrl-C in the host's terminal reaches the host only, which
// then stops the runner in order), it gets SIGTERM from the kernel if the
// host dies, even by SIGKILL (Pdeathsig), and it kills its own k6
// processes the same way. Nothing is left behind.
//
// # The token
//
// Start makes a random secret and gives it to the runner only through its
// environment (K6_RUNNER_TOKENS, as operator "cluster-manager"): never on a
// command line, where every local user could read it. The proxy puts it
// on every request it forwards (Authorization: Bearer), replacing
// whatever credentials the host's user sent (the host's auth has judged
// those already) and removing ?access_token= from WebSocket URLs. The
// host's users never see it; the runner's audit log names every control
// action's actor "cluster-manager".
//
// # Host and Origin
//
// The proxy passes the Host header of the user's request through
// unchanged (httputil.ReverseProxy's default; r.Host is not rewritten)
// and the Origin header too. The runner refuses a control request or
// WebSocket handshake whose Origin is not the address it was reached by
// (Host), so a page of another site cannot drive k6 through a user's
// browser: behind this proxy, the page the host serves (same origin) may
// control the runner and any other site's page is refused. A proxy that
// rewrote Host to the runner's 127.0.0.1 port would make every browser
// request cross-origin (refused); one that dropped Origin would switch the
// check off. With tokens the runner no longer insists on loopback Host
// names, so defending against DNS rebinding is the host's job: its own
// auth, or serving only loopback names when it has none.
package k6sidecar

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// TokenName is the name the runner knows the host's token by: the actor of
// every control action in its audit log.
const TokenName = "cluster-manager"

// listening is how the runner announces its address on stdout.
const listening = "k6 runner listening on http://"

// Defaults of the Config durations.
const (
	DefaultReadyTimeout = 60 * time.Second
	DefaultStopTimeout  = 30 * time.Second
	DefaultMaxBackoff   = 30 * time.Second
	// A runner that served this long before it died is restarted after
	// the first backoff step again, not the last one.
	stableAfter  = time.Minute
	firstBackoff = time.Second
	// How often readiness is polled, and how long one poll may take.
	pollEvery   = 100 * time.Millisecond
	pollTimeout = 2 * time.Second
)

// Config says what to run and where its news goes.
type Config struct {
	// Runner is the k6-runner binary.
	Runner string
	// Args follow `k6-runner serve`: --scripts-dir, --k6, --data-dir,
	// --stop-grace... The sidecar gives --bind itself (127.0.0.1:0) and
	// the token; --bind and --tokens-file are refused here.
	Args []string
	// Env is added to the runner's environment (RUST_LOG=info, say). The
	// host's own K6_RUNNER_* variables are never passed on.
	Env []string
	// Log gets the sidecar's own lines and every line the runner logs
	// (its "source" is "k6-runner"); keyvals alternate names and values.
	// nil: the standard logger.
	Log func(level, msg string, keyvals ...any)
	// OnStatus gets the runner's status document whenever it changes. It
	// is called from one goroutine, in order.
	OnStatus func(status json.RawMessage)
	// OnState gets the sidecar's State whenever it changes.
	OnState func(State)
	// ReadyTimeout bounds a start: listening and answering its health
	// check (default 60 s; the first start compiles the sandboxed core).
	ReadyTimeout time.Duration
	// StopTimeout is how long Stop waits after SIGTERM before it SIGKILLs
	// the runner's process group (default 30 s; keep it above the
	// runner's --stop-grace, 15 s by default, so k6 can write its summary).
	StopTimeout time.Duration
	// MaxBackoff caps the wait before a restart (default 30 s).
	MaxBackoff time.Duration

	// Attach is the address ("127.0.0.1:8081") of a runner that something
	// else supervises, such as its own systemd unit
	// (contrib/systemd/k6-runner.service). The sidecar then starts and
	// stops nothing (Runner, Args and Env are not used): it proxies to
	// that runner with Token, follows its status and watches its health.
	Attach string
	// Token is the operator secret the attached runner was given; only
	// with Attach (a started runner gets a fresh random one).
	Token string
}

// State is the sidecar's view of the runner, for the host's app state.
type State struct {
	// Phase: "starting", "ready", "restarting", "stopping" or "stopped";
	// for an attached runner "unreachable" while its health check fails.
	Phase string `json:"phase"`
	// Ready: the runner serves and can run k6 (its /health said so, or
	// its status names a k6 version).
	Ready bool `json:"ready"`
	// Reason is why it is not ready, when it serves but is not.
	Reason string `json:"reason,omitempty"`
	// PID of the runner process now, 0 while there is none.
	PID int `json:"pid,omitempty"`
	// Restarts after the runner died.
	Restarts int `json:"restarts"`
	// LastExit says how the last runner process ended.
	LastExit string `json:"lastExit,omitempty"`
}

// Sidecar is one supervised runner.
type Sidecar struct {
	cfg     Config
	token   string
	proxy   *httputil.ReverseProxy
	client  *http.Client
	stop    chan struct{}
	stopped sync.Once
	done    chan struct{}

	mu    sync.Mutex
	addr  string // where the runner serves; "" while it does not
	state State

	notify sync.Mutex // one update at a time, so OnState sees them in order
}

// errStopped ends a run of the runner that Stop asked for.
var errStopped = errors.New("stopped")

// Start starts the runner and returns once it is ready; from then on it
// is kept running until Stop. If the first start fails (the runner exits,
// or does not answer within ReadyTimeout), Start returns why, and nothing
// is left running: a wrong flag or path is a setup error to fix, not
// something to retry forever.
func Start(cfg Config) (*Sidecar, error) {
	if cfg.Attach != "" && len(cfg.Token) < 16 {
		return nil, errors.New("k6sidecar: Config.Attach needs the runner's operator Token (16+ bytes)")
	}
	if cfg.Attach == "" && cfg.Token != "" {
		return nil, errors.New("k6sidecar: Config.Token is only for Attach; a started runner gets its own")
	}
	if cfg.Runner == "" && cfg.Attach == "" {
		return nil, errors.New("k6sidecar: Config.Runner names no k6-runner binary")
	}
	for _, arg := range cfg.Args {
		name := strings.SplitN(arg, "=", 2)[0]
		if name == "--bind" || name == "--tokens-file" {
			return nil, fmt.Errorf("k6sidecar: %s is the sidecar's to give, not Config.Args'", name)
		}
	}
	for _, kv := range cfg.Env {
		if strings.HasPrefix(kv, "K6_RUNNER_") {
			return nil, fmt.Errorf("k6sidecar: %s is the sidecar's to give, not Config.Env's", strings.SplitN(kv, "=", 2)[0])
		}
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = DefaultReadyTimeout
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = DefaultStopTimeout
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.Log == nil {
		cfg.Log = func(level, msg string, keyvals ...any) { log.Println(append([]any{level, msg}, keyvals...)...) }
	}
	token := cfg.Token
	if token == "" {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		token = hex.EncodeToString(secret)
	}
	s := &Sidecar{
		cfg:    cfg,
		token:  token,
		client: &http.Client{Timeout: pollTimeout},
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	s.proxy = s.newProxy()
	first := make(chan error, 1)
	if cfg.Attach != "" {
		go s.watch(first)
	} else {
		go s.supervise(first)
	}
	if err := <-first; err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Stop stops the runner (and with it any k6 run) and waits until it is
// gone; an attached runner is only let go of. Safe to call more than once.
func (s *Sidecar) Stop() {
	s.stopped.Do(func() { close(s.stop) })
	<-s.done
}

// State is the sidecar's view of the runner now.
func (s *Sidecar) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Addr is where the runner serves now ("127.0.0.1:port"), or "".
func (s *Sidecar) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// update changes the state and reports it.
func (s *Sidecar) update(change func(*State)) {
	s.notify.Lock()
	defer s.notify.Unlock()
	s.mu.Lock()
	before := s.state
	change(&s.state)
	after := s.state
	s.mu.Unlock()
	if after != before && s.cfg.OnState != nil {
		s.cfg.OnState(after)
	}
}

// supervise runs the runner again and again until Stop. The first
// start's outcome goes to first.
func (s *Sidecar) supervise(first chan<- error) {
	defer close(s.done)
	backoff := firstBackoff
	for {
		s.update(func(st *State) { st.Phase = "starting" })
		readyAt := time.Time{}
		err := s.runOnce(func() {
			readyAt = time.Now()
			if first != nil {
				first <- nil
				first = nil
			}
		})
		if err == errStopped {
			s.update(func(st *State) { *st = State{Phase: "stopped", Restarts: st.Restarts, LastExit: st.LastExit} })
			if first != nil {
				first <- errors.New("k6sidecar: stopped before the runner was ready")
			}
			return
		}
		if first != nil {
			s.update(func(st *State) { *st = State{Phase: "stopped", LastExit: err.Error()} })
			first <- fmt.Errorf("k6sidecar: the runner did not start: %w", err)
			return
		}
		if !readyAt.IsZero() && time.Since(readyAt) >= stableAfter {
			backoff = firstBackoff
		}
		s.cfg.Log("warn", "k6-runner ended; restarting it", "exit", err.Error(), "in", backoff.String())
		s.update(func(st *State) {
			*st = State{Phase: "restarting", Restarts: st.Restarts + 1, LastExit: err.Error()}
		})
		select {
		case <-time.After(backoff):
		case <-s.stop:
			s.update(func(st *State) { st.Phase = "stopped" })
			return
		}
		if backoff *= 2; backoff > s.cfg.MaxBackoff {
			backoff = s.cfg.MaxBackoff
		}
	}
}

// child is one runner process.
type child struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once it has exited and been reaped
	err  error         // how it exited, once done
}

// spawn starts the runner. The kernel's parent-death signal is tied to
// the thread that forked the child, not to the process (Go's runtime may
// end idle threads): the goroutine that starts the child stays locked to
// its thread until the child is reaped.
func (s *Sidecar) spawn(stdout, stderr *os.File) (*child, error) {
	args := append([]string{"serve", "--bind", "127.0.0.1:0"}, s.cfg.Args...)
	cmd := exec.Command(s.cfg.Runner, args...)
	cmd.Env = s.env()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	c := &child{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, <-started
}

// env is the host's environment without K6_RUNNER_* variables, plus
// Config.Env and the token.
func (s *Sidecar) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "K6_RUNNER_") {
			env = append(env, kv)
		}
	}
	env = append(env, s.cfg.Env...)
	return append(env, "K6_RUNNER_TOKENS="+TokenName+":operator:"+s.token)
}

// runOnce runs one runner process until it exits (its exit is the error)
// or Stop is asked for (errStopped). onReady is called once it serves.
func (s *Sidecar) runOnce(onReady func()) error {
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return err
	}
	c, err := s.spawn(outW, errW)
	outW.Close() // the child holds its own copies
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return err
	}
	pid := c.cmd.Process.Pid
	s.cfg.Log("info", "k6-runner started", "pid", pid)
	s.update(func(st *State) { st.PID = pid })
	address := make(chan string, 1)
	go s.forward(outR, func(line string) bool {
		if rest := strings.TrimPrefix(line, listening); rest != line {
			select {
			case address <- strings.SplitN(rest, "/", 2)[0]:
			default:
			}
			return true
		}
		return false
	})
	go s.forward(errR, nil)

	deadline := time.NewTimer(s.cfg.ReadyTimeout)
	defer deadline.Stop()
	var addr string
	select {
	case addr = <-address:
	case <-c.done:
		return fmt.Errorf("exited before listening (%s)", exitText(c.err))
	case <-deadline.C:
		s.terminate(c)
		return fmt.Errorf("did not listen within %v", s.cfg.ReadyTimeout)
	case <-s.stop:
		s.terminate(c)
		return errStopped
	}
	var health health
	for {
		health, err = s.health(addr)
		if err == nil {
			break
		}
		select {
		case <-time.After(pollEvery):
		case <-c.done:
			return fmt.Errorf("exited before it was ready (%s)", exitText(c.err))
		case <-deadline.C:
			s.terminate(c)
			return fmt.Errorf("not ready within %v: %v", s.cfg.ReadyTimeout, err)
		case <-s.stop:
			s.terminate(c)
			return errStopped
		}
	}
	s.mu.Lock()
	s.addr = addr
	s.mu.Unlock()
	s.update(func(st *State) { st.Phase, st.Ready, st.Reason = "ready", health.Ready, health.Reason })
	s.cfg.Log("info", "k6-runner ready", "addr", addr, "ready", health.Ready, "reason", health.Reason)
	onReady()

	ctx, cancel := context.WithCancel(context.Background())
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		s.follow(ctx, addr)
	}()
	defer func() {
		cancel()
		<-followed
		s.mu.Lock()
		s.addr = ""
		s.mu.Unlock()
	}()
	select {
	case <-c.done:
		return fmt.Errorf("exited (%s)", exitText(c.err))
	case <-s.stop:
		cancel() // no reconnecting to a runner being stopped
		s.update(func(st *State) { st.Phase = "stopping" })
		s.terminate(c)
		return errStopped
	}
}

// exitText says how a runner process ended.
func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// terminate asks the runner to stop (SIGTERM: it stops any run, k6 writes
// its summary) and, after StopTimeout, SIGKILLs its process group.
func (s *Sidecar) terminate(c *child) {
	pid := c.cmd.Process.Pid
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-c.done:
		s.cfg.Log("info", "k6-runner stopped", "pid", pid, "exit", exitText(c.err))
		return
	case <-time.After(s.cfg.StopTimeout):
	}
	s.cfg.Log("error", "k6-runner did not stop in time; killing its process group", "pid", pid, "after", s.cfg.StopTimeout.String())
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	<-c.done
}

// forward logs every line of r as the runner's; claim may take a line
// for itself instead (it returns true then).
func (s *Sidecar) forward(r io.ReadCloser, claim func(string) bool) {
	defer r.Close()
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	for scanner.Scan() {
		line := scanner.Text()
		if claim != nil && claim(line) {
			continue
		}
		level, msg := runnerLevel(line)
		s.cfg.Log(level, msg, "source", "k6-runner")
	}
}

// runnerLevel reads the level of one of the runner's log lines
// ("2026-11-25T14:01:02.345Z  WARN k6_runner::service: ...", or
// "error: ..." when it cannot start) and returns it with the rest.
func runnerLevel(line string) (level, msg string) {
	fields := strings.Fields(line)
	if len(fields) >= 2 {
		levels := map[string]string{"TRACE": "debug", "DEBUG": "debug", "INFO": "info", "WARN": "warn", "ERROR": "error"}
		if level, ok := levels[fields[1]]; ok {
			at := strings.Index(line, fields[1]) + len(fields[1])
			return level, strings.TrimSpace(line[at:])
		}
	}
	if strings.HasPrefix(line, "error: ") { // how the runner says why it cannot start
		return "error", line
	}
	return "info", line
}

// health is what GET /api/k6/health answers.
type health struct {
	Service string `json:"service"`
	Ready   bool   `json:"ready"`
	Reason  string `json:"reason"`
}

// health asks the runner at addr whether it is ready. Any answer from
// the runner (200 ready, 503 serving but not ready) means it serves.
func (s *Sidecar) health(addr string) (health, error) {
	var h health
	response, err := s.client.Get("http://" + addr + "/api/k6/health")
	if err != nil {
		return h, err
	}
	defer response.Body.Close()
	if err := json.NewDecoder(io.LimitReader(response.Body, 64*1024)).Decode(&h); err != nil {
		return h, fmt.Errorf("health: HTTP %d, %v", response.StatusCode, err)
	}
	if h.Service != "k6-runner" {
		return h, fmt.Errorf("health: %s is not a k6 runner", addr)
	}
	return h, nil
}
