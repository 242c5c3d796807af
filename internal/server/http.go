package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/switchyard/switchyard/internal/listener"
	"github.com/switchyard/switchyard/internal/reqtimeout"
)

// HTTPLimits bound what one client can hold of the API server: connections
// (package listener) and time (package reqtimeout, and net/http's own
// header and idle timeouts). Zero turns a bound off.
type HTTPLimits struct {
	MaxConns          int           // connections open at once, in total
	MaxConnsPerClient int           // ... from one IPv4 address or IPv6 /64
	ReadHeaderTimeout time.Duration // from accept (or the first byte after idle) to the end of the headers
	BodyTimeout       time.Duration // from the end of the headers to the end of the body, before MinRate extends it
	BodyMinRate       int64         // bytes/s: each MinRate bytes received extend the body's deadline by a second
	WriteTimeout      time.Duration // from the first write of the answer to its end
	IdleTimeout       time.Duration // a kept-alive connection with no request
}

// DefaultReadHeaderTimeout is the header deadline when HTTPLimits has none.
// It predates HTTPLimits and is not a flag: headers are small, and 10 s
// covers any link that can carry the API at all.
const DefaultReadHeaderTimeout = 10 * time.Second

func newHTTPServer(l HTTPLimits, h http.Handler) *http.Server {
	hdr := l.ReadHeaderTimeout
	if hdr <= 0 {
		hdr = DefaultReadHeaderTimeout
	}
	return &http.Server{
		Handler: reqtimeout.Handler(reqtimeout.Config{Body: l.BodyTimeout, MinRate: l.BodyMinRate, Write: l.WriteTimeout}, h),
		// ReadTimeout and WriteTimeout stay unset: both count from before
		// the body, so one value would either cut large bodies on slow
		// links or let a trickle hold a connection; reqtimeout bounds the
		// body by its progress and the answer from its first write.
		ReadHeaderTimeout: hdr,
		IdleTimeout:       l.IdleTimeout,
	}
}

// listen opens the API's listener with the connection caps, and TLS when
// files names a key pair. The caps count TCP connections, before their
// handshakes, so a client cannot hold more by never finishing one.
func listen(addr string, l HTTPLimits, files TLSFiles, log *slog.Logger) (net.Listener, error) {
	var certs *certReloader
	if files.CertFile != "" || files.KeyFile != "" {
		var err error
		if certs, err = newCertReloader(files, log); err != nil {
			return nil, err
		}
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	capped := listener.New(lis, listener.Config{MaxConns: l.MaxConns, MaxConnsPerClient: l.MaxConnsPerClient, Logger: log})
	if certs == nil {
		return capped, nil
	}
	return tls.NewListener(capped, certs.tlsConfig()), nil
}
