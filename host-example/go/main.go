// Command clustermanager is a small vuDataSim-style cluster manager in Go
// — its own AppState, an EPS simulation, its own routes, /ws, logger and
// auth — with the k6 control plane running beside it as a supervised
// `k6-runner serve` child: the k6 API at /api/k6/, the k6 page at /k6/,
// and the k6 status inside the host's own AppState and /ws.
//
// The integration is the block marked "k6" in main, plus the k6sidecar
// and websocket packages (standard library only; Go 1.19).
//
//	go build -o clustermanager . && ./clustermanager -runner ../../target/debug/k6-runner \
//	    -scripts-dir ../../examples/scripts -k6 ../../.tools/k6/bin/k6
//
// Set CLUSTER_MANAGER_TOKEN (16+ bytes) to require it on every route;
// without it the host listens on loopback only. With -k6-attach ADDR and
// -k6-tokens-file FILE it uses a runner that its own systemd unit runs
// (contrib/systemd/k6-runner.service) instead of starting one.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"vudatasim.example/clustermanager/k6sidecar"
)

// tokenEnv holds the host's own token: not a flag, since every local user
// can read a command line.
const tokenEnv = "CLUSTER_MANAGER_TOKEN"

// list is a repeatable flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	bind := flag.String("bind", "127.0.0.1:9090", "address to listen on")
	logFile := flag.String("log-file", "logs/vuDataSim.log", "log file (the console gets the same lines)")
	runner := flag.String("runner", "k6-runner", "the k6-runner binary")
	k6Bin := flag.String("k6", "", "the k6 binary (default: k6 on the runner's PATH)")
	k6Data := flag.String("k6-data", "k6-runner-data", "the k6 runner's data directory")
	attach := flag.String("k6-attach", "", "use the k6 runner at this address, supervised by someone else (systemd), instead of starting one")
	tokensFile := flag.String("k6-tokens-file", "", "with -k6-attach: that runner's tokens file; the host uses its "+k6sidecar.TokenName+" operator token")
	var scriptDirs, origins, runnerArgs list
	flag.Var(&scriptDirs, "scripts-dir", "a directory of k6 scripts (repeatable)")
	flag.Var(&runnerArgs, "k6-arg", "one more argument for `k6-runner serve`, e.g. -k6-arg=--max-users=50 (repeatable)")
	flag.Var(&origins, "cors-origin", "an origin whose pages may call the host's own API (repeatable)")
	flag.Parse()

	logger, err := NewLogger(*logFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error: opening the log file:", err)
		os.Exit(1)
	}
	fail := func(msg string, keyvals ...any) {
		logger.Log("fatal", msg, keyvals...)
		os.Exit(1)
	}
	token := os.Getenv(tokenEnv)
	os.Unsetenv(tokenEnv) // no child process needs the host's token
	if token != "" && len(token) < 16 {
		fail(tokenEnv + " must be at least 16 bytes")
	}
	if token == "" && !loopbackName(*bind) {
		fail("refusing to listen beyond loopback without a token: set "+tokenEnv+" or bind 127.0.0.1", "bind", *bind)
	}
	if len(scriptDirs) == 0 && *attach == "" {
		fail("give at least one -scripts-dir (or -k6-attach)")
	}
	attachToken := ""
	if *attach != "" {
		text, err := os.ReadFile(*tokensFile)
		if err != nil {
			fail("-k6-attach needs the runner's tokens file (-k6-tokens-file)", "error", err.Error())
		}
		if attachToken, err = k6sidecar.OperatorSecret(string(text), k6sidecar.TokenName); err != nil {
			fail("reading -k6-tokens-file", "error", err.Error())
		}
	}
	allowed := map[string]bool{}
	for _, origin := range origins {
		allowed[origin] = true
	}
	app := NewApp()
	mux := routes(app, allowed)

	// --- k6: the integration ------------------------------------------
	// 1. Run the k6 control plane as a supervised child on a loopback
	//    port, with a token only this process knows.
	args := []string{"--data-dir", *k6Data}
	for _, dir := range scriptDirs {
		args = append(args, "--scripts-dir", dir)
	}
	if *k6Bin != "" {
		args = append(args, "--k6", *k6Bin)
	}
	args = append(args, runnerArgs...)
	k6, err := k6sidecar.Start(k6sidecar.Config{
		Runner: *runner,
		Args:   args,
		Log:    logger.Log,
		// 2. Its status (and the process's state) into our AppState,
		//    which our /ws broadcasts.
		OnStatus: func(status json.RawMessage) { app.Update(func(s *AppState) { s.K6 = status }) },
		OnState:  func(st k6sidecar.State) { app.Update(func(s *AppState) { s.K6Runner = st }) },
		// Or use a runner its own systemd unit supervises:
		Attach: *attach,
		Token:  attachToken,
	})
	if err != nil {
		fail("starting the k6 control plane", "error", err.Error())
	}
	// 3. Its API and WebSocket at /api/k6/, its page at /k6/ (which calls
	//    /k6/api/k6/...), behind our own auth and logging below.
	mux.Handle("/api/k6/", k6.Handler())
	mux.Handle("/k6/", http.StripPrefix("/k6", k6.Handler()))
	// 4. k6.Stop() at shutdown, below: it stops any run, no k6 is left.
	// -------------------------------------------------------------------

	listener, err := net.Listen("tcp", *bind)
	if err != nil {
		k6.Stop()
		fail("listening", "bind", *bind, "error", err.Error())
	}
	server := &http.Server{
		Handler:           logging(logger, cors(allowed, guard(token, mux))),
		ReadHeaderTimeout: 10 * time.Second,
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	go app.Simulate(ctx)
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()
	logger.Log("info", "cluster manager listening", "addr", listener.Addr().String())
	// On stdout, for people and for scripts that bind port 0.
	fmt.Printf("cluster manager listening on http://%s/\n", listener.Addr())

	select {
	case <-ctx.Done():
	case err := <-served:
		logger.Log("error", "serving failed", "error", err.Error())
	}
	logger.Log("info", "shutting down: the host's routes, then the k6 runner")
	stopping, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	if err := server.Shutdown(stopping); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		logger.Log("warn", "closing the server", "error", err.Error())
	}
	app.CloseClients()
	k6.Stop()
	logger.Log("info", "stopped")
}
