package k6sidecar

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"vudatasim.example/clustermanager/websocket"
)

// How long a lost connection to the runner's WebSocket waits before it
// is opened again: doubling from the first to the last.
const (
	followRetryFirst = 200 * time.Millisecond
	followRetryMax   = 5 * time.Second
	dialTimeout      = 10 * time.Second
)

// follow keeps a WebSocket to the runner at addr open until ctx ends and
// hands every status change to Config.OnStatus.
func (s *Sidecar) follow(ctx context.Context, addr string) {
	retry := followRetryFirst
	for {
		err := s.followOnce(ctx, addr)
		if ctx.Err() != nil {
			return
		}
		s.cfg.Log("warn", "lost the k6 runner's WebSocket; opening it again", "error", err.Error(), "in", retry.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
		if retry *= 2; retry > followRetryMax {
			retry = followRetryMax
		}
	}
}

// message is one message of the runner's WebSocket.
type message struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// followOnce reads the runner's WebSocket until it or ctx ends. The
// runner sends its status on connect and on every change, and a metrics
// reading every second of a k6 step, which it also keeps in its status
// (`metrics`, and `currentUserCount` from its `vus`); both are merged
// here, so OnStatus always gets what GET /api/k6/status would answer.
func (s *Sidecar) followOnce(ctx context.Context, addr string) error {
	dialing, cancel := context.WithTimeout(ctx, dialTimeout)
	conn, _, err := websocket.Dial(dialing, "ws://"+addr+"/api/k6/ws",
		http.Header{"Authorization": {"Bearer " + s.token}})
	cancel()
	if err != nil {
		return err
	}
	ended := make(chan struct{})
	defer close(ended)
	go func() {
		select {
		case <-ctx.Done():
			_ = conn.CloseWith(websocket.CloseGoingAway, "the host is done with this runner")
		case <-ended:
			_ = conn.CloseWith(websocket.CloseNormal, "")
		}
	}()
	var status map[string]json.RawMessage
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return err
		}
		var m message
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		switch m.Type {
		case "status":
			var next map[string]json.RawMessage
			if json.Unmarshal(m.Data, &next) != nil {
				continue
			}
			status = next
		case "metrics":
			if status == nil {
				continue
			}
			var point struct {
				VUs json.RawMessage `json:"vus"`
			}
			_ = json.Unmarshal(m.Data, &point)
			status["metrics"] = m.Data
			if point.VUs != nil {
				status["currentUserCount"] = point.VUs
			}
		default: // log lines and configs: not part of the status
			continue
		}
		encoded, err := json.Marshal(status)
		if err != nil {
			continue
		}
		if version, ok := status["k6Version"]; ok {
			ready := string(version) != "null"
			s.update(func(st *State) {
				if st.Phase == "ready" && st.Ready != ready {
					st.Ready = ready
					st.Reason = map[bool]string{true: "", false: "k6 is not usable (see the runner's log)"}[ready]
				}
			})
		}
		if s.cfg.OnStatus != nil {
			s.cfg.OnStatus(encoded)
		}
	}
}
