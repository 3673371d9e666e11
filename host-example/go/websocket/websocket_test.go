package websocket

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// echoServer answers every message with the same message, and reports
// how each connection ended on ended.
func echoServer(t *testing.T, limit int64) (url string, ended chan error) {
	t.Helper()
	ended = make(chan error, 8)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := Upgrade(w, r, http.Header{"X-Test": {"yes"}})
		if err != nil {
			return
		}
		conn.MaxMessageBytes = limit
		for {
			op, data, err := conn.ReadMessage()
			if err != nil {
				ended <- err
				return
			}
			if err := conn.WriteMessage(op, data); err != nil {
				ended <- err
				return
			}
		}
	}))
	t.Cleanup(server.Close)
	return "ws" + strings.TrimPrefix(server.URL, "http"), ended
}

func dial(t *testing.T, url string) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, response, err := Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	if response.Header.Get("X-Test") != "yes" {
		t.Fatalf("the server's extra header is missing: %v", response.Header)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	return conn
}

func closeCode(t *testing.T, err error) int {
	t.Helper()
	var closed *CloseError
	if !errors.As(err, &closed) {
		t.Fatalf("want a close, got %v", err)
	}
	return closed.Code
}

func ended(t *testing.T, ch chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("the server side did not end")
		return nil
	}
}

// The RFC's own example of the handshake (RFC 6455 §1.3).
func TestAcceptKeyIsTheRFCExample(t *testing.T) {
	if got := AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("got %s", got)
	}
}

// Messages of every length encoding (7-bit, 16-bit, 64-bit) come back
// whole, text and binary, masked one way and unmasked the other.
func TestMessagesOfEveryLengthRoundTrip(t *testing.T) {
	url, _ := echoServer(t, 0)
	conn := dial(t, url)
	defer conn.conn.Close()
	for _, size := range []int{0, 1, 125, 126, 65535, 65536, 1 << 20} {
		for _, op := range []byte{OpText, OpBinary} {
			sent := bytes.Repeat([]byte("k6"), size/2+1)[:size]
			if err := conn.WriteMessage(op, sent); err != nil {
				t.Fatal(err)
			}
			gotOp, got, err := conn.ReadMessage()
			if err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
			if gotOp != op || !bytes.Equal(got, sent) {
				t.Fatalf("size %d op %d: got op %d, %d bytes", size, op, gotOp, len(got))
			}
		}
	}
}

// A fragmented message with a ping between its fragments is joined, and
// the ping is answered with a pong carrying its payload, first.
func TestFragmentsAreJoinedAndPingsBetweenThemAnswered(t *testing.T) {
	url, _ := echoServer(t, 0)
	conn := dial(t, url)
	defer conn.conn.Close()
	for _, step := range []struct {
		fin     bool
		op      byte
		payload string
	}{{false, OpText, "Hel"}, {true, OpPing, "are you there"}, {false, OpContinuation, "lo, "}, {true, OpContinuation, "k6"}} {
		if err := conn.writeRaw(step.fin, step.op, []byte(step.payload)); err != nil {
			t.Fatal(err)
		}
	}
	pong, err := conn.readFrame(1 << 20)
	if err != nil || pong.op != OpPong || string(pong.payload) != "are you there" {
		t.Fatalf("want the pong first, got %+v, %v", pong, err)
	}
	op, data, err := conn.ReadMessage()
	if err != nil || op != OpText || string(data) != "Hello, k6" {
		t.Fatalf("got %d %q %v", op, data, err)
	}
}

// The client's pings are answered by ReadMessage itself, which skips the
// pongs it gets and returns only messages.
func TestReadMessageSkipsPongs(t *testing.T) {
	url, _ := echoServer(t, 0)
	conn := dial(t, url)
	defer conn.conn.Close()
	if err := conn.WritePing([]byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := conn.WriteMessage(OpText, []byte("after the ping")); err != nil {
		t.Fatal(err)
	}
	if _, data, err := conn.ReadMessage(); err != nil || string(data) != "after the ping" {
		t.Fatalf("got %q %v", data, err)
	}
}

// A normal close is answered: both sides see 1000, and Close returns as
// soon as the answer is in (well before its one-second bound).
func TestTheClosingHandshakeCompletes(t *testing.T) {
	url, serverEnded := echoServer(t, 0)
	conn := dial(t, url)
	read := make(chan error, 1)
	go func() {
		_, _, err := conn.ReadMessage()
		read <- err
	}()
	began := time.Now()
	if err := conn.CloseWith(CloseGoingAway, "bye"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 900*time.Millisecond {
		t.Fatalf("Close waited %v: the answer did not arrive", took)
	}
	var closed *CloseError
	if err := ended(t, serverEnded); !errors.As(err, &closed) || closed.Code != CloseGoingAway || closed.Reason != "bye" {
		t.Fatalf("server saw %v", err)
	}
	if code := closeCode(t, <-read); code != CloseGoingAway {
		t.Fatalf("client saw the answer %d", code)
	}
	if err := conn.WriteMessage(OpText, []byte("late")); err != ErrClosed {
		t.Fatalf("a write after close: %v", err)
	}
}

// Each rule the peer breaks fails the connection with its status code.
func TestBrokenRulesFailTheConnection(t *testing.T) {
	cases := []struct {
		name string
		send func(c *Conn) error
		code int
	}{
		{"unmasked client frame", func(c *Conn) error {
			c.client = false
			defer func() { c.client = true }()
			return c.writeRaw(true, OpText, []byte("plain"))
		}, CloseProtocolError},
		{"text that is not UTF-8", func(c *Conn) error { return c.writeRaw(true, OpText, []byte{0xff, 0xfe}) }, CloseInvalidPayload},
		{"message over the limit", func(c *Conn) error { return c.writeRaw(true, OpBinary, make([]byte, 2048)) }, CloseMessageTooBig},
		{"fragments over the limit", func(c *Conn) error {
			if err := c.writeRaw(false, OpBinary, make([]byte, 700)); err != nil {
				return err
			}
			return c.writeRaw(true, OpContinuation, make([]byte, 700))
		}, CloseMessageTooBig},
		{"control frame over 125 bytes", func(c *Conn) error { return c.writeRaw(true, OpPing, make([]byte, 126)) }, CloseProtocolError},
		{"fragmented control frame", func(c *Conn) error { return c.writeRaw(false, OpPing, []byte("x")) }, CloseProtocolError},
		{"continuation without a message", func(c *Conn) error { return c.writeRaw(true, OpContinuation, []byte("x")) }, CloseProtocolError},
		{"new message inside a fragmented one", func(c *Conn) error {
			if err := c.writeRaw(false, OpText, []byte("a")); err != nil {
				return err
			}
			return c.writeRaw(true, OpText, []byte("b"))
		}, CloseProtocolError},
		{"unknown opcode", func(c *Conn) error { return c.writeRaw(true, 0x3, nil) }, CloseProtocolError},
		{"reserved close code", func(c *Conn) error { return c.writeRaw(true, OpClose, closePayload(1005, "")) }, CloseProtocolError},
		{"one-byte close body", func(c *Conn) error { return c.writeRaw(true, OpClose, []byte{3}) }, CloseProtocolError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url, serverEnded := echoServer(t, 1024)
			conn := dial(t, url)
			defer conn.conn.Close()
			if err := tc.send(conn); err != nil {
				t.Fatal(err)
			}
			if code := closeCode(t, ended(t, serverEnded)); code != tc.code {
				t.Fatalf("server failed with %d, want %d", code, tc.code)
			}
			_, _, err := conn.ReadMessage()
			if code := closeCode(t, err); code != tc.code {
				t.Fatalf("client was told %d, want %d", code, tc.code)
			}
		})
	}
}

// A frame with reserved bits set (no extension was agreed) fails the
// connection.
func TestReservedBitsFailTheConnection(t *testing.T) {
	url, serverEnded := echoServer(t, 0)
	conn := dial(t, url)
	defer conn.conn.Close()
	// FIN + RSV1 + text, masked, empty.
	if _, err := conn.conn.Write([]byte{0xC1, 0x80, 1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	if code := closeCode(t, ended(t, serverEnded)); code != CloseProtocolError {
		t.Fatalf("got %d", code)
	}
}

// A client rejects a server that masks its frames.
func TestTheClientRefusesMaskedServerFrames(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := Upgrade(w, r, http.Header{"X-Test": {"yes"}})
		if err != nil {
			return
		}
		conn.client = true // masks, like a client would
		_ = conn.WriteMessage(OpText, []byte("masked"))
		_, _, _ = conn.ReadMessage()
	}))
	defer server.Close()
	conn := dial(t, "ws"+strings.TrimPrefix(server.URL, "http"))
	defer conn.conn.Close()
	_, _, err := conn.ReadMessage()
	if code := closeCode(t, err); code != CloseProtocolError {
		t.Fatalf("got %d", code)
	}
}

// Requests that are no valid handshake are refused with the right status,
// and a server that does not switch protocols is an ErrBadHandshake with
// its answer.
func TestBadHandshakesAreRefused(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/plain" {
			http.Error(w, "no WebSocket here", http.StatusForbidden)
			return
		}
		_, _ = Upgrade(w, r, nil)
	}))
	defer server.Close()
	good := func() http.Header {
		return http.Header{
			"Connection":            {"keep-alive, Upgrade"},
			"Upgrade":               {"websocket"},
			"Sec-Websocket-Version": {"13"},
			"Sec-Websocket-Key":     {"dGhlIHNhbXBsZSBub25jZQ=="},
		}
	}
	for _, tc := range []struct {
		name   string
		method string
		change func(http.Header)
		want   int
	}{
		{"POST", http.MethodPost, func(http.Header) {}, http.StatusMethodNotAllowed},
		{"no upgrade", http.MethodGet, func(h http.Header) { h.Del("Upgrade") }, http.StatusBadRequest},
		{"version 8", http.MethodGet, func(h http.Header) { h.Set("Sec-Websocket-Version", "8") }, http.StatusUpgradeRequired},
		{"short key", http.MethodGet, func(h http.Header) { h.Set("Sec-Websocket-Key", "c2hvcnQ=") }, http.StatusBadRequest},
		{"good", http.MethodGet, func(http.Header) {}, http.StatusSwitchingProtocols},
	} {
		request, _ := http.NewRequest(tc.method, server.URL+"/ws", nil)
		request.Header = good()
		tc.change(request.Header)
		response, err := http.DefaultTransport.RoundTrip(request)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		response.Body.Close()
		if response.StatusCode != tc.want {
			t.Fatalf("%s: got %d, want %d", tc.name, response.StatusCode, tc.want)
		}
		if tc.want == http.StatusSwitchingProtocols &&
			response.Header.Get("Sec-Websocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
			t.Fatalf("accept: %v", response.Header)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, response, err := Dial(ctx, "ws"+strings.TrimPrefix(server.URL, "http")+"/plain", nil)
	if !errors.Is(err, ErrBadHandshake) || response == nil || response.StatusCode != http.StatusForbidden {
		t.Fatalf("got %v, %v", response, err)
	}
	if _, _, err := Dial(ctx, "wss://example.invalid/", nil); err == nil {
		t.Fatal("wss: is not supported and must say so")
	}
}
