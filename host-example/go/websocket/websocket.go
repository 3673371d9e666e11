// Package websocket is a small RFC 6455 WebSocket for servers (Upgrade)
// and clients (Dial), on the standard library only: the opening
// handshake, text and binary messages, fragmented messages, masking on
// the client side, ping/pong and the closing handshake. No extensions,
// no subprotocols, no TLS (wss:); Go 1.19 has no WebSocket of its own.
//
// One goroutine reads (ReadMessage answers pings and closes by itself);
// any number may write. A broken rule of the protocol fails the
// connection with the status code RFC 6455 §7.4.1 gives for it.
package websocket

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Opcodes (RFC 6455 §5.2).
const (
	OpContinuation = 0x0
	OpText         = 0x1
	OpBinary       = 0x2
	OpClose        = 0x8
	OpPing         = 0x9
	OpPong         = 0xA
)

// Close status codes used here (RFC 6455 §7.4.1).
const (
	CloseNormal          = 1000
	CloseGoingAway       = 1001
	CloseProtocolError   = 1002
	CloseNoStatus        = 1005 // never sent: "the close frame had no code"
	CloseInvalidPayload  = 1007
	CloseMessageTooBig   = 1009
	CloseInternalProblem = 1011
)

// DefaultMaxMessageBytes bounds a message (all its fragments together)
// unless Conn.MaxMessageBytes says otherwise.
const DefaultMaxMessageBytes = 16 << 20

// closeWait is how long Close waits for the peer's closing frame before
// it drops the connection anyway.
const closeWait = time.Second

// The GUID of RFC 6455 §1.3, hashed with the client's key.
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// ErrClosed is returned by writes after the closing handshake began.
var ErrClosed = errors.New("websocket: connection closed")

// CloseError is what ReadMessage returns once the peer closed (or the
// connection was failed): the status code and reason of the close frame.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("websocket: closed (%d %s)", e.Code, e.Reason)
}

// A protocol violation by the peer: the connection is failed with Code.
type protocolError struct {
	code   int
	reason string
}

func (e *protocolError) Error() string { return "websocket: " + e.reason }

// Conn is one WebSocket connection.
type Conn struct {
	// MaxMessageBytes bounds a received message; 0 means
	// DefaultMaxMessageBytes. Set it before the first ReadMessage.
	MaxMessageBytes int64

	conn   net.Conn
	br     *bufio.Reader
	client bool // a client masks what it sends and expects no mask

	wmu       sync.Mutex // one frame at a time
	closeSent bool       // under wmu

	peerClosed chan struct{} // closed once the peer's close frame arrived
	peerOnce   sync.Once
}

func newConn(c net.Conn, br *bufio.Reader, client bool) *Conn {
	return &Conn{conn: c, br: br, client: client, peerClosed: make(chan struct{})}
}

// AcceptKey is the Sec-WebSocket-Accept answer to a Sec-WebSocket-Key.
func AcceptKey(key string) string {
	sum := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// hasToken reports whether a comma-separated header holds token
// (case-insensitive), as in "Connection: keep-alive, Upgrade".
func hasToken(h http.Header, name, token string) bool {
	for _, value := range h.Values(name) {
		for _, part := range strings.Split(value, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

// IsUpgrade reports whether r asks for a WebSocket.
func IsUpgrade(r *http.Request) bool {
	return hasToken(r.Header, "Connection", "upgrade") && hasToken(r.Header, "Upgrade", "websocket")
}

// Upgrade answers a client's opening handshake (RFC 6455 §4.2) with 101
// plus header, and takes the connection over. A request that is no valid
// handshake gets 405, 400 or 426 and an error.
func Upgrade(w http.ResponseWriter, r *http.Request, header http.Header) (*Conn, error) {
	refuse := func(status int, reason string) (*Conn, error) {
		if status == http.StatusUpgradeRequired {
			w.Header().Set("Sec-WebSocket-Version", "13")
		}
		http.Error(w, reason, status)
		return nil, errors.New("websocket: " + reason)
	}
	if r.Method != http.MethodGet {
		return refuse(http.StatusMethodNotAllowed, "a WebSocket handshake is a GET")
	}
	if !IsUpgrade(r) {
		return refuse(http.StatusBadRequest, "not a WebSocket handshake (Connection: Upgrade, Upgrade: websocket)")
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		return refuse(http.StatusUpgradeRequired, "only WebSocket version 13 is supported")
	}
	key := r.Header.Get("Sec-WebSocket-Key")
	if raw, err := base64.StdEncoding.DecodeString(key); err != nil || len(raw) != 16 {
		return refuse(http.StatusBadRequest, "Sec-WebSocket-Key must be 16 bytes in base64")
	}
	hijacker, ok := w.(http.Hijacker)
	if !ok {
		return refuse(http.StatusInternalServerError, "this connection cannot be taken over")
	}
	c, rw, err := hijacker.Hijack()
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n")
	b.WriteString("Sec-WebSocket-Accept: " + AcceptKey(key) + "\r\n")
	for name, values := range header {
		for _, value := range values {
			b.WriteString(name + ": " + value + "\r\n")
		}
	}
	b.WriteString("\r\n")
	// The server's own deadlines must not cut a long-lived socket.
	_ = c.SetDeadline(time.Time{})
	if _, err := c.Write([]byte(b.String())); err != nil {
		c.Close()
		return nil, err
	}
	return newConn(c, rw.Reader, false), nil
}

// ErrBadHandshake is returned by Dial when the server did not switch
// protocols; the response (status, headers, up to 4 KiB of body) is
// returned with it.
var ErrBadHandshake = errors.New("websocket: the server refused the handshake")

// Dial opens a WebSocket to a ws:// (or http://) URL with the extra
// request header given (Authorization, Origin...). ctx bounds the
// connection and the handshake.
func Dial(ctx context.Context, rawURL string, header http.Header) (*Conn, *http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, err
	}
	switch u.Scheme {
	case "ws", "http":
	default:
		return nil, nil, fmt.Errorf("websocket: scheme %q not supported (ws:// only)", u.Scheme)
	}
	address := u.Host
	if u.Port() == "" {
		address = net.JoinHostPort(u.Hostname(), "80")
	}
	var dialer net.Dialer
	c, err := dialer.DialContext(ctx, "tcp", address)
	if err != nil {
		return nil, nil, err
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(deadline)
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		c.Close()
		return nil, nil, err
	}
	key := base64.StdEncoding.EncodeToString(nonce)
	request := &http.Request{
		Method:     http.MethodGet,
		URL:        &url.URL{Scheme: "http", Host: u.Host, Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery},
		Host:       u.Host,
		Header:     header.Clone(),
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
	}
	if request.Header == nil {
		request.Header = http.Header{}
	}
	request.Header.Set("Upgrade", "websocket")
	request.Header.Set("Connection", "Upgrade")
	request.Header.Set("Sec-WebSocket-Key", key)
	request.Header.Set("Sec-WebSocket-Version", "13")
	if err := request.Write(c); err != nil {
		c.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(c)
	response, err := http.ReadResponse(br, request)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	if response.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(response.Body, 4096))
		response.Body = io.NopCloser(strings.NewReader(string(body)))
		c.Close()
		return nil, response, ErrBadHandshake
	}
	if !hasToken(response.Header, "Upgrade", "websocket") ||
		!hasToken(response.Header, "Connection", "upgrade") ||
		response.Header.Get("Sec-WebSocket-Accept") != AcceptKey(key) {
		c.Close()
		return nil, response, fmt.Errorf("%w: the 101 answer does not accept this key", ErrBadHandshake)
	}
	_ = c.SetDeadline(time.Time{})
	return newConn(c, br, true), response, nil
}

// SetReadDeadline bounds the next reads.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// SetWriteDeadline bounds the next writes.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// frame is one received frame.
type frame struct {
	fin     bool
	op      byte
	payload []byte
}

// readFrame reads one frame, checking what RFC 6455 §5 requires of it.
// limit bounds a data frame's payload (control frames have their own 125).
func (c *Conn) readFrame(limit int64) (frame, error) {
	var head [2]byte
	if _, err := io.ReadFull(c.br, head[:]); err != nil {
		return frame{}, err
	}
	f := frame{fin: head[0]&0x80 != 0, op: head[0] & 0x0f}
	if head[0]&0x70 != 0 {
		return f, &protocolError{CloseProtocolError, "reserved bits set without an extension"}
	}
	switch f.op {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
	default:
		return f, &protocolError{CloseProtocolError, fmt.Sprintf("unknown opcode %#x", f.op)}
	}
	masked := head[1]&0x80 != 0
	if masked == c.client {
		if c.client {
			return f, &protocolError{CloseProtocolError, "a server must not mask its frames"}
		}
		return f, &protocolError{CloseProtocolError, "a client must mask its frames"}
	}
	length := uint64(head[1] & 0x7f)
	switch length {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(c.br, ext[:]); err != nil {
			return f, err
		}
		length = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(c.br, ext[:]); err != nil {
			return f, err
		}
		length = binary.BigEndian.Uint64(ext[:])
		if length>>63 != 0 {
			return f, &protocolError{CloseProtocolError, "payload length with its top bit set"}
		}
	}
	if f.op >= OpClose && (length > 125 || !f.fin) {
		return f, &protocolError{CloseProtocolError, "control frames must be whole and at most 125 bytes"}
	}
	if f.op < OpClose && length > uint64(limit) {
		return f, &protocolError{CloseMessageTooBig, fmt.Sprintf("message over %d bytes", limit)}
	}
	var mask [4]byte
	if masked {
		if _, err := io.ReadFull(c.br, mask[:]); err != nil {
			return f, err
		}
	}
	f.payload = make([]byte, length)
	if _, err := io.ReadFull(c.br, f.payload); err != nil {
		return f, err
	}
	if masked {
		for i := range f.payload {
			f.payload[i] ^= mask[i%4]
		}
	}
	return f, nil
}

// ReadMessage returns the next whole message (its fragments joined) and
// its opcode, OpText or OpBinary. Pings are answered and pongs skipped on
// the way. Once the peer closes, it answers the close, drops the
// connection and returns a *CloseError; after a protocol violation it
// fails the connection the same way.
func (c *Conn) ReadMessage() (op byte, data []byte, err error) {
	limit := c.MaxMessageBytes
	if limit <= 0 {
		limit = DefaultMaxMessageBytes
	}
	var message []byte
	started := false
	for {
		f, err := c.readFrame(limit - int64(len(message)))
		if err != nil {
			var violation *protocolError
			if errors.As(err, &violation) {
				return 0, nil, c.fail(violation.code, violation.reason)
			}
			c.conn.Close()
			return 0, nil, err
		}
		switch f.op {
		case OpPing:
			if err := c.writeFrame(OpPong, f.payload); err != nil && err != ErrClosed {
				return 0, nil, err
			}
			continue
		case OpPong:
			continue
		case OpClose:
			return 0, nil, c.peerClose(f.payload)
		case OpContinuation:
			if !started {
				return 0, nil, c.fail(CloseProtocolError, "a continuation frame without a message to continue")
			}
			message = append(message, f.payload...)
		default:
			if started {
				return 0, nil, c.fail(CloseProtocolError, "a new message inside a fragmented one")
			}
			started, op, message = true, f.op, f.payload
		}
		if f.fin {
			if op == OpText && !utf8.Valid(message) {
				return 0, nil, c.fail(CloseInvalidPayload, "a text message that is not UTF-8")
			}
			return op, message, nil
		}
	}
}

// peerClose handles the peer's close frame: checks it, answers it with
// the same code unless this side closed first, and drops the connection.
func (c *Conn) peerClose(payload []byte) error {
	c.peerOnce.Do(func() { close(c.peerClosed) })
	code, reason := CloseNoStatus, ""
	switch {
	case len(payload) == 1:
		return c.fail(CloseProtocolError, "a close frame with a one-byte body")
	case len(payload) >= 2:
		code = int(binary.BigEndian.Uint16(payload))
		reason = string(payload[2:])
		if !validCloseCode(code) {
			return c.fail(CloseProtocolError, fmt.Sprintf("close code %d is not allowed on the wire", code))
		}
		if !utf8.Valid(payload[2:]) {
			return c.fail(CloseInvalidPayload, "a close reason that is not UTF-8")
		}
	}
	var answer []byte
	if code != CloseNoStatus {
		answer = payload[:2]
	}
	_ = c.writeFrame(OpClose, answer)
	c.conn.Close()
	return &CloseError{Code: code, Reason: reason}
}

func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1011, code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// fail sends a close frame with code and drops the connection.
func (c *Conn) fail(code int, reason string) error {
	_ = c.writeFrame(OpClose, closePayload(code, reason))
	c.conn.Close()
	return &CloseError{Code: code, Reason: reason}
}

func closePayload(code int, reason string) []byte {
	if len(reason) > 123 {
		reason = reason[:123]
	}
	payload := make([]byte, 2, 2+len(reason))
	binary.BigEndian.PutUint16(payload, uint16(code))
	return append(payload, reason...)
}

// WriteMessage sends data as one text (OpText) or binary (OpBinary)
// message, in one frame.
func (c *Conn) WriteMessage(op byte, data []byte) error {
	if op != OpText && op != OpBinary {
		return fmt.Errorf("websocket: WriteMessage takes OpText or OpBinary, not %#x", op)
	}
	return c.writeFrame(op, data)
}

// WritePing sends a ping (at most 125 bytes); the peer answers with a pong.
func (c *Conn) WritePing(data []byte) error { return c.writeFrame(OpPing, data) }

// writeFrame sends one final frame.
func (c *Conn) writeFrame(op byte, payload []byte) error {
	return c.writeRaw(true, op, payload)
}

// writeRaw sends one frame, final or not, masked if this is a client.
// After a close frame went out, nothing more is sent.
func (c *Conn) writeRaw(fin bool, op byte, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return ErrClosed
	}
	if op == OpClose {
		c.closeSent = true
	}
	buf := make([]byte, 0, 14+len(payload))
	first := op
	if fin {
		first |= 0x80
	}
	buf = append(buf, first)
	maskBit := byte(0)
	if c.client {
		maskBit = 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		buf = append(buf, maskBit|byte(n))
	case n <= 0xffff:
		buf = append(buf, maskBit|126, byte(n>>8), byte(n))
	default:
		buf = append(buf, maskBit|127)
		buf = binary.BigEndian.AppendUint64(buf, uint64(n))
	}
	if c.client {
		var mask [4]byte
		if _, err := rand.Read(mask[:]); err != nil {
			return err
		}
		buf = append(buf, mask[:]...)
		start := len(buf)
		buf = append(buf, payload...)
		for i := range buf[start:] {
			buf[start+i] ^= mask[i%4]
		}
	} else {
		buf = append(buf, payload...)
	}
	_, err := c.conn.Write(buf)
	return err
}

// CloseWith starts the closing handshake with code and reason: sends the
// close frame, waits (at most a second) for the peer's answer, which the
// reading goroutine receives, then drops the connection.
func (c *Conn) CloseWith(code int, reason string) error {
	err := c.writeFrame(OpClose, closePayload(code, reason))
	if err == nil {
		select {
		case <-c.peerClosed:
		case <-time.After(closeWait):
		}
	}
	closeErr := c.conn.Close()
	if err != nil && err != ErrClosed {
		return err
	}
	if closeErr != nil && !errors.Is(closeErr, net.ErrClosed) {
		return closeErr
	}
	return nil
}

// Close closes normally (1000): CloseWith(CloseNormal, "").
func (c *Conn) Close() error { return c.CloseWith(CloseNormal, "") }
