package k6sidecar

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httputil"
)

// addrKey carries the runner's address from Handler to the proxy's
// Director, so one request goes to one runner even across a restart.
type addrKey struct{}

// errTokenRefused is what the proxy makes of a 401 from the runner.
var errTokenRefused = errors.New("the k6 runner refused the host's token")

// Handler is the runner's API, WebSocket and web page, proxied with the
// host's token. The runner serves the API under /api/k6/ and the page at
// /, and the page calls the API relative to itself (api/k6/...), so:
//
//	mux.Handle("/api/k6/", k6.Handler())                  // the API, paths unchanged
//	mux.Handle("/k6/", http.StripPrefix("/k6", k6.Handler())) // the page at /k6/, its API at /k6/api/k6/
//
// Put the host's own auth in front of both: behind this handler every
// caller is the runner's operator. While the runner is restarting, the
// answer is 503 with the runner's error shape ({"error": "..."}), which
// the page shows.
func (s *Sidecar) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := s.Addr()
		if addr == "" {
			writeError(w, http.StatusServiceUnavailable, "the k6 runner is (re)starting; try again in a moment")
			return
		}
		s.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), addrKey{}, addr)))
	})
}

func (s *Sidecar) newProxy() *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Director: func(r *http.Request) {
			r.URL.Scheme = "http"
			r.URL.Host, _ = r.Context().Value(addrKey{}).(string)
			// r.Host stays as the user sent it, and Origin too: the
			// runner's same-origin check compares the two (package doc).
			r.Header.Set("Authorization", "Bearer "+s.token)
			if query := r.URL.Query(); query.Has("access_token") {
				query.Del("access_token")
				r.URL.RawQuery = query.Encode()
			}
			// The host's session cookies are none of the runner's business.
			r.Header.Del("Cookie")
			if _, ok := r.Header["User-Agent"]; !ok {
				r.Header.Set("User-Agent", "") // not Go's default
			}
		},
		ModifyResponse: func(response *http.Response) error {
			// A 401 would make the page ask the user for a token they
			// must never need: it means host and runner disagree.
			if response.StatusCode == http.StatusUnauthorized {
				return errTokenRefused
			}
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return // the user went away
			}
			s.cfg.Log("error", "proxying to the k6 runner failed", "path", r.URL.Path, "error", err.Error())
			if errors.Is(err, errTokenRefused) {
				writeError(w, http.StatusBadGateway, "the k6 runner refused the host's credentials")
				return
			}
			writeError(w, http.StatusServiceUnavailable, "the k6 runner cannot be reached right now; try again in a moment")
		},
	}
}

// writeError answers in the runner's error shape.
func writeError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": message})
}
