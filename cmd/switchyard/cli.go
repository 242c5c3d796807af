package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/internal/api"
	"github.com/switchyard/switchyard/internal/tail"
	"github.com/switchyard/switchyard/pattern"
)

// clientFlags are the flags of the commands that call a running switchyard.
type clientFlags struct {
	endpoint, region, account string
}

func (c *clientFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.endpoint, "endpoint", envOr("http://127.0.0.1:4010", "AWS_ENDPOINT_URL_EVENTBRIDGE", "AWS_ENDPOINT_URL_EVENTS"), "the switchyard API endpoint (default from AWS_ENDPOINT_URL_EVENTBRIDGE)")
	f.StringVar(&c.region, "region", envOr("us-east-1", "AWS_REGION", "AWS_DEFAULT_REGION"), "the region (default from AWS_REGION or AWS_DEFAULT_REGION)")
	f.StringVar(&c.account, "account", api.DefaultAccount, "the account, under --auth none; without it, the AWS credentials configured (AWS_ACCESS_KEY_ID, a profile, ...) sign the requests")
}

// caller reads the command's flags not given from SWITCHYARD_<FLAG> and
// resolves who it calls as (callerFor).
func (c *clientFlags) caller(cmd *cobra.Command) (caller, error) {
	if err := envFlags(cmd.Flags()); err != nil {
		return caller{}, err
	}
	return callerFor(cmd, c.region, c.account)
}

// argOrFile reads a flag's value, or the file it names after an @, or
// standard input for "-".
func argOrFile(v string) ([]byte, error) {
	switch {
	case v == "-":
		return io.ReadAll(io.LimitReader(os.Stdin, 16<<20))
	case strings.HasPrefix(v, "@"):
		return os.ReadFile(v[1:])
	}
	return []byte(v), nil
}

func tailCmd() *cobra.Command {
	var c clientFlags
	var bus, pat string
	var limit int
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print a bus's events as they arrive, filtered by an event pattern",
		Long: `Follows the events an event bus accepts, on any switchyard process of the
cluster, from the moment it starts, and prints each that matches --pattern as
one line of JSON (the event as targets receive it). --limit stops after that
many. (Events from before are in archives: see StartReplay.)

  switchyard tail --event-bus-name orders --pattern '{"detail-type":["OrderCreated"]}'
  switchyard tail --limit 5 --pattern @pattern.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			who, err := c.caller(cmd)
			if err != nil {
				return err
			}
			q := url.Values{"EventBusName": {bus}}
			if pat != "" {
				p, err := argOrFile(pat)
				if err != nil {
					return err
				}
				q.Set("EventPattern", string(p))
			}
			if limit > 0 {
				q.Set("Limit", fmt.Sprint(limit))
			}
			return streamTail(cmd.Context(), strings.TrimRight(c.endpoint, "/")+tail.Path+"?"+q.Encode(), who, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.register(cmd)
	f := cmd.Flags()
	f.StringVar(&bus, "event-bus-name", "default", "the bus, name or ARN")
	f.StringVar(&pat, "pattern", "", "event pattern (JSON, @file or - for standard input); all events without one")
	f.IntVar(&limit, "limit", 0, "stop after this many events")
	return cmd
}

// streamTail reads the tail's Server-Sent Events and prints each event's
// data as a line.
func streamTail(ctx context.Context, u string, who caller, out, errOut io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if err := signRequest(ctx, req, nil, who); err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &e) == nil && e.Type != "" {
			return fmt.Errorf("%s: %s", e.Type, e.Message)
		}
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(data)))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var event string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data := line[len("data: "):]
			switch event {
			case "event":
				if _, err := fmt.Fprintln(out, data); err != nil {
					return err
				}
			case "ready":
				fmt.Fprintln(errOut, "tailing; ^C to stop")
			case "error":
				return fmt.Errorf("tail: %s", data)
			}
		case line == "":
			event = ""
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
		return err
	}
	return nil
}

func testPatternCmd() *cobra.Command {
	var pat, event string
	cmd := &cobra.Command{
		Use:   "test-pattern --pattern JSON --event JSON",
		Short: "Test an event pattern against an event, locally, with Switchyard's engine",
		Long: `Says whether the event matches the pattern, as a rule's pattern would (the
engine of the rules, no server needed), and exits 1 when it does not. Each of
--pattern and --event is JSON, @file, or - for standard input. A pattern that
EventBridge would refuse is reported with EventBridge's reason.

  switchyard test-pattern --pattern '{"source":["app"]}' --event @event.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := argOrFile(pat)
			if err != nil {
				return err
			}
			e, err := argOrFile(event)
			if err != nil {
				return err
			}
			compiled, err := pattern.Parse(p)
			if err != nil {
				return fmt.Errorf("InvalidEventPatternException: Event pattern is not valid. Reason: %w", err)
			}
			m := pattern.NewMatcher()
			if err := m.Add("p", compiled); err != nil {
				return fmt.Errorf("InvalidEventPatternException: %w", err)
			}
			ids, err := m.Match(e)
			if err != nil {
				return fmt.Errorf("the event is not valid JSON: %w", err)
			}
			if len(ids) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no match")
				return errNoMatch
			}
			fmt.Fprintln(cmd.OutOrStdout(), "match")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&pat, "pattern", "", "the event pattern (required)")
	f.StringVar(&event, "event", "", "the event (required)")
	_ = cmd.MarkFlagRequired("pattern")
	_ = cmd.MarkFlagRequired("event")
	return cmd
}

// errNoMatch makes test-pattern exit 1 without an error message.
var errNoMatch = &exitError{code: 1}

type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func putCmd() *cobra.Command {
	var c clientFlags
	var bus, source, detailType, detail, file string
	var count, concurrency int
	cmd := &cobra.Command{
		Use:   "put",
		Short: "Put events: one, many copies, or a file of them, with progress",
		Long: `Sends events with PutEvents, ten to a request, several requests at once, and
prints the ids accepted (or, for more than one request, a progress bar and a
summary). --file takes JSON lines, each a PutEvents entry ({"Source": ...,
"DetailType": ..., "Detail": {...} or "..."}). Entries refused are printed
with EventBridge's error code; the command then exits 1.

  switchyard put --source app.orders --detail-type OrderCreated --detail '{"id":1}'
  switchyard put --source load --detail-type Tick --detail '{}' --count 100000
  switchyard put --file events.jsonl --event-bus-name orders`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			who, err := c.caller(cmd)
			if err != nil {
				return err
			}
			entries, err := putEntries(file, bus, source, detailType, detail, count)
			if err != nil {
				return err
			}
			return putAll(cmd.Context(), c.endpoint, who, entries, max(concurrency, 1), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.register(cmd)
	f := cmd.Flags()
	f.StringVar(&bus, "event-bus-name", "", "the bus, name or ARN, of entries that name none (default: default)")
	f.StringVar(&source, "source", "", "the events' source")
	f.StringVar(&detailType, "detail-type", "", "the events' detail-type")
	f.StringVar(&detail, "detail", "{}", "the events' detail (JSON, @file or -)")
	f.IntVar(&count, "count", 1, "send this many copies of the event")
	f.StringVar(&file, "file", "", "JSON lines of PutEvents entries to send instead (- for standard input)")
	f.IntVar(&concurrency, "concurrency", 4, "PutEvents requests in flight")
	return cmd
}

type putEntry struct {
	Source       string          `json:"Source,omitempty"`
	DetailType   string          `json:"DetailType,omitempty"`
	Detail       json.RawMessage `json:"Detail,omitempty"`
	EventBusName string          `json:"EventBusName,omitempty"`
	Resources    []string        `json:"Resources,omitempty"`
	Time         any             `json:"Time,omitempty"`
	TraceHeader  string          `json:"TraceHeader,omitempty"`
}

// putEntries builds the entries to send. A Detail given as a JSON object
// becomes the string PutEvents takes.
func putEntries(file, bus, source, detailType, detail string, count int) ([]putEntry, error) {
	var out []putEntry
	fix := func(e putEntry) (putEntry, error) {
		if e.EventBusName == "" {
			e.EventBusName = bus
		}
		if len(e.Detail) > 0 && e.Detail[0] != '"' {
			s, _ := json.Marshal(string(e.Detail))
			e.Detail = s
		}
		return e, nil
	}
	if file != "" {
		var r io.Reader
		if file == "-" {
			r = os.Stdin
		} else {
			f, err := os.Open(file)
			if err != nil {
				return nil, err
			}
			defer f.Close()
			r = f
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 2<<20)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			var e putEntry
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", file, n, err)
			}
			e, _ = fix(e)
			out = append(out, e)
		}
		return out, sc.Err()
	}
	if source == "" || detailType == "" {
		return nil, errors.New("--source and --detail-type are needed (or --file)")
	}
	d, err := argOrFile(detail)
	if err != nil {
		return nil, err
	}
	if !json.Valid(d) {
		return nil, errors.New("--detail is not JSON")
	}
	e, _ := fix(putEntry{Source: source, DetailType: detailType, Detail: d})
	for range max(count, 1) {
		out = append(out, e)
	}
	return out, nil
}

// putAll sends entries ten to a request, concurrency requests at once.
func putAll(ctx context.Context, endpoint string, who caller, entries []putEntry, concurrency int, out, errOut io.Writer) error {
	type result struct {
		EventId      string
		ErrorCode    string
		ErrorMessage string
	}
	batches := make(chan []putEntry)
	var sent, failed atomic.Int64
	var firstErr error
	var mu sync.Mutex
	single := len(entries) <= 10
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				var resp struct {
					FailedEntryCount int
					Entries          []result
				}
				if err := callAPI(ctx, endpoint, who, "PutEvents", map[string]any{"Entries": b}, &resp); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					failed.Add(int64(len(b)))
					continue
				}
				mu.Lock()
				for _, e := range resp.Entries {
					switch {
					case e.ErrorCode != "":
						failed.Add(1)
						fmt.Fprintf(errOut, "refused: %s: %s\n", e.ErrorCode, e.ErrorMessage)
					case single:
						fmt.Fprintln(out, e.EventId)
					}
				}
				mu.Unlock()
				sent.Add(int64(len(b)))
			}
		}()
	}
	done := make(chan struct{})
	if !single {
		go progress(errOut, int64(len(entries)), &sent, &failed, done)
	}
	start := time.Now()
feed:
	for i := 0; i < len(entries); i += 10 {
		select {
		case batches <- entries[i:min(i+10, len(entries))]:
		case <-ctx.Done():
			break feed
		}
	}
	close(batches)
	wg.Wait()
	close(done)
	if !single {
		el := time.Since(start).Seconds()
		fmt.Fprintf(out, "%d events sent, %d refused, in %.1fs (%.0f/s)\n", sent.Load()-failed.Load(), failed.Load(), el, float64(sent.Load())/max(el, 1e-9))
	}
	if firstErr != nil {
		return firstErr
	}
	if failed.Load() > 0 {
		return &exitError{code: 1}
	}
	return ctx.Err()
}

// progress draws a bar of done out of total on w until done closes.
func progress(w io.Writer, total int64, done, failed *atomic.Int64, stop <-chan struct{}) {
	tty := isTerminal(w)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	last := ""
	for {
		n := done.Load()
		const width = 30
		filled := int(float64(width) * float64(n) / float64(max(total, 1)))
		line := fmt.Sprintf("[%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled), n, total)
		if f := failed.Load(); f > 0 {
			line += fmt.Sprintf(" (%d refused)", f)
		}
		if tty {
			fmt.Fprintf(w, "\r\033[K%s", line)
		} else if line != last && (n == total || n%(max(total/10, 1)) < 10) {
			fmt.Fprintln(w, line)
		}
		last = line
		select {
		case <-stop:
			if tty {
				fmt.Fprintln(w)
			}
			return
		case <-t.C:
		}
	}
}
