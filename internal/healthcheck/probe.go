package healthcheck

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/switchyard/switchyard/internal/netguard"
)

// Route 53's time limits for one health checker's observation (Route 53
// Developer Guide, "How Amazon Route 53 determines whether a health check
// is healthy"): HTTP and HTTPS checks must connect within four seconds and
// have a 2xx or 3xx status within two seconds after connecting; string
// matching checks then have two more seconds for the body, whose first
// 5,120 bytes must hold the search string; TCP checks must connect within
// ten seconds.
const (
	httpConnect = 4 * time.Second
	httpStatus  = 2 * time.Second
	httpBody    = 2 * time.Second
	tcpConnect  = 10 * time.Second
	searchBytes = 5120
)

// target is the part of a health check's configuration a probe needs,
// with Route 53's defaults applied.
type target struct {
	typ     types.HealthCheckType
	ip      string // IPAddress, or empty: resolve fqdn
	fqdn    string
	port    int
	path    string
	search  string
	sni     bool
	display string // for logs: host:port/path
}

// targetOf reads a health check's configuration. Port defaults to 80 for
// HTTP and 443 for HTTPS, as Route 53's console and CloudFormation set it
// (the API requires it for TCP); ResourcePath to "/".
func targetOf(c *types.HealthCheckConfig) target {
	t := target{typ: c.Type, ip: aws.ToString(c.IPAddress), fqdn: aws.ToString(c.FullyQualifiedDomainName),
		path: aws.ToString(c.ResourcePath), search: aws.ToString(c.SearchString), sni: aws.ToBool(c.EnableSNI)}
	switch {
	case c.Port != nil:
		t.port = int(*c.Port)
	case t.https():
		t.port = 443
	default:
		t.port = 80
	}
	if t.path == "" || t.path[0] != '/' {
		t.path = "/" + t.path
	}
	host := t.ip
	if host == "" {
		host = t.fqdn
	}
	t.display = net.JoinHostPort(host, strconv.Itoa(t.port))
	if t.typ != types.HealthCheckTypeTcp {
		t.display += t.path
	}
	return t
}

func (t *target) https() bool {
	return t.typ == types.HealthCheckTypeHttps || t.typ == types.HealthCheckTypeHttpsStrMatch
}

// probes reports whether Switchyard observes this type of health check
// itself: the ones that monitor an endpoint. The others (CALCULATED,
// CLOUDWATCH_METRIC, RECOVERY_CONTROL) are Route 53's own to evaluate.
func probes(typ types.HealthCheckType) bool {
	switch typ {
	case types.HealthCheckTypeHttp, types.HealthCheckTypeHttps, types.HealthCheckTypeHttpStrMatch,
		types.HealthCheckTypeHttpsStrMatch, types.HealthCheckTypeTcp:
		return true
	}
	return false
}

// hostHeader is the Host header Route 53 sends: FullyQualifiedDomainName
// (or, without one, IPAddress), with ":port" unless the port is the
// scheme's default (the HealthCheckConfig documentation of
// FullyQualifiedDomainName).
func (t *target) hostHeader() string {
	h := t.fqdn
	if h == "" {
		h = t.ip
	}
	if (t.https() && t.port == 443) || (!t.https() && t.port == 80) {
		return h
	}
	return net.JoinHostPort(h, strconv.Itoa(t.port))
}

// prober makes one observation of a target, as one Route 53 health
// checker makes it.
type prober struct {
	guard    *netguard.Guard
	resolver *net.Resolver
}

// observe makes one observation: whether the target is healthy, and the
// status in Route 53's style ("Success: ...", "Failure: ...").
func (p *prober) observe(ctx context.Context, t target) (bool, string) {
	connect := httpConnect
	if t.typ == types.HealthCheckTypeTcp {
		connect = tcpConnect
	}
	addr, err := p.address(ctx, t, connect)
	if err != nil {
		return false, "Failure: " + err.Error()
	}
	dialer := &net.Dialer{Timeout: connect, Control: p.guard.Control}
	if t.typ == types.HealthCheckTypeTcp {
		conn, err := dialer.DialContext(ctx, "tcp", addr)
		if err != nil {
			return false, "Failure: " + dialFailure(err)
		}
		_ = conn.Close()
		return true, "Success: TCP connection established."
	}
	return p.observeHTTP(ctx, t, addr, dialer)
}

// address is the ip:port to connect to: IPAddress, or the first IPv4
// address DNS has for FullyQualifiedDomainName ("Using an IPv4 address
// that DNS returns, Route 53 then checks the health of the endpoint").
func (p *prober) address(ctx context.Context, t target, within time.Duration) (string, error) {
	port := strconv.Itoa(t.port)
	if t.ip != "" {
		return net.JoinHostPort(t.ip, port), nil
	}
	if t.fqdn == "" {
		return "", errors.New("the health check has neither an IP address nor a domain name")
	}
	rctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	ips, err := p.resolver.LookupNetIP(rctx, "ip4", t.fqdn)
	if err != nil || len(ips) == 0 {
		return "", fmt.Errorf("DNS resolution of %s failed", t.fqdn)
	}
	return net.JoinHostPort(ips[0].Unmap().String(), port), nil
}

func (p *prober) observeHTTP(ctx context.Context, t target, addr string, dialer *net.Dialer) (bool, string) {
	var connected atomic.Bool
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			connected.Store(err == nil)
			return c, err
		},
		// "HTTPS health checks don't validate SSL/TLS certificates, so
		// checks don't fail if a certificate is invalid or expired."
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: true, ServerName: sniName(t)}, //nolint:gosec // as Route 53 does
		TLSHandshakeTimeout:    httpStatus,
		ResponseHeaderTimeout:  httpStatus,
		DisableKeepAlives:      true,
		Proxy:                  nil,
		MaxResponseHeaderBytes: 64 << 10,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr,
		// A redirect is a 3xx: healthy, not followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	scheme := "http"
	if t.https() {
		scheme = "https"
	}
	// The whole observation is bounded: connect, status, body.
	octx, cancel := context.WithTimeout(ctx, httpConnect+httpStatus+httpBody)
	defer cancel()
	req, err := http.NewRequestWithContext(octx, http.MethodGet, scheme+"://"+addr+t.path, nil)
	if err != nil {
		return false, "Failure: the resource path is not valid: " + err.Error()
	}
	req.Host = t.hostHeader()
	req.Header.Set("User-Agent", "Amazon-Route53-Health-Check-Service (Switchyard)")
	resp, err := client.Do(req)
	if err != nil {
		if !connected.Load() {
			return false, "Failure: " + dialFailure(err)
		}
		return false, "Failure: The endpoint did not respond with an HTTP status code within " + httpStatus.String() + " of connecting."
	}
	defer resp.Body.Close()
	code := fmt.Sprintf("HTTP Status Code %d, %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return false, "Failure: " + code + "."
	}
	if t.typ == types.HealthCheckTypeHttpStrMatch || t.typ == types.HealthCheckTypeHttpsStrMatch {
		body := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, searchBytes))
			body <- b
		}()
		select {
		case b := <-body:
			if !bytes.Contains(b, []byte(t.search)) {
				return false, "Failure: " + code + ". The search string was not found in the first 5120 bytes of the response body."
			}
		case <-time.After(httpBody):
			return false, "Failure: " + code + ". The response body was not received within " + httpBody.String() + "."
		}
	}
	return true, "Success: " + code + "."
}

// sniName is the TLS server name a check sends: FullyQualifiedDomainName
// when EnableSNI is set, else none (the request's host is an IP address,
// which TLS does not send as a server name).
func sniName(t target) string {
	if t.sni {
		return t.fqdn
	}
	return ""
}

// dialFailure words a connection failure as a Route 53 status would.
func dialFailure(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, netguard.ErrDenied):
		return "The address is in a range Switchyard may not connect to (--deny-target-cidrs): " + err.Error()
	case errors.Is(err, syscall.ECONNREFUSED):
		return "Connection refused. The endpoint is not accepting connections on the port."
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return "Connection timed out. The endpoint or the internet connection is down, or requests are being blocked by your firewall."
	}
	return "The connection could not be made: " + strings.TrimPrefix(err.Error(), "Get ")
}
