package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A client that takes nothing holds only the newest state: publishing
// never waits for it.
func TestASlowClientOnlyEverHoldsTheNewestState(t *testing.T) {
	app := NewApp()
	updates, unsubscribe := app.Subscribe()
	defer unsubscribe()
	for eps := 1; eps <= 100; eps++ {
		if err := app.StartSimulation("custom", eps); err != nil {
			t.Fatal(err)
		}
	}
	var state AppState
	if err := json.Unmarshal(<-updates, &state); err != nil {
		t.Fatal(err)
	}
	if state.TargetEPS != 100 || !state.SimulationRunning {
		t.Fatalf("%+v", state)
	}
	select {
	case extra := <-updates:
		t.Fatalf("an older state was kept: %s", extra)
	default:
	}
}

// Events are the rate times the time, shared out over the nodes.
func TestTheSimulationCountsEventsAtItsRate(t *testing.T) {
	app := NewApp()
	if err := app.StartSimulation("low", Profiles["low"]); err != nil {
		t.Fatal(err)
	}
	app.mu.Lock()
	app.since = time.Now().Add(-2 * time.Second)
	app.catchUpLocked(time.Now())
	app.layOut()
	state := app.state
	app.mu.Unlock()
	if state.EventsGenerated < 2000 || state.EventsGenerated > 2100 {
		t.Fatalf("2 s at 1000 EPS made %d events", state.EventsGenerated)
	}
	total := 0
	for _, node := range state.NodeData {
		total += node.EPS
	}
	if total != 1000 || state.ClickHouseMetrics.InsertRate != 1000 {
		t.Fatalf("%+v", state)
	}
	if err := app.StartSimulation("custom", 0); err == nil {
		t.Fatal("0 EPS was accepted")
	}
}

func TestLoopbackNamesAndOrigins(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:9090": true, "localhost": true, "LOCALHOST.:80": true, "app.localhost:1": true,
		"[::1]:9090": true, "evil.example:9090": false, "127.0.0.1.evil.example": false, "0.0.0.0:9090": false, "": false,
	} {
		if loopbackName(host) != want {
			t.Errorf("%q: want %v", host, want)
		}
	}
	if !sameOrigin("http://cluster:9090", "cluster:9090") || sameOrigin("http://evil", "cluster:9090") {
		t.Error("sameOrigin")
	}
}

// With a token, the host's routes and the k6 ones need it (a WebSocket
// may carry it in the query), the static pages do not; refusals speak
// the shape of their route.
func TestTheGuardWantsTheTokenOnEveryDataRoute(t *testing.T) {
	const token = "cluster-manager-token-0123"
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	handler := guard(token, ok)
	for _, tc := range []struct {
		path, auth string
		upgrade    bool
		want       int
	}{
		{"/api/state", "", false, 401},
		{"/api/state", "Bearer " + token, false, 200},
		{"/api/state", "bearer  " + token + " ", false, 200},
		{"/api/state", "Bearer wrong-token-0123456789", false, 401},
		{"/api/state?access_token=" + token, "", false, 401},
		{"/ws?access_token=" + token, "", true, 200},
		{"/api/k6/status", "", false, 401},
		{"/k6/api/k6/status", "Bearer " + token, false, 200},
		{"/", "", false, 200},
		{"/k6/", "", false, 200},
		{"/k6/assets/app.js", "", false, 200},
	} {
		request := httptest.NewRequest(http.MethodGet, "http://cluster.example:9090"+tc.path, nil)
		if tc.auth != "" {
			request.Header.Set("Authorization", tc.auth)
		}
		if tc.upgrade {
			request.Header.Set("Connection", "Upgrade")
			request.Header.Set("Upgrade", "websocket")
		}
		recorder := httptest.NewRecorder()
		handler.ServeHTTP(recorder, request)
		if recorder.Code != tc.want {
			t.Errorf("%s %q: got %d, want %d", tc.path, tc.auth, recorder.Code, tc.want)
		}
		body := recorder.Body.String()
		if tc.want == 401 && strings.HasPrefix(tc.path, "/api/k6/") != strings.Contains(body, `"error"`) {
			t.Errorf("%s: refusal in the wrong shape: %s", tc.path, body)
		}
	}
	open := guard("", ok)
	for host, want := range map[string]int{"localhost:9090": 200, "evil.example:9090": 403} {
		request := httptest.NewRequest(http.MethodGet, "http://"+host+"/api/state", nil)
		recorder := httptest.NewRecorder()
		open.ServeHTTP(recorder, request)
		if recorder.Code != want {
			t.Errorf("without a token, Host %s: got %d", host, recorder.Code)
		}
	}
}
