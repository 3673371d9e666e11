package k6sidecar

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// healthEvery is how often an attached runner's health is checked.
const healthEvery = 2 * time.Second

// watch serves an attached runner (Config.Attach): waits for its first
// health answer (at most ReadyTimeout; its outcome goes to first), then
// proxies to it and follows its status until Stop, checking its health
// every healthEvery. Whoever supervises it restarts it; the sidecar
// notices it gone ("unreachable") and back ("ready").
func (s *Sidecar) watch(first chan<- error) {
	defer close(s.done)
	addr := s.cfg.Attach
	s.update(func(st *State) { st.Phase = "starting" })
	deadline := time.NewTimer(s.cfg.ReadyTimeout)
	defer deadline.Stop()
	h, err := s.health(addr)
	for err != nil {
		select {
		case <-time.After(pollEvery):
		case <-deadline.C:
			s.update(func(st *State) { *st = State{Phase: "stopped", LastExit: err.Error()} })
			first <- fmt.Errorf("k6sidecar: the runner at %s is not answering: %w", addr, err)
			return
		case <-s.stop:
			s.update(func(st *State) { st.Phase = "stopped" })
			first <- errors.New("k6sidecar: stopped before the runner was ready")
			return
		}
		h, err = s.health(addr)
	}
	s.mu.Lock()
	s.addr = addr
	s.mu.Unlock()
	s.update(func(st *State) { st.Phase, st.Ready, st.Reason = "ready", h.Ready, h.Reason })
	s.cfg.Log("info", "attached to the k6 runner", "addr", addr, "ready", h.Ready)
	first <- nil

	ctx, cancel := context.WithCancel(context.Background())
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		s.follow(ctx, addr)
	}()
	tick := time.NewTicker(healthEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			cancel()
			<-followed
			s.mu.Lock()
			s.addr = ""
			s.mu.Unlock()
			s.update(func(st *State) { *st = State{Phase: "stopped", Restarts: st.Restarts} })
			return
		case <-tick.C:
			h, err := s.health(addr)
			s.update(func(st *State) {
				switch {
				case err != nil:
					st.Phase, st.Ready, st.Reason = "unreachable", false, err.Error()
				default:
					if st.Phase == "unreachable" {
						st.Restarts++ // it came back: restarted by its supervisor
					}
					st.Phase, st.Ready, st.Reason = "ready", h.Ready, h.Reason
				}
			})
		}
	}
}

// OperatorSecret is the secret of the token called name in a runner's
// tokens file (text: one `name:role:secret` per line or comma, `#`
// comments), which must have the operator role: how a host finds the
// token of a runner it attaches to in the file that runner reads.
func OperatorSecret(text, name string) (string, error) {
	for _, item := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ',' }) {
		item = strings.TrimSpace(item)
		if item == "" || strings.HasPrefix(item, "#") {
			continue
		}
		parts := strings.SplitN(item, ":", 3)
		if len(parts) != 3 || strings.TrimSpace(parts[0]) != name {
			continue
		}
		if strings.TrimSpace(parts[1]) != "operator" {
			return "", fmt.Errorf("the token %q is a %s; the host needs an operator", name, strings.TrimSpace(parts[1]))
		}
		return strings.TrimSpace(parts[2]), nil
	}
	return "", fmt.Errorf("no token called %q", name)
}
