package buslog

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/switchyard/switchyard/internal/awsclient"
)

// Open returns the sink a --bus-log-destination names: "stdout",
// "file:/path" (JSON lines, rotated at maxFileBytes) or
// "logs:<log-group-name>" (CloudWatch Logs through aws, a log stream per
// bus).
func Open(dest string, aws *awsclient.Factory, maxFileBytes int64) (Sink, error) {
	switch {
	case dest == "stdout":
		return &lineSink{w: bufio.NewWriter(os.Stdout)}, nil
	case strings.HasPrefix(dest, "file:"):
		path := strings.TrimPrefix(dest, "file:")
		if path == "" {
			return nil, errors.New("bus log destination file: needs a path")
		}
		return OpenFile(path, maxFileBytes)
	case strings.HasPrefix(dest, "logs:"):
		group := strings.TrimPrefix(dest, "logs:")
		if group == "" {
			return nil, errors.New("bus log destination logs: needs a log group name")
		}
		return NewCloudWatch(aws, group), nil
	}
	return nil, fmt.Errorf("bus log destination %q: want stdout, file:/path or logs:<log-group-name>", dest)
}

// lineSink writes records as JSON lines to a buffered writer.
type lineSink struct{ w *bufio.Writer }

func (s *lineSink) Write(_ context.Context, batch []*Record) error {
	if err := writeLines(s.w, batch); err != nil {
		return err
	}
	return s.w.Flush()
}

func (s *lineSink) Close() error { return s.w.Flush() }

func writeLines(w io.Writer, batch []*Record) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range batch {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("bus log record: %w", err)
		}
	}
	return nil
}

// DefaultMaxFileBytes is the size at which a file destination is rotated.
const DefaultMaxFileBytes = 64 << 20

// FileSink appends JSON lines to a file. When the file reaches its
// maximum size it is renamed to path.1 (replacing the previous one) and a
// new file is started: the destination never holds more than about twice
// the maximum.
type FileSink struct {
	mu   sync.Mutex
	path string
	max  int64
	f    *os.File
	w    *bufio.Writer
	size int64
}

// OpenFile opens (appending to) the file destination at path.
func OpenFile(path string, max int64) (*FileSink, error) {
	if max <= 0 {
		max = DefaultMaxFileBytes
	}
	s := &FileSink{path: path, max: max}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *FileSink) open() error {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("bus log file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("bus log file: %w", err)
	}
	s.f, s.w, s.size = f, bufio.NewWriter(f), st.Size()
	return nil
}

// countingWriter counts what passes to the file.
type countingWriter struct {
	w *bufio.Writer
	n *int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	*c.n += int64(n)
	return n, err
}

// Write appends batch, rotating first if the file is full.
func (s *FileSink) Write(_ context.Context, batch []*Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.size >= s.max {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	if err := writeLines(countingWriter{s.w, &s.size}, batch); err != nil {
		return err
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("bus log file: %w", err)
	}
	return nil
}

func (s *FileSink) rotate() error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("bus log file: %w", err)
	}
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("bus log file: %w", err)
	}
	if err := os.Rename(s.path, s.path+".1"); err != nil {
		return fmt.Errorf("bus log file rotation: %w", err)
	}
	return s.open()
}

// Close flushes and closes the file.
func (s *FileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.w.Flush(); err != nil {
		_ = s.f.Close()
		return fmt.Errorf("bus log file: %w", err)
	}
	return s.f.Close()
}
