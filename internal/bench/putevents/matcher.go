package putevents

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Metrics a Switchyard server exports about its matcher stage.
const (
	metricMatched = "switchyard_match_events_total"
	metricBacklog = "switchyard_match_backlog_events"
)

// matcherWatch follows a server's matcher through its /metrics: whether it
// keeps up with ingestion is as much a part of sustained throughput as the
// PutEvents responses are.
type matcherWatch struct {
	ctx      context.Context
	hc       *http.Client
	urls     []string // of every process: matched is their sum, the backlog (the stream's) their largest
	matched0 float64

	mu         sync.Mutex
	backlogMax float64
	quit       chan struct{}
	done       chan struct{}
}

// newMatcherWatch returns nil when the target exports no matcher metrics
// (an older Switchyard, or another implementation).
func newMatcherWatch(ctx context.Context, hc *http.Client, urls ...string) *matcherWatch {
	m := &matcherWatch{ctx: ctx, hc: hc, quit: make(chan struct{}), done: make(chan struct{})}
	for _, u := range urls {
		m.urls = append(m.urls, u+"/metrics")
	}
	v, err := m.scrape()
	if err != nil || v[metricMatched] == nil {
		return nil
	}
	m.matched0 = *v[metricMatched]
	go m.sample()
	return m
}

func (m *matcherWatch) sample() {
	defer close(m.done)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-m.quit:
			return
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		b := m.backlog()
		m.mu.Lock()
		m.backlogMax = max(m.backlogMax, b)
		m.mu.Unlock()
	}
}

// stop ends sampling and returns the largest backlog seen. It is a no-op on
// nil so that callers need not check.
func (m *matcherWatch) stop() float64 {
	if m == nil {
		return 0
	}
	select {
	case <-m.quit:
	default:
		close(m.quit)
	}
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.backlogMax
}

func (m *matcherWatch) matched() float64 { return m.value(metricMatched) }
func (m *matcherWatch) backlog() float64 { return m.value(metricBacklog) }

func (m *matcherWatch) value(name string) float64 {
	v, err := m.scrape()
	if err != nil || v[name] == nil {
		return 0
	}
	return *v[name]
}

// waitDrained waits until the matcher has routed all accepted events, for
// at most a minute after from.
func (m *matcherWatch) waitDrained(ctx context.Context, accepted uint64, from time.Time) (bool, time.Duration, float64) {
	for {
		pending := float64(accepted) - (m.matched() - m.matched0)
		if pending <= 0 {
			return true, time.Since(from), 0
		}
		if time.Since(from) > time.Minute || !sleepUntil(ctx, time.Now().Add(50*time.Millisecond)) {
			return false, time.Since(from), pending
		}
	}
}

// scrape reads the unlabelled switchyard_match_* samples of the Prometheus
// text format of every process.
func (m *matcherWatch) scrape() (map[string]*float64, error) {
	out := map[string]*float64{}
	for _, u := range m.urls {
		one, err := m.scrapeOne(u)
		if err != nil {
			return nil, err
		}
		for name, v := range one {
			switch cur := out[name]; {
			case cur == nil:
				out[name] = v
			case name == metricBacklog:
				*cur = max(*cur, *v)
			default:
				*cur += *v
			}
		}
	}
	return out, nil
}

func (m *matcherWatch) scrapeOne(url string) (map[string]*float64, error) {
	req, err := http.NewRequestWithContext(m.ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := m.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]*float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("switchyard_match_")) {
			continue
		}
		name, val, ok := strings.Cut(string(line), " ")
		if !ok {
			continue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[name] = &f
		}
	}
	return out, sc.Err()
}
