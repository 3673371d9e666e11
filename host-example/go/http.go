package main

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"vudatasim.example/clustermanager/websocket"
)

// maxBodyBytes bounds the host's own request bodies.
const maxBodyBytes = 4096

// Response is the shape of every answer of the host's own routes.
type Response struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func respond(w http.ResponseWriter, status int, message string, data any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Response{Success: status < 400, Message: message, Data: data})
}

// isK6 reports whether path is one of the k6 control plane's (proxied).
func isK6(path string) bool {
	return strings.HasPrefix(path, "/api/k6/") || path == "/k6" || strings.HasPrefix(path, "/k6/")
}

// refuse answers a refused request in the shape its route speaks: the
// k6 routes' {"error": ...} (the k6 page shows it), the host's envelope
// elsewhere.
func refuse(w http.ResponseWriter, r *http.Request, status int, message string) {
	if isK6(r.URL.Path) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": message})
		return
	}
	respond(w, status, message, nil)
}

// routes are the host's own routes; main adds the k6 ones.
func routes(app *App, allowedOrigins map[string]bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/state", only(http.MethodGet, func(w http.ResponseWriter, r *http.Request) {
		respond(w, http.StatusOK, "", app.Snapshot())
	}))
	mux.HandleFunc("/api/simulation/start", only(http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Profile   string `json:"profile"`
			TargetEPS *int   `json:"targetEps"`
		}
		if status, err := readJSON(r, &body); err != nil {
			respond(w, status, err.Error(), nil)
			return
		}
		if body.Profile == "" {
			body.Profile = "medium"
		}
		eps, known := Profiles[body.Profile]
		if !known && body.TargetEPS == nil {
			respond(w, http.StatusUnprocessableEntity, "profile must be low, medium or high (or give targetEps), got "+body.Profile, nil)
			return
		}
		if body.TargetEPS != nil {
			eps = *body.TargetEPS
		}
		if err := app.StartSimulation(body.Profile, eps); err != nil {
			respond(w, http.StatusUnprocessableEntity, err.Error(), nil)
			return
		}
		respond(w, http.StatusOK, "simulation started", app.Snapshot())
	}))
	mux.HandleFunc("/api/simulation/stop", only(http.MethodPost, func(w http.ResponseWriter, r *http.Request) {
		app.StopSimulation()
		respond(w, http.StatusOK, "simulation stopped", app.Snapshot())
	}))
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		serveWS(app, allowedOrigins, w, r)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			respond(w, http.StatusNotFound, "no such route", nil)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'")
		_, _ = io.WriteString(w, indexHTML)
	})
	return mux
}

const indexHTML = `<!doctype html>
<html lang="en"><meta charset="utf-8"><title>vuDataSim cluster manager</title>
<h1>vuDataSim cluster manager</h1>
<ul>
<li><a href="k6/">k6 control plane</a> (the runner's page, served through this host)</li>
<li><code>GET /api/state</code>: the cluster state, k6 included</li>
<li><code>GET /ws</code>: the same, pushed on every change</li>
</ul>
</html>
`

// only lets method through (and answers 405 to the rest).
func only(method string, handler http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			respond(w, http.StatusMethodNotAllowed, "this route takes "+method, nil)
			return
		}
		handler(w, r)
	}
}

// readJSON decodes a small JSON body into v: an empty body leaves v
// alone; anything else must say it is JSON, fit maxBodyBytes and hold only
// known fields. The status says what was wrong.
func readJSON(r *http.Request, v any) (int, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return http.StatusBadRequest, err
	}
	if len(body) > maxBodyBytes {
		return http.StatusRequestEntityTooLarge, errors.New("the body is over 4096 bytes")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return 0, nil
	}
	if media, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); media != "application/json" {
		return http.StatusUnsupportedMediaType, errors.New("the body must be JSON sent with Content-Type: application/json")
	}
	decoder := json.NewDecoder(strings.NewReader(string(body)))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(v); err != nil {
		return http.StatusBadRequest, errors.New("the body is not a valid request: " + err.Error())
	}
	return 0, nil
}

// serveWS sends the whole state on connect and on every change. A
// browser's handshake must come from this host's own origin or an
// allowed one (a foreign page must not read the cluster through a
// user's browser).
func serveWS(app *App, allowedOrigins map[string]bool, w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r.Host) && !allowedOrigins[origin] {
		respond(w, http.StatusForbidden, "cross-origin WebSocket refused: "+origin, nil)
		return
	}
	conn, err := websocket.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	updates, unsubscribe := app.Subscribe()
	defer unsubscribe()
	gone := make(chan struct{})
	go func() { // reads only to answer pings and notice the close
		defer close(gone)
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	for {
		select {
		case <-gone:
			return
		case state, open := <-updates:
			if !open {
				_ = conn.CloseWith(websocket.CloseGoingAway, "the cluster manager is shutting down")
				return
			}
			_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := conn.WriteMessage(websocket.OpText, state); err != nil {
				_ = conn.CloseWith(websocket.CloseGoingAway, "too slow")
				return
			}
		}
	}
}

func sameOrigin(origin, host string) bool {
	for _, scheme := range []string{"http://", "https://"} {
		if strings.EqualFold(origin, scheme+host) {
			return true
		}
	}
	return false
}

// --- middleware ---

// statusWriter remembers the status for the access log. It passes
// Hijack and Flush through: the proxied k6 WebSocket needs them.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(status int) {
	if s.status == 0 {
		s.status = status
	}
	s.ResponseWriter.WriteHeader(status)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hijacker, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("this connection cannot be taken over")
	}
	if s.status == 0 {
		s.status = http.StatusSwitchingProtocols
	}
	return hijacker.Hijack()
}

func (s *statusWriter) Flush() {
	if flusher, ok := s.ResponseWriter.(http.Flusher); ok {
		flusher.Flush()
	}
}

// logging writes one access-log line per request.
func logging(log *Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		log.Log("info", "request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"durationMs", float64(time.Since(began).Microseconds())/1000)
	})
}

// cors lets the pages of the allowed origins call the host's own API. The
// k6 routes are left out on purpose: the runner refuses control requests
// from any origin but the one it is reached by, so another origin must go
// through the host's own routes.
func cors(allowed map[string]bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && allowed[origin] && !isK6(r.URL.Path) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// guard is the host's own auth. With a token, every route needs it
// (Authorization: Bearer; a WebSocket handshake may carry it as
// ?access_token=, as browsers cannot set its headers) except the static
// pages, which hold no data. Without one, the host trusts loopback callers
// and so answers only requests addressed to a loopback name: a foreign
// page whose name was made to resolve to 127.0.0.1 (DNS rebinding) is
// refused. The runner behind the proxy does neither for the host's
// users: it trusts whoever holds the host's token, that is, this host.
func guard(token string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token == "" {
			if !loopbackName(r.Host) {
				refuse(w, r, http.StatusForbidden, "this cluster manager has no token, so it answers only requests "+
					"addressed to a loopback name (localhost, 127.0.0.1, [::1])")
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if staticPage(r) {
			next.ServeHTTP(w, r)
			return
		}
		presented := ""
		if scheme, secret, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " "); ok && strings.EqualFold(scheme, "bearer") {
			presented = strings.TrimSpace(secret)
		} else if websocket.IsUpgrade(r) {
			presented = r.URL.Query().Get("access_token")
		}
		got := sha256.Sum256([]byte(presented))
		if presented == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cluster-manager"`)
			refuse(w, r, http.StatusUnauthorized, "this cluster manager needs its token: Authorization: Bearer <token>")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// staticPage: the host's index and the k6 page with its assets (GET or
// HEAD), which hold no data; everything they show comes from the API.
func staticPage(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	p := r.URL.Path
	return p == "/" || p == "/k6" || p == "/k6/" || strings.HasPrefix(p, "/k6/assets/")
}

// loopbackName: localhost, *.localhost or a loopback address, with or
// without a port.
func loopbackName(host string) bool {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	name = strings.ToLower(strings.TrimSuffix(strings.Trim(name, "[]"), "."))
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true
	}
	ip := net.ParseIP(name)
	return ip != nil && ip.IsLoopback()
}
