// Package patternbench measures the event-pattern Matcher on the synthetic
// "city lots" data set of ../shared/bench (see its README): per pattern
// group, all groups in one matcher, and with 10,000 rules. Every figure is
// reported only after the match counts were checked against the expected
// ones: a fast wrong answer is not a result.
package patternbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard/switchyard/pattern"
)

// Config says what to measure.
type Config struct {
	EventsPath   string // JSON lines made by lots.py events
	PatternsPath string // lots-patterns.json
	ExpectedPath string // lots-expected.json
	// Groups limits the per-group runs to these names; empty means all.
	Groups []string
	// Passes is how many timed passes over the events each figure takes
	// the best of (default 3).
	Passes int
	// ScaleRules is the number of generated rules of the scaling runs
	// (default 10,000); negative skips them.
	ScaleRules int
	// SkipAll skips the run with every pattern in one matcher.
	SkipAll bool
}

// Run loads the data, checks the counts and writes the figures to w.
func Run(ctx context.Context, cfg Config, w io.Writer) error {
	if cfg.Passes <= 0 {
		cfg.Passes = 3
	}
	if cfg.ScaleRules == 0 {
		cfg.ScaleRules = 10000
	}
	events, err := loadEvents(cfg.EventsPath)
	if err != nil {
		return err
	}
	groups, err := loadPatterns(cfg.PatternsPath)
	if err != nil {
		return err
	}
	expected, err := loadExpected(cfg.ExpectedPath, len(events))
	if err != nil {
		return err
	}
	for _, name := range cfg.Groups {
		if !slices.ContainsFunc(groups, func(g group) bool { return g.name == name }) {
			return fmt.Errorf("patternbench: no group %q in %s", name, cfg.PatternsPath)
		}
	}
	fmt.Fprintf(w, "events: %d (%.1f MB) from %s; GOMAXPROCS=%d; best of %d passes\n",
		len(events), float64(totalBytes(events))/1e6, cfg.EventsPath, runtime.GOMAXPROCS(0), cfg.Passes)
	fmt.Fprintf(w, "events/s: AppendMatchesValid (pre-validated events), best pass by the clock; per CPU-second; validating/s: AppendMatches\n")
	fmt.Fprintf(w, "%-26s %8s %12s %12s %12s  %s\n", "group", "patterns", "events/s", "per CPU-s", "validating/s", "counts (checked)")

	b := &bench{ctx: ctx, events: events, passes: cfg.Passes, w: w}
	// A group with wrong counts gets no figures, but the others are still
	// measured; Run then fails with all the mismatches.
	var wrong []error
	report := func(err error) error {
		var ce *countError
		if errors.As(err, &ce) {
			fmt.Fprintf(w, "%-26s WRONG COUNTS, no figures\n", ce.name)
			wrong = append(wrong, err)
			return nil
		}
		return err
	}
	var all, verified []entry
	fiveRule := map[string]result{}
	// ownCounts are the counts of patterns whose group got wrong counts, as
	// their own group's matcher found them.
	ownCounts := map[string]int{}
	for _, g := range groups {
		var es []entry
		for i, src := range g.patterns {
			want, ok := expected[g.name]
			if !ok || i >= len(want) {
				return fmt.Errorf("patternbench: no expected count for %s[%d]", g.name, i)
			}
			es = append(es, entry{id: g.name + "/" + strconv.Itoa(i), src: src, want: want[i]})
		}
		all = append(all, es...)
		if len(cfg.Groups) > 0 && !slices.Contains(cfg.Groups, g.name) {
			continue
		}
		r, err := b.measure(g.name, es)
		var ce *countError
		if errors.As(err, &ce) {
			for _, e := range es {
				ownCounts[e.id] = ce.got[e.id]
			}
		}
		if err := report(err); err != nil {
			return err
		}
		if err == nil {
			fiveRule[g.name] = r
			verified = append(verified, es...)
		}
	}
	if !cfg.SkipAll && len(cfg.Groups) == 0 {
		if _, err := b.measure("all groups in one matcher", all); report(err) != nil {
			return err
		}
		if len(verified) < len(all) {
			// Still give a checked figure for one big matcher.
			if _, err := b.measure("groups with right counts", verified); report(err) != nil {
				return err
			}
			// And one for all patterns, the wrong ones held to what their
			// own groups found: the big matcher must agree with the small
			// ones even where both disagree with the expected counts.
			held := slices.Clone(all)
			n := 0
			for i := range held {
				if c, ok := ownCounts[held[i].id]; ok {
					held[i].want = c
					n++
				}
			}
			fmt.Fprintf(w, "(next: %d patterns checked against their own group's counts, not the expected ones)\n", n)
			if _, err := b.measure("all, held to own groups", held); report(err) != nil {
				return err
			}
		}
	}
	if cfg.ScaleRules > 0 {
		for _, kind := range []string{"exact", "prefix"} {
			base, ok := fiveRule[kind]
			if !ok {
				continue
			}
			if err := report(b.scale(kind, all, cfg.ScaleRules, base)); err != nil {
				return err
			}
		}
	}
	return errors.Join(wrong...)
}

// countError reports patterns whose match counts differ from the expected.
type countError struct {
	name string
	bad  []string
	got  map[string]int
}

func (e *countError) Error() string {
	return fmt.Sprintf("patternbench: %s: WRONG COUNTS:\n  %s", e.name, strings.Join(e.bad, "\n  "))
}

type group struct {
	name     string
	patterns []json.RawMessage
}

// entry is one pattern with its expected count; want < 0 means unknown
// (generated patterns), and the count is then only reported.
type entry struct {
	id   string
	src  []byte
	want int
}

type bench struct {
	ctx    context.Context
	events [][]byte
	passes int
	w      io.Writer
}

type result struct {
	trusted, validating float64 // events per second
	trustedCPU          float64 // events per CPU-second
}

func build(es []entry) (*pattern.Matcher, error) {
	m := pattern.NewMatcher()
	for _, e := range es {
		p, err := pattern.Parse(e.src)
		if err != nil {
			return nil, fmt.Errorf("patternbench: pattern %s: %w", e.id, err)
		}
		if err := m.Add(e.id, p); err != nil {
			return nil, fmt.Errorf("patternbench: adding %s: %w", e.id, err)
		}
	}
	return m, nil
}

// check counts the matches of every pattern over all events, with both
// entry points, and compares them with the expected counts.
func (b *bench) check(name string, m *pattern.Matcher, es []entry) (map[string]int, error) {
	got := map[string]int{}
	got2 := map[string]int{}
	var dst []string
	var err error
	for _, ev := range b.events {
		if dst, err = m.AppendMatches(dst[:0], ev); err != nil {
			return nil, fmt.Errorf("patternbench: %w in event %.80q", err, ev)
		}
		for _, id := range dst {
			got[id]++
		}
		if dst, err = m.AppendMatchesValid(dst[:0], ev); err != nil {
			return nil, fmt.Errorf("patternbench: %w in event %.80q", err, ev)
		}
		for _, id := range dst {
			got2[id]++
		}
	}
	var bad []string
	for _, e := range es {
		if e.want >= 0 && got[e.id] != e.want {
			bad = append(bad, fmt.Sprintf("%s: %d matches, want %d", e.id, got[e.id], e.want))
		}
		if got2[e.id] != got[e.id] {
			bad = append(bad, fmt.Sprintf("%s: AppendMatchesValid finds %d matches, AppendMatches %d", e.id, got2[e.id], got[e.id]))
		}
	}
	if len(bad) > 0 {
		return nil, &countError{name: name, bad: bad, got: got}
	}
	return got, nil
}

// timeit returns the best events/s over the passes, by the clock and by
// the CPU time used; the total number of matches of every pass must equal
// total, lest an optimisation change the answer between checked and timed
// runs.
func (b *bench) timeit(m *pattern.Matcher, valid bool, total int) (wall, cpu float64, err error) {
	best, bestCPU := time.Duration(1<<62), time.Duration(1<<62)
	dst := make([]string, 0, 128)
	for p := 0; p < b.passes; p++ {
		if err := b.ctx.Err(); err != nil {
			return 0, 0, err
		}
		runtime.GC()
		n := 0
		start, startCPU := time.Now(), cpuTime()
		for _, ev := range b.events {
			if valid {
				dst, err = m.AppendMatchesValid(dst[:0], ev)
			} else {
				dst, err = m.AppendMatches(dst[:0], ev)
			}
			if err != nil {
				return 0, 0, err
			}
			n += len(dst)
		}
		best = min(best, time.Since(start))
		bestCPU = min(bestCPU, cpuTime()-startCPU)
		if n != total {
			return 0, 0, fmt.Errorf("patternbench: timed pass found %d matches, the checked pass %d", n, total)
		}
	}
	wall = float64(len(b.events)) / best.Seconds()
	if bestCPU > 0 {
		cpu = float64(len(b.events)) / bestCPU.Seconds()
	}
	return wall, cpu, nil
}

func (b *bench) measure(name string, es []entry) (result, error) {
	m, err := build(es)
	if err != nil {
		return result{}, err
	}
	got, err := b.check(name, m, es)
	if err != nil {
		return result{}, err
	}
	total := 0
	for _, n := range got {
		total += n
	}
	var r result
	if r.trusted, r.trustedCPU, err = b.timeit(m, true, total); err != nil {
		return r, err
	}
	if r.validating, _, err = b.timeit(m, false, total); err != nil {
		return r, err
	}
	counts := make([]string, 0, len(es))
	for _, e := range es {
		counts = append(counts, strconv.Itoa(got[e.id]))
	}
	c := strings.Join(counts, " ")
	if len(es) > 5 {
		c = fmt.Sprintf("%d patterns, %d matches", len(es), total)
	}
	fmt.Fprintf(b.w, "%-26s %8d %12.0f %12.0f %12.0f  %s\n", name, len(es), r.trusted, r.trustedCPU, r.validating, c)
	return r, nil
}

// scale builds a matcher of n rules of one kind, the group's own five plus
// generated ones, and compares its speed with the five-rule figure.
func (b *bench) scale(kind string, all []entry, n int, base result) error {
	var es []entry
	for _, e := range all {
		if strings.HasPrefix(e.id, kind+"/") {
			es = append(es, e)
		}
	}
	rng := rand.New(rand.NewPCG(7, uint64(n)))
	seen := map[string]bool{}
	for len(es) < n {
		var src string
		switch kind {
		case "exact":
			// Values shaped like the events' MAPBLKLOT, so that lookups
			// walk deep into the automaton.
			v := fmt.Sprintf("%04d%03d", rng.IntN(7600)+1, rng.IntN(300)+1)
			src = `{"properties":{"MAPBLKLOT":["` + v + `"]}}`
		default:
			// Street-like prefixes of two to five letters.
			l := 2 + rng.IntN(4)
			var sb strings.Builder
			for range l {
				sb.WriteByte(byte('A' + rng.IntN(26)))
			}
			src = `{"properties":{"STREET":[{"prefix":"` + sb.String() + `"}]}}`
		}
		if seen[src] {
			continue
		}
		seen[src] = true
		es = append(es, entry{id: fmt.Sprintf("gen-%s/%d", kind, len(es)), src: []byte(src), want: -1})
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	m, err := build(es)
	if err != nil {
		return err
	}
	buildTime := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	got, err := b.check(kind+" scaled", m, es)
	if err != nil {
		return err
	}
	total := 0
	for _, c := range got {
		total += c
	}
	rate, rateCPU, err := b.timeit(m, true, total)
	if err != nil {
		return err
	}
	st := m.Stats()
	heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	fmt.Fprintf(b.w, "%-26s %8d %12.0f %12.0f %12s  %.2fx the 5-rule rate (per CPU-s %.2fx); built in %v; %d matches; Stats.ApproxBytes %.1f MB, heap growth %.1f MB\n",
		kind+" scaled", len(es), rate, rateCPU, "", rate/base.trusted, rateCPU/base.trustedCPU, buildTime.Round(time.Millisecond), total,
		float64(st.ApproxBytes)/1e6, float64(heap)/1e6)
	runtime.KeepAlive(m)
	if rate < base.trusted/2 && rateCPU < base.trustedCPU/2 {
		fmt.Fprintf(b.w, "  NOTE: %s with %d rules is more than 2x slower than with 5\n", kind, len(es))
	}
	return nil
}

func totalBytes(evs [][]byte) int {
	n := 0
	for _, e := range evs {
		n += len(e)
	}
	return n
}

func loadEvents(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("patternbench: %w (make it with: python3 ../shared/bench/lots.py events > %s)", err, path)
	}
	var evs [][]byte
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(bytes.TrimSpace(line)) > 0 {
			evs = append(evs, line[:len(line):len(line)])
		}
	}
	if len(evs) == 0 {
		return nil, errors.New("patternbench: no events in " + path)
	}
	return evs, nil
}

// loadPatterns reads the groups in file order.
func loadPatterns(path string) ([]group, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("patternbench: %w", err)
	}
	var top struct {
		Groups json.RawMessage `json:"groups"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("patternbench: %s: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(top.Groups))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("patternbench: %s: groups is not an object", path)
	}
	var gs []group
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("patternbench: %s: %w", path, err)
		}
		g := group{name: t.(string)}
		if err := dec.Decode(&g.patterns); err != nil {
			return nil, fmt.Errorf("patternbench: %s: group %s: %w", path, g.name, err)
		}
		gs = append(gs, g)
	}
	return gs, nil
}

func loadExpected(path string, nEvents int) (map[string][]int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("patternbench: %w", err)
	}
	var exp struct {
		N      int              `json:"n"`
		Counts map[string][]int `json:"counts"`
	}
	if err := json.Unmarshal(data, &exp); err != nil {
		return nil, fmt.Errorf("patternbench: %s: %w", path, err)
	}
	if exp.N != nEvents {
		return nil, fmt.Errorf("patternbench: %s counts %d events, the events file has %d", path, exp.N, nEvents)
	}
	return exp.Counts, nil
}
