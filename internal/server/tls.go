package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// TLSFiles names the API listener's certificate chain and private key, PEM
// encoded. Both empty serves plain HTTP.
type TLSFiles struct {
	CertFile, KeyFile string
}

// certReloader serves the key pair of TLSFiles, read again when either
// file's modification time changes (checked at most every recheck), so a
// renewed certificate (certbot, cert-manager) is taken without a restart.
// A pair that no longer loads leaves the previous one in use, logged.
type certReloader struct {
	files   TLSFiles
	log     *slog.Logger
	recheck time.Duration

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   [2]time.Time
	checked time.Time
}

func newCertReloader(f TLSFiles, log *slog.Logger) (*certReloader, error) {
	if f.CertFile == "" || f.KeyFile == "" {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	r := &certReloader{files: f, log: log, recheck: 5 * time.Second}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *certReloader) stamps() ([2]time.Time, error) {
	var st [2]time.Time
	for i, p := range []string{r.files.CertFile, r.files.KeyFile} {
		fi, err := os.Stat(p)
		if err != nil {
			return st, fmt.Errorf("tls: %w", err)
		}
		st[i] = fi.ModTime()
	}
	return st, nil
}

// load reads the pair; r.mu is held or r is not shared yet.
func (r *certReloader) load() error {
	st, err := r.stamps()
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(r.files.CertFile, r.files.KeyFile)
	if err != nil {
		return fmt.Errorf("tls: load %s and %s: %w", r.files.CertFile, r.files.KeyFile, err)
	}
	r.cert, r.stamp = &cert, st
	return nil
}

func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.checked) >= r.recheck {
		r.checked = now
		if st, err := r.stamps(); err == nil && st != r.stamp {
			if err := r.load(); err != nil {
				r.log.Error("tls: the new certificate does not load; serving the previous one", "err", err)
			} else {
				r.log.Info("tls: certificate reloaded", "cert", r.files.CertFile)
			}
		}
	}
	return r.cert, nil
}

// tlsConfig is the API listener's TLS configuration: TLS 1.2 or later (as
// AWS's endpoints require), HTTP/1.1 only (the API's protocol; net/http's
// HTTP/2 would bypass the connection caps' per-stream accounting).
func (r *certReloader) tlsConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.getCertificate, NextProtos: []string{"http/1.1"}}
}
