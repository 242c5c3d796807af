package pattern

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
)

// The Lots benchmarks run on the city-lots events of ../shared/bench:
//
//	python3 ../shared/bench/lots.py events > /tmp/lots.jsonl
//	SWITCHYARD_LOTS=/tmp/lots.jsonl GOMAXPROCS=1 taskset -c 1 go test -run XXX -bench Lots ./pattern/
//
// They skip when SWITCHYARD_LOTS is unset. The full benchmark with count
// checks is internal/bench/patternbench (switchyard bench patterns); these
// are for profiling one group at a time (-cpuprofile).

const lotsPatterns = "../../shared/bench/lots-patterns.json"

var lots struct {
	once   sync.Once
	events [][]byte
	groups map[string][]json.RawMessage
	err    error
}

func loadLots(b *testing.B) {
	path := os.Getenv("SWITCHYARD_LOTS")
	if path == "" {
		b.Skip("SWITCHYARD_LOTS is not set")
	}
	lots.once.Do(func() {
		data, err := os.ReadFile(path)
		if err != nil {
			lots.err = err
			return
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			if len(line) > 0 {
				lots.events = append(lots.events, line)
			}
		}
		src, err := os.ReadFile(lotsPatterns)
		if err != nil {
			lots.err = err
			return
		}
		var top struct{ Groups map[string][]json.RawMessage }
		lots.err = json.Unmarshal(src, &top)
		lots.groups = top.Groups
	})
	if lots.err != nil {
		b.Fatal(lots.err)
	}
}

func benchLots(b *testing.B, m *Matcher, valid bool) {
	dst := make([]string, 0, 128)
	evs := lots.events
	b.SetBytes(int64(len(evs[0])))
	b.ResetTimer()
	var err error
	for i := 0; i < b.N; i++ {
		if valid {
			dst, err = m.AppendMatchesValid(dst[:0], evs[i%len(evs)])
		} else {
			dst, err = m.AppendMatches(dst[:0], evs[i%len(evs)])
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkLots(b *testing.B) {
	loadLots(b)
	all := NewMatcher()
	var names []string
	for name, ps := range lots.groups {
		names = append(names, name)
		for i, src := range ps {
			p, err := Parse(src)
			if err != nil {
				b.Fatal(err)
			}
			all.Add(fmt.Sprint(name, "/", i), p)
		}
	}
	for _, name := range names {
		m := NewMatcher()
		for i, src := range lots.groups[name] {
			p, _ := Parse(src)
			m.Add(fmt.Sprint(i), p)
		}
		b.Run(name+"/valid", func(b *testing.B) { benchLots(b, m, true) })
		b.Run(name+"/validating", func(b *testing.B) { benchLots(b, m, false) })
	}
	b.Run("all/valid", func(b *testing.B) { benchLots(b, all, true) })
	b.Run("all/validating", func(b *testing.B) { benchLots(b, all, false) })
}

// BenchmarkMatch needs no data file: a typical event, a thousand rules.
func BenchmarkMatch(b *testing.B) {
	m := NewMatcher()
	for i := 0; i < 1000; i++ {
		p, err := Parse([]byte(fmt.Sprintf(`{"source":["app.%d"],"detail":{"state":[{"prefix":"run"}],"size":[{"numeric":[">",%d]}]}}`, i, i)))
		if err != nil {
			b.Fatal(err)
		}
		m.Add(fmt.Sprint(i), p)
	}
	ev := []byte(`{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"EC2 Instance State-change Notification",` +
		`"source":"app.17","account":"111122223333","time":"2017-12-22T18:43:48Z","region":"us-west-1",` +
		`"resources":["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],` +
		`"detail":{"instance-id":"i-1234567890abcdef0","state":"running","size":20,"tags":[{"k":"a","v":"b"}]}}`)
	benchMatch(b, m, ev)
}

// benchMatch times matching ev, which one pattern of m matches.
func benchMatch(b *testing.B, m *Matcher, ev []byte) {
	dst := make([]string, 0, 16)
	b.SetBytes(int64(len(ev)))
	for b.Loop() {
		var err error
		if dst, err = m.AppendMatches(dst[:0], ev); err != nil || len(dst) != 1 {
			b.Fatal(dst, err)
		}
	}
}

// BenchmarkMatchEscaped is BenchmarkMatch on an event whose keys and values,
// read and skipped alike, hold escapes: it times the string decoder
// (internal/jsontext) on the matching path.
func BenchmarkMatchEscaped(b *testing.B) {
	m := NewMatcher()
	for i := 0; i < 1000; i++ {
		p, err := Parse([]byte(fmt.Sprintf(`{"source":["app.%d"],"detail":{"state":[{"prefix":"run"}],"na\"me":[{"suffix":"\u00e9"}]}}`, i)))
		if err != nil {
			b.Fatal(err)
		}
		m.Add(fmt.Sprint(i), p)
	}
	ev := []byte(`{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"Note \"quoted\"\tand\u0009tabbed",` +
		`"\u0073ource":"app.\u00317","account":"111122223333","time":"2017-12-22T18:43:48Z","region":"us-west-1",` +
		`"resources":["arn:aws:ec2:us-west-1:123456789012:instance\/i-1234567890abcdef0","line\none \ud83d\ude00"],` +
		`"detail":{"st\u0061te":"r\u0075nning \\ fast","na\"me":"caf\u00e9","note":"\ud83d\ude00 \u2603 \\\/"}}`)
	benchMatch(b, m, ev)
}

// BenchmarkMatchDotted is BenchmarkMatch with half the patterns naming
// detail.state with a dotted key and the event spelling detail.state one
// way and detail.size the other (see dotted.go): it times the walk of
// dotted event keys.
func BenchmarkMatchDotted(b *testing.B) {
	m := NewMatcher()
	for i := 0; i < 1000; i++ {
		src := fmt.Sprintf(`{"source":["app.%d"],"detail":{"state":[{"prefix":"run"}],"size":[{"numeric":[">",%d]}]}}`, i, i)
		if i%2 == 1 {
			src = fmt.Sprintf(`{"source":["app.%d"],"detail.state":[{"prefix":"run"}],"detail":{"size":[{"numeric":[">",%d]}]}}`, i, i)
		}
		p, err := Parse([]byte(src))
		if err != nil {
			b.Fatal(err)
		}
		m.Add(fmt.Sprint(i), p)
	}
	ev := []byte(`{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"EC2 Instance State-change Notification",` +
		`"source":"app.17","account":"111122223333","time":"2017-12-22T18:43:48Z","region":"us-west-1",` +
		`"resources":["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],` +
		`"detail.size":20,"detail":{"instance-id":"i-1234567890abcdef0","state":"running","tags":[{"k":"a","v":"b"}],"x.y":1}}`)
	benchMatch(b, m, ev)
}
