package healthcheck

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/switchyard/switchyard/internal/netguard"
)

// TestObserve: one observation of a target, as a Route 53 health checker
// makes it, against real local servers: 2xx and 3xx are healthy, 4xx and
// 5xx not, a redirect is not followed, the Host header is Route 53's, a
// string-matching check needs the string in the first 5,120 bytes, HTTPS
// does not validate the certificate, TCP needs only the connection, and a
// target that hangs, refuses, or is in a denied range fails within Route
// 53's bounds.
func TestObserve(t *testing.T) {
	var lastHost string
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { lastHost = r.Host; _, _ = w.Write([]byte("all good")) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/nowhere", http.StatusFound) })
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/late-string", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(strings.Repeat("x", searchBytes) + "needle"))
	})
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tlsSrv := httptest.NewTLSServer(mux) // a self-signed certificate
	t.Cleanup(tlsSrv.Close)
	port := func(s *httptest.Server) *int32 {
		_, p, _ := net.SplitHostPort(s.Listener.Addr().String())
		n, _ := strconv.Atoi(p)
		return aws.Int32(int32(n))
	}
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := aws.Int32(int32(closed.Addr().(*net.TCPAddr).Port))
	closed.Close()

	cases := []struct {
		name    string
		cfg     types.HealthCheckConfig
		guard   string
		healthy bool
		status  string
		host    string
	}{
		{name: "200", cfg: types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, IPAddress: aws.String("127.0.0.1"), Port: port(srv), ResourcePath: aws.String("/ok")},
			healthy: true, status: "Success: HTTP Status Code 200, OK.", host: "127.0.0.1:" + strconv.Itoa(int(*port(srv)))},
		{name: "host header is the domain name", cfg: types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, IPAddress: aws.String("127.0.0.1"),
			FullyQualifiedDomainName: aws.String("primary.example"), Port: port(srv), ResourcePath: aws.String("ok")},
			healthy: true, host: "primary.example:" + strconv.Itoa(int(*port(srv)))},
		{name: "domain name resolved", cfg: types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, FullyQualifiedDomainName: aws.String("localhost"),
			Port: port(srv), ResourcePath: aws.String("/ok")}, healthy: true},
		{name: "302 not followed", cfg: types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, IPAddress: aws.String("127.0.0.1"), Port: port(srv), ResourcePath: aws.String("/moved")},
			healthy: true, status: "Success: HTTP Status Code 302, Found."},
		{name: "503", cfg: types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, IPAddress: aws.String("127.0.0.1"), Port: port(srv), ResourcePath: aws.String("/down")},
			status: "Failure: HTTP Status Code 503, Service Unavailable."},
		{name: "404", cfg: types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, IPAddress: aws.String("127.0.0.1"), Port: port(srv), ResourcePath: aws.String("/missing")},
			status: "Failure: HTTP Status Code 404"},
		{name: "string found", cfg: types.HealthCheckConfig{Type: types.HealthCheckTypeHttpStrMatch, IPAddress: aws.String("127.0.0.1"), Port: port(srv),
			ResourcePath: aws.String("/ok"), SearchString: aws.String("good")}, healthy: true},
		{name: "string past 5120 bytes", cfg: types.HealthCheckConfig{Type: types.HealthCheckTypeHttpStrMatch, IPAddress: aws.String("127.0.0.1"), Port: port(srv),
			ResourcePath: aws.String("/late-string"), SearchString: aws.String("needle")}, status: "The search string was not found"},
		{name: "https, self-signed", cfg: types.HealthCheckConfig{Type: types.HealthCheckTypeHttps, IPAddress: aws.String("127.0.0.1"), Port: port(tlsSrv), ResourcePath: aws.String("/ok")},
			healthy: true},
		{name: "https with SNI", cfg: types.HealthCheckConfig{Type: types.HealthCheckTypeHttpsStrMatch, IPAddress: aws.String("127.0.0.1"), Port: port(tlsSrv),
			FullyQualifiedDomainName: aws.String("example.com"), EnableSNI: aws.Bool(true), ResourcePath: aws.String("/ok"), SearchString: aws.String("all")}, healthy: true},
		{name: "tcp", cfg: types.HealthCheckConfig{Type: types.HealthCheckTypeTcp, IPAddress: aws.String("127.0.0.1"), Port: port(srv)},
			healthy: true, status: "Success: TCP connection established."},
		{name: "tcp refused", cfg: types.HealthCheckConfig{Type: types.HealthCheckTypeTcp, IPAddress: aws.String("127.0.0.1"), Port: closedPort},
			status: "Failure: Connection refused."},
		{name: "http refused", cfg: types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, IPAddress: aws.String("127.0.0.1"), Port: closedPort},
			status: "Failure: Connection refused."},
		{name: "hangs", cfg: types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, IPAddress: aws.String("127.0.0.1"), Port: port(srv), ResourcePath: aws.String("/hang")},
			status: "did not respond with an HTTP status code within 2s"},
		{name: "denied range", cfg: types.HealthCheckConfig{Type: types.HealthCheckTypeHttp, IPAddress: aws.String("127.0.0.1"), Port: port(srv), ResourcePath: aws.String("/ok")},
			guard: "127.0.0.0/8", status: "--deny-target-cidrs"},
		{name: "no address", cfg: types.HealthCheckConfig{Type: types.HealthCheckTypeHttp}, status: "neither an IP address nor a domain name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := netguard.Parse(c.guard)
			if err != nil {
				t.Fatal(err)
			}
			p := prober{guard: g, resolver: net.DefaultResolver}
			lastHost = ""
			start := time.Now()
			healthy, status := p.observe(context.Background(), targetOf(&c.cfg))
			if took := time.Since(start); took > httpConnect+httpStatus+httpBody+time.Second {
				t.Errorf("took %v", took)
			}
			if healthy != c.healthy || !strings.Contains(status, c.status) {
				t.Errorf("observe = %v %q, want %v %q", healthy, status, c.healthy, c.status)
			}
			if c.host != "" && lastHost != c.host {
				t.Errorf("Host %q, want %q", lastHost, c.host)
			}
		})
	}
}

// TestHostHeader: Route 53's Host header is the domain name (else the IP
// address), with the port unless it is the scheme's default.
func TestHostHeader(t *testing.T) {
	for _, c := range []struct {
		typ  types.HealthCheckType
		ip   string
		fqdn string
		port int32
		want string
	}{
		{types.HealthCheckTypeHttp, "192.0.2.1", "a.example", 80, "a.example"},
		{types.HealthCheckTypeHttps, "192.0.2.1", "a.example", 443, "a.example"},
		{types.HealthCheckTypeHttp, "192.0.2.1", "a.example", 8080, "a.example:8080"},
		{types.HealthCheckTypeHttps, "192.0.2.1", "", 80, "192.0.2.1:80"},
		{types.HealthCheckTypeHttp, "2001:db8::1", "", 8080, "[2001:db8::1]:8080"},
	} {
		tg := targetOf(&types.HealthCheckConfig{Type: c.typ, IPAddress: aws.String(c.ip), FullyQualifiedDomainName: aws.String(c.fqdn), Port: aws.Int32(c.port)})
		if got := tg.hostHeader(); got != c.want {
			t.Errorf("%s %s %s %d: Host %q, want %q", c.typ, c.ip, c.fqdn, c.port, got, c.want)
		}
	}
	if tg := targetOf(&types.HealthCheckConfig{Type: types.HealthCheckTypeHttps, IPAddress: aws.String("192.0.2.1")}); tg.port != 443 || tg.path != "/" {
		t.Errorf("defaults: %+v", tg)
	}
}
