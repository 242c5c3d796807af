// Package listener caps the connections a server holds open: in total, and
// per client address. It wraps a net.Listener, so that a connection over a
// cap is closed the moment it is accepted, before any goroutine, buffer or
// TLS state is spent on it, and so that a client holding many connections
// open (slowly, or idle) cannot take the places of the others.
package listener

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Reasons a connection is refused, the values of the metric's label.
const (
	ReasonTotal     = "total"      // the listener held Config.MaxConns
	ReasonPerClient = "per_client" // the client held Config.MaxConnsPerClient
)

var (
	refused = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_http_connections_refused_total",
		Help: "API connections closed as soon as accepted because a cap was reached: reason total (--max-conns) or per_client (--max-conns-per-client).",
	}, []string{"reason"})
	// The client side's switchyard_http_connections_open (package deliver)
	// counts connections to targets; this one counts the API's own.
	open = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "switchyard_http_server_connections_open",
		Help: "API connections open (accepted and not yet closed), idle keep-alive connections included.",
	})
)

// Config sets the caps; zero or less means no cap.
type Config struct {
	// MaxConns bounds the connections open at once, in total.
	MaxConns int
	// MaxConnsPerClient bounds the connections open at once from one
	// client: one IPv4 address, or one IPv6 /64 (the smallest network a
	// host is usually given, so that one host cannot multiply its share by
	// using more of its addresses).
	MaxConnsPerClient int
	// Logger reports refusals, at most one line every LogEvery.
	Logger *slog.Logger
}

// LogEvery spaces the log lines about refused connections: a flood of them
// must not become a flood of log lines.
const LogEvery = 10 * time.Second

// Listener is a net.Listener that enforces a Config. Its connections
// release their places when closed (the first Close only).
type Listener struct {
	net.Listener
	cfg Config

	mu        sync.Mutex
	total     int
	perClient map[netip.Prefix]int
	// Refusals since the last log line, and when that was.
	unlogged map[string]int
	lastLog  time.Time
}

// New wraps inner with the caps of cfg.
func New(inner net.Listener, cfg Config) *Listener {
	return &Listener{Listener: inner, cfg: cfg, perClient: map[netip.Prefix]int{}, unlogged: map[string]int{}}
}

// Accept returns the next connection within the caps. Connections over a
// cap are closed and counted here, never returned, so that the server never
// sees them.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := ClientKey(c.RemoteAddr())
		if reason := l.acquire(key); reason != "" {
			// Counted before the close, so that whoever sees the close
			// sees the count.
			refused.WithLabelValues(reason).Inc()
			_ = c.Close()
			l.logRefusal(reason, key)
			continue
		}
		open.Inc()
		return &conn{Conn: c, l: l, key: key}, nil
	}
}

// Open is the number of connections open, and of those from client key.
func (l *Listener) Open(key netip.Prefix) (total, client int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, l.perClient[key]
}

// acquire takes a place for a connection of key, or says which cap is full.
func (l *Listener) acquire(key netip.Prefix) (refusedFor string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cfg.MaxConns > 0 && l.total >= l.cfg.MaxConns {
		return ReasonTotal
	}
	if l.cfg.MaxConnsPerClient > 0 && l.perClient[key] >= l.cfg.MaxConnsPerClient {
		return ReasonPerClient
	}
	l.total++
	l.perClient[key]++
	return ""
}

func (l *Listener) release(key netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if n := l.perClient[key] - 1; n > 0 {
		l.perClient[key] = n
	} else {
		// Deleted, not kept at zero: the map must not grow with every
		// address that ever connected.
		delete(l.perClient, key)
	}
}

func (l *Listener) logRefusal(reason string, key netip.Prefix) {
	if l.cfg.Logger == nil {
		return
	}
	l.mu.Lock()
	l.unlogged[reason]++
	now := time.Now()
	if now.Sub(l.lastLog) < LogEvery {
		l.mu.Unlock()
		return
	}
	l.lastLog = now
	total, perClient := l.unlogged[ReasonTotal], l.unlogged[ReasonPerClient]
	clear(l.unlogged)
	l.mu.Unlock()
	l.cfg.Logger.Warn("connections refused: cap reached",
		"refused_max_conns", total, "max_conns", l.cfg.MaxConns,
		"refused_max_conns_per_client", perClient, "max_conns_per_client", l.cfg.MaxConnsPerClient,
		"last_client", key.String(), "last_reason", reason)
}

// ClientKey is what connections are counted by: the remote IPv4 address
// (as a /32), or the remote IPv6 address's /64. IPv4-mapped IPv6 addresses
// count as IPv4. An address that is not IP (a Unix socket, a pipe) has the
// zero key: all such connections count as one client.
func ClientKey(a net.Addr) netip.Prefix {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.TCPAddr:
		ap = a.AddrPort()
	case *net.UDPAddr:
		ap = a.AddrPort()
	default:
		if a == nil {
			return netip.Prefix{}
		}
		var err error
		if ap, err = netip.ParseAddrPort(a.String()); err != nil {
			return netip.Prefix{}
		}
	}
	ip := ap.Addr().Unmap().WithZone("")
	if !ip.IsValid() {
		return netip.Prefix{}
	}
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits) // cannot fail: bits fit the address
	return p
}

// conn releases its place in the listener on its first Close.
type conn struct {
	net.Conn
	l    *Listener
	key  netip.Prefix
	once sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.release(c.key)
		open.Dec()
	})
	return err
}

// CloseWrite half-closes the connection when the wrapped one can. net/http
// looks for this method to send its FIN before closing a connection whose
// request body it did not read (an answer such as a 408 or 413 would else
// risk being lost to the client under the RST that closing with unread
// data sends); without it, the wrapper would hide the *net.TCPConn's.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// NetConn returns the wrapped connection.
func (c *conn) NetConn() net.Conn { return c.Conn }
