package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Logger writes one JSON object per line — level, time, fields, message,
// the way zerolog does — to the console and to a log file.
type Logger struct {
	mu  sync.Mutex
	out io.Writer
}

// NewLogger logs to stderr and appends to path (its folder is made).
func NewLogger(path string) (*Logger, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	file, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	return &Logger{out: io.MultiWriter(os.Stderr, file)}, nil
}

// Log writes one line; keyvals alternate field names and values.
func (l *Logger) Log(level, msg string, keyvals ...any) {
	var b bytes.Buffer
	field := func(name string, value any) {
		encoded, err := json.Marshal(value)
		if err != nil {
			encoded, _ = json.Marshal(fmt.Sprint(value))
		}
		key, _ := json.Marshal(name)
		b.Write(key)
		b.WriteByte(':')
		b.Write(encoded)
		b.WriteByte(',')
	}
	b.WriteByte('{')
	field("level", level)
	field("time", time.Now().UTC().Format(time.RFC3339Nano))
	for i := 0; i+1 < len(keyvals); i += 2 {
		field(fmt.Sprint(keyvals[i]), keyvals[i+1])
	}
	field("message", msg)
	b.Truncate(b.Len() - 1)
	b.WriteString("}\n")
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.out.Write(b.Bytes())
}
