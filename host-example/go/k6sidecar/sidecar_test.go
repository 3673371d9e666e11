package k6sidecar

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"vudatasim.example/clustermanager/websocket"
)

// The test binary doubles as a fake k6-runner: started with FAKE_RUNNER=1
// in its environment, it serves what the sidecar relies on (the
// listening line, /api/k6/health, /api/k6/ws) plus /api/k6/echo, which
// says what the proxy forwarded. FAKE_RUNNER=ignore-term ignores SIGTERM;
// FAKE_RUNNER=fail exits at once, as a runner given a bad flag does.
func TestMain(m *testing.M) {
	if mode := os.Getenv("FAKE_RUNNER"); mode != "" {
		os.Exit(fakeRunner(mode))
	}
	os.Exit(m.Run())
}

func fakeRunner(mode string) int {
	if mode == "fail" {
		fmt.Fprintln(os.Stderr, "error: --scripts-dir /nowhere: no such directory")
		return 2
	}
	if mode == "ignore-term" {
		signal.Ignore(syscall.SIGTERM)
	} else {
		terminate := make(chan os.Signal, 1)
		signal.Notify(terminate, syscall.SIGTERM)
		go func() { <-terminate; os.Exit(0) }()
	}
	if len(os.Args) < 4 || os.Args[1] != "serve" || os.Args[2] != "--bind" {
		fmt.Fprintln(os.Stderr, "error: want serve --bind ADDR, got", os.Args[1:])
		return 2
	}
	tokens := strings.Split(os.Getenv("K6_RUNNER_TOKENS"), ":")
	if len(tokens) != 3 || tokens[0] != TokenName || tokens[1] != "operator" || len(tokens[2]) < 32 {
		fmt.Fprintln(os.Stderr, "error: no usable K6_RUNNER_TOKENS")
		return 2
	}
	bearer := "Bearer " + tokens[2]
	listener, err := net.Listen("tcp", os.Args[3])
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 2
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/k6/health", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"service":"k6-runner","ready":true}`))
	})
	mux.HandleFunc("/api/k6/echo", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"authorized": r.Header.Get("Authorization") == bearer,
			"host":       r.Host,
			"origin":     r.Header.Get("Origin"),
			"query":      r.URL.RawQuery,
			"cookie":     r.Header.Get("Cookie"),
		})
	})
	mux.HandleFunc("/api/k6/refuse", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		http.Error(w, `{"error":"the bearer token is not valid"}`, http.StatusUnauthorized)
	})
	mux.HandleFunc("/api/k6/ws", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != bearer {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		conn, err := websocket.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		for _, m := range []string{
			`{"type":"status","data":{"isRunning":false,"currentUserCount":0,"k6Version":"v1.1.0"}}`,
			`{"type":"config","data":{"globalUserCount":5}}`,
			`{"type":"status","data":{"isRunning":true,"currentUserCount":0,"k6Version":"v1.1.0"}}`,
			`{"type":"metrics","data":{"vus":3,"requests":10}}`,
		} {
			_ = conn.WriteMessage(websocket.OpText, []byte(m))
		}
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	})
	fmt.Fprintln(os.Stderr, "2026-11-25T14:01:02.345Z  WARN k6_runner::k6: a warning from the fake runner")
	fmt.Printf("%s%s/ (API under /api/k6)\n", listening, listener.Addr())
	_ = http.Serve(listener, mux)
	return 0
}

// logLines collects what the sidecar logs.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) log(level, msg string, keyvals ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprint(append([]any{level, msg}, keyvals...)...))
}

func (l *logLines) has(part string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, part) {
			return true
		}
	}
	return false
}

func fakeConfig(mode string, logs *logLines) Config {
	return Config{
		Runner:       os.Args[0],
		Env:          []string{"FAKE_RUNNER=" + mode},
		Log:          logs.log,
		ReadyTimeout: 10 * time.Second,
		StopTimeout:  5 * time.Second,
	}
}

func start(t *testing.T, cfg Config) *Sidecar {
	t.Helper()
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// until polls cond every 20 ms for at most 10 s.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func gone(pid int) bool { return syscall.Kill(pid, 0) == syscall.ESRCH }

// The proxy replaces the user's credentials with the runner's token,
// drops ?access_token= and cookies, and passes Host and Origin through;
// a 401 from the runner never reaches the user as a token prompt.
func TestTheProxyCarriesTheTokenAndKeepsHostAndOrigin(t *testing.T) {
	logs := &logLines{}
	s := start(t, fakeConfig("serve", logs))
	front := httptest.NewServer(s.Handler())
	defer front.Close()

	request, _ := http.NewRequest(http.MethodGet, front.URL+"/api/k6/echo?access_token=users-own&x=1", nil)
	request.Host = "cluster.example:9090"
	request.Header.Set("Authorization", "Bearer users-own-token")
	request.Header.Set("Origin", "http://cluster.example:9090")
	request.Header.Set("Cookie", "session=abc")
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	var echo map[string]any
	_ = json.NewDecoder(response.Body).Decode(&echo)
	response.Body.Close()
	want := map[string]any{"authorized": true, "host": "cluster.example:9090",
		"origin": "http://cluster.example:9090", "query": "x=1", "cookie": ""}
	for key, value := range want {
		if echo[key] != value {
			t.Errorf("%s: got %v, want %v (%v)", key, echo[key], value, echo)
		}
	}

	refused, err := http.Get(front.URL + "/api/k6/refuse")
	if err != nil {
		t.Fatal(err)
	}
	refused.Body.Close()
	if refused.StatusCode != http.StatusBadGateway || refused.Header.Get("WWW-Authenticate") != "" {
		t.Fatalf("a runner's 401 became %d %v", refused.StatusCode, refused.Header)
	}
	if !logs.has("a warning from the fake runner") {
		t.Fatalf("the runner's log lines are forwarded: %v", logs.lines)
	}
}

// A WebSocket upgrade goes through the proxy, with the token added.
func TestAWebSocketGoesThroughTheProxy(t *testing.T) {
	s := start(t, fakeConfig("serve", &logLines{}))
	front := httptest.NewServer(s.Handler())
	defer front.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(front.URL, "http")+"/api/k6/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, data, err := conn.ReadMessage()
	if err != nil || !strings.Contains(string(data), `"type":"status"`) {
		t.Fatalf("got %s, %v", data, err)
	}
}

// OnStatus gets each status, with the live readings merged in, and no
// other message.
func TestOnStatusGetsStatusesWithTheirLiveReadings(t *testing.T) {
	var mu sync.Mutex
	var statuses []map[string]any
	cfg := fakeConfig("serve", &logLines{})
	cfg.OnStatus = func(status json.RawMessage) {
		var decoded map[string]any
		_ = json.Unmarshal(status, &decoded)
		mu.Lock()
		statuses = append(statuses, decoded)
		mu.Unlock()
	}
	start(t, cfg)
	until(t, "three statuses", func() bool { mu.Lock(); defer mu.Unlock(); return len(statuses) >= 3 })
	mu.Lock()
	defer mu.Unlock()
	if statuses[0]["isRunning"] != false || statuses[1]["isRunning"] != true {
		t.Fatalf("%v", statuses)
	}
	last := statuses[2]
	if last["currentUserCount"] != float64(3) || last["metrics"].(map[string]any)["requests"] != float64(10) {
		t.Fatalf("the reading is merged into the status: %v", last)
	}
}

// A runner that dies is started again (after a second), on a new port;
// Stop then ends it and leaves no process.
func TestARunnerThatDiesIsStartedAgain(t *testing.T) {
	var mu sync.Mutex
	var phases []string
	cfg := fakeConfig("serve", &logLines{})
	cfg.OnState = func(st State) {
		mu.Lock()
		defer mu.Unlock()
		if len(phases) == 0 || phases[len(phases)-1] != st.Phase {
			phases = append(phases, st.Phase)
		}
	}
	s := start(t, cfg)
	first := s.State()
	if first.Phase != "ready" || !first.Ready || first.PID == 0 || s.Addr() == "" {
		t.Fatalf("%+v %q", first, s.Addr())
	}
	_ = syscall.Kill(first.PID, syscall.SIGKILL)
	until(t, "the restart", func() bool { st := s.State(); return st.Restarts == 1 && st.Phase == "ready" })
	second := s.State()
	if second.PID == first.PID || !strings.Contains(second.LastExit, "killed") {
		t.Fatalf("%+v", second)
	}
	s.Stop()
	if st := s.State(); st.Phase != "stopped" || st.PID != 0 || s.Addr() != "" {
		t.Fatalf("%+v", st)
	}
	if !gone(second.PID) {
		t.Fatalf("runner %d left behind", second.PID)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(phases, ","); got != "starting,ready,restarting,starting,ready,stopping,stopped" {
		t.Fatalf("phases %s", got)
	}
}

// A runner that ignores SIGTERM is SIGKILLed once StopTimeout is over.
func TestStopKillsARunnerThatIgnoresSIGTERM(t *testing.T) {
	logs := &logLines{}
	cfg := fakeConfig("ignore-term", logs)
	cfg.StopTimeout = 300 * time.Millisecond
	s := start(t, cfg)
	pid := s.State().PID
	began := time.Now()
	s.Stop()
	if took := time.Since(began); took > 3*time.Second {
		t.Fatalf("Stop took %v", took)
	}
	if !gone(pid) || !logs.has("killing its process group") {
		t.Fatalf("runner %d: gone %v, logs %v", pid, gone(pid), logs.lines)
	}
}

// A first start that fails is reported with the runner's own words in
// the log, and nothing is retried.
func TestAFirstStartThatFailsIsReported(t *testing.T) {
	logs := &logLines{}
	_, err := Start(fakeConfig("fail", logs))
	if err == nil || !strings.Contains(err.Error(), "did not start") {
		t.Fatalf("got %v", err)
	}
	until(t, "the runner's error in the log", func() bool { return logs.has("no such directory") })
}

// What the sidecar gives itself cannot come from the config.
func TestTheSidecarsOwnSettingsAreRefused(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Runner: "k6-runner", Args: []string{"--bind", "0.0.0.0:80"}},
		{Runner: "k6-runner", Args: []string{"--tokens-file=/etc/tokens"}},
		{Runner: "k6-runner", Env: []string{"K6_RUNNER_TOKENS=a:operator:0123456789abcdef"}},
	} {
		if _, err := Start(cfg); err == nil {
			t.Errorf("%+v was accepted", cfg)
		}
	}
}

func TestRunnerLogLevelsAreRead(t *testing.T) {
	for line, want := range map[string][2]string{
		"2026-11-25T14:01:02.345Z  WARN k6_runner::k6: slow": {"warn", "k6_runner::k6: slow"},
		"2026-11-25T14:01:02.345Z ERROR k6_runner: broken":   {"error", "k6_runner: broken"},
		"error: bad flag": {"error", "error: bad flag"},
	} {
		level, msg := runnerLevel(line)
		if level != want[0] || msg != want[1] {
			t.Errorf("%q: got %s %q", line, level, msg)
		}
	}
}

// startFake starts the fake runner by itself, the way its own supervisor
// (systemd) would, with token; returns it and its address.
func startFake(t *testing.T, token string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--bind", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "FAKE_RUNNER=serve", "K6_RUNNER_TOKENS="+TokenName+":operator:"+token)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return cmd, strings.SplitN(strings.TrimPrefix(line, listening), "/", 2)[0]
}

// Attached to a runner someone else supervises, the sidecar proxies to it
// with the token it was given and follows its status; it notices the
// runner gone, and Stop lets go of a runner without stopping it.
func TestAnAttachedRunnerIsProxiedWatchedAndLeftRunning(t *testing.T) {
	token := strings.Repeat("ab", 20)
	fake, addr := startFake(t, token)
	statuses := make(chan json.RawMessage, 16)
	s := start(t, Config{
		Attach:   addr,
		Token:    token,
		Log:      (&logLines{}).log,
		OnStatus: func(status json.RawMessage) { statuses <- status },
	})
	if st := s.State(); st.Phase != "ready" || !st.Ready || st.PID != 0 {
		t.Fatalf("%+v", st)
	}
	select {
	case <-statuses:
	case <-time.After(5 * time.Second):
		t.Fatal("no status from the attached runner")
	}
	front := httptest.NewServer(s.Handler())
	defer front.Close()
	response, err := http.Get(front.URL + "/api/k6/echo")
	if err != nil {
		t.Fatal(err)
	}
	var echo map[string]any
	_ = json.NewDecoder(response.Body).Decode(&echo)
	response.Body.Close()
	if echo["authorized"] != true {
		t.Fatalf("%v", echo)
	}
	s.Stop()
	if s.State().Phase != "stopped" || syscall.Kill(fake.Process.Pid, 0) != nil {
		t.Fatalf("Stop must leave an attached runner running: %+v", s.State())
	}

	other, otherAddr := startFake(t, token)
	watched := start(t, Config{Attach: otherAddr, Token: token, Log: (&logLines{}).log})
	_ = other.Process.Kill()
	until(t, "the runner seen gone", func() bool { return watched.State().Phase == "unreachable" })
}

// Attach needs the runner's token, and only Attach takes one.
func TestAttachNeedsItsToken(t *testing.T) {
	for _, cfg := range []Config{
		{Attach: "127.0.0.1:1"},
		{Attach: "127.0.0.1:1", Token: "short"},
		{Runner: "k6-runner", Token: strings.Repeat("x", 32)},
	} {
		if _, err := Start(cfg); err == nil {
			t.Errorf("%+v was accepted", cfg)
		}
	}
}

func TestTheOperatorSecretIsReadFromATokensFile(t *testing.T) {
	text := "# tokens\nci:viewer:viewer-secret-0123456789\ncluster-manager:operator:op:secret-0123456789 \n"
	if got, err := OperatorSecret(text, TokenName); err != nil || got != "op:secret-0123456789" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := OperatorSecret(text, "ci"); err == nil {
		t.Fatal("a viewer's token was taken")
	}
	if _, err := OperatorSecret("# none\n", TokenName); err == nil {
		t.Fatal("no token, no secret")
	}
}
