package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// slowOutcome is how the server ended one slow connection.
type slowOutcome struct {
	status int           // the answer's status, 0 if the connection closed without one
	after  time.Duration // from the end of the headers
	err    error         // the connection outlived the test's patience
}

// TestSlowBodiesAreCut: 200 connections declare a 100,000-byte PutEvents
// body and send one byte of it a second. With --request-body-timeout 3s
// every one is answered 408 RequestTimeoutException (or closed) a little
// after 3 s, and an SDK client is served quickly all along.
func TestSlowBodiesAreCut(t *testing.T) {
	const (
		conns    = 200
		deadline = 3 * time.Second
		margin   = 3 * time.Second // a loaded 2-core machine, and the RST-avoidance pause of net/http
	)
	s := startServer(t, "--request-body-timeout", deadline.String(), "--request-body-min-rate", "4096",
		"--max-conns-per-client", "400")
	c := s.client(acct, "us-east-1")
	cx := ctx(t)
	if _, err := c.ListEventBuses(cx, &eventbridge.ListEventBusesInput{}); err != nil {
		t.Fatal(err)
	}
	timeoutsBefore := metricSum(t, s, "switchyard_http_request_body_timeouts_total", "")

	stop := make(chan struct{})
	defer close(stop)
	outcomes := make(chan slowOutcome, conns)
	var opened sync.WaitGroup
	for range conns {
		opened.Add(1)
		go func() {
			outcomes <- slowPutEvents(s.addr, stop, opened.Done, deadline+margin+5*time.Second)
		}()
	}
	opened.Wait()

	// Meanwhile, a normal client's calls are answered at once.
	var slowest time.Duration
	phaseEnd := time.Now().Add(deadline)
	for i := 0; time.Now().Before(phaseEnd); i++ {
		start := time.Now()
		out, err := c.PutEvents(cx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{
			{Source: aws.String("test.slow"), DetailType: aws.String("t"), Detail: aws.String(`{"n":` + strconv.Itoa(i) + `}`)},
		}})
		if err != nil {
			t.Fatalf("PutEvents while slow clients are connected: %v", err)
		}
		if out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents while slow clients are connected: %d failed", out.FailedEntryCount)
		}
		if _, err := c.ListEventBuses(cx, &eventbridge.ListEventBusesInput{}); err != nil {
			t.Fatalf("ListEventBuses while slow clients are connected: %v", err)
		}
		slowest = max(slowest, time.Since(start))
		time.Sleep(200 * time.Millisecond)
	}
	if slowest > time.Second {
		t.Errorf("a PutEvents and ListEventBuses took %v while slow clients were connected", slowest)
	}

	var answered, closed int
	var latest time.Duration
	for range conns {
		o := <-outcomes
		switch {
		case o.err != nil:
			t.Fatalf("a slow connection: %v", o.err)
		case o.status == http.StatusRequestTimeout:
			answered++
		case o.status == 0:
			closed++
		default:
			t.Fatalf("a slow connection was answered %d, want 408 or a close", o.status)
		}
		latest = max(latest, o.after)
		if o.after < deadline-100*time.Millisecond {
			t.Fatalf("a slow connection was cut after %v, before the %v deadline", o.after, deadline)
		}
	}
	t.Logf("%d slow connections: %d answered 408, %d closed; the last %v after its headers; SDK calls took at most %v",
		conns, answered, closed, latest.Round(time.Millisecond), slowest.Round(time.Millisecond))
	if latest > deadline+margin {
		t.Fatalf("the last slow connection was cut %v after its headers, want within %v", latest, deadline+margin)
	}
	if answered == 0 {
		t.Errorf("no slow connection got its 408")
	}
	if got := metricSum(t, s, "switchyard_http_request_body_timeouts_total", "") - timeoutsBefore; got != conns {
		t.Errorf("switchyard_http_request_body_timeouts_total grew by %v, want %d", got, conns)
	}
}

// slowPutEvents sends the headers of a 100,000-byte PutEvents and then one
// body byte a second, and reports how the server ended the connection.
// headersSent is called once the headers are written.
func slowPutEvents(addr string, stop <-chan struct{}, headersSent func(), patience time.Duration) slowOutcome {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		headersSent()
		return slowOutcome{err: fmt.Errorf("dial: %w", err)}
	}
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: %s\r\nX-Amz-Target: AWSEvents.PutEvents\r\n"+
		"Content-Type: application/x-amz-json-1.1\r\nContent-Length: 100000\r\n\r\n{", addr)
	start := time.Now()
	headersSent()
	if err != nil {
		return slowOutcome{err: fmt.Errorf("send headers: %w", err)}
	}
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	_ = conn.SetReadDeadline(start.Add(patience))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		if isTimeout(err) {
			return slowOutcome{err: fmt.Errorf("no answer and still open after %v", time.Since(start))}
		}
		return slowOutcome{after: time.Since(start)} // closed (EOF or reset)
	}
	after := time.Since(start)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusRequestTimeout && resp.Header.Get("X-Amzn-Errortype") != "RequestTimeoutException" {
		return slowOutcome{err: fmt.Errorf("408 with x-amzn-ErrorType %q", resp.Header.Get("X-Amzn-Errortype"))}
	}
	// The answer given, the connection must close too.
	if _, err := br.ReadByte(); err == nil || isTimeout(err) {
		return slowOutcome{err: fmt.Errorf("still open after its %d answer (%v)", resp.StatusCode, err)}
	}
	return slowOutcome{status: resp.StatusCode, after: after}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// fromAddr is an HTTP client whose connections come from the local
// address ip (any of 127/8 reaches loopback on Linux).
func fromAddr(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

// TestConnectionsPerClient: with --max-conns-per-client 20, a 21st
// connection from 127.0.0.1 is closed as soon as it is accepted, while a
// client on 127.0.0.2 is served as usual; a closed connection frees its
// place.
func TestConnectionsPerClient(t *testing.T) {
	const limit = 20
	s := startServer(t, "--max-conns-per-client", strconv.Itoa(limit))
	local := func(ip string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", s.addr)
		if err != nil {
			t.Fatalf("dial from %s: %v", ip, err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// health asks GET /health on c and reports whether it was answered.
	health := func(c net.Conn) error {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	held := make([]net.Conn, limit)
	for i := range held {
		held[i] = local("127.0.0.1")
		if err := health(held[i]); err != nil { // each kept alive after its answer
			t.Fatalf("connection %d within the cap: %v", i, err)
		}
	}

	for range 3 {
		over := local("127.0.0.1")
		start := time.Now()
		err := health(over)
		if err == nil {
			t.Fatal("a connection over the cap was served")
		}
		if isTimeout(err) || time.Since(start) > time.Second {
			t.Fatalf("a connection over the cap was not closed at once: %v after %v", err, time.Since(start))
		}
	}

	// Another client address is served as usual, by the SDK too.
	other := fromAddr("127.0.0.2")
	c := eventbridge.New(eventbridge.Options{
		Region: "us-east-1", BaseEndpoint: aws.String("http://" + s.addr), HTTPClient: other,
		Credentials: credentials.NewStaticCredentialsProvider(acct, "secret", ""), RetryMaxAttempts: 1,
	})
	cx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.ListEventBuses(cx, &eventbridge.ListEventBusesInput{}); err != nil {
		t.Fatalf("ListEventBuses from 127.0.0.2 while 127.0.0.1 is at its cap: %v", err)
	}
	metrics := scrape(t, other, s.addr)
	if got := metrics[`switchyard_http_connections_refused_total{reason="per_client"}`]; got != 3 {
		t.Errorf("refused{per_client} = %v, want 3", got)
	}
	if got := metrics["switchyard_http_server_connections_open"]; got < limit+1 {
		t.Errorf("connections open = %v, want at least %d (the held ones and 127.0.0.2's)", got, limit+1)
	}

	// One held connection closes: its place serves a new one.
	held[0].Close()
	var err error
	for try := 0; try < 20; try++ { // the server notices the close a moment later
		if err = health(local("127.0.0.1")); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("no connection served after one of the held ones closed: %v", err)
	}
}

// TestIdleConnectionsClosed: a kept-alive connection without a request is
// closed after --idle-timeout.
func TestIdleConnectionsClosed(t *testing.T) {
	s := startServer(t, "--idle-timeout", "1s")
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	start := time.Now()
	if _, err := br.ReadByte(); err == nil || isTimeout(err) {
		t.Fatalf("idle connection not closed: %v", err)
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 4*time.Second {
		t.Fatalf("idle connection closed after %v, want about 1s", d)
	}
}

// scrape reads the process's /metrics with hc, by series.
func scrape(t *testing.T, hc *http.Client, addr string) map[string]float64 {
	t.Helper()
	resp, err := hc.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(line, "#") {
			continue
		}
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		out[strings.Join(f[:len(f)-1], " ")] = v
	}
	return out
}
