// Package console is Switchyard's web console, served by `switchyard serve`
// at /console/: a static single-page app (HTML, CSS and vanilla
// JavaScript, embedded in the binary; no framework, no CDN) for event buses,
// rules with a live-validating pattern editor and a sandbox, targets,
// connections and API destinations, archives and replays, a live tail and
// per-rule charts of the /metrics counters.
//
// The page holds no server-side state and has no API of its own: the
// browser calls the EventBridge API itself (POST / with X-Amz-Target, AWS
// JSON 1.1), the live tail (GET /_switchyard/tail, read as a stream with
// fetch) and /metrics, exactly as the AWS CLI and `switchyard tail` do.
//
// # Authentication
//
// Under --auth sigv4 the user signs in with an access key id and secret
// access key, which stay in the tab's sessionStorage, and the browser signs
// every request with SigV4 (Web Crypto HMAC-SHA256, assets/sigv4.js),
// verified by the same sigv4.Verifier as any SDK's request. This was
// chosen over a server-side session (a cookie standing for the key)
// because:
//
//   - the API, the tail and the REST services keep one authentication path;
//     nothing the console does is possible only through it, and IAM policies
//     of the key apply to the console as to the CLI;
//   - there is no session to store, share across the processes of a
//     cluster, expire or revoke: revoking the key in the credentials file
//     ends the console's access at once;
//   - there is no cookie, so no CSRF: a request is only good with a
//     signature that a page of another origin cannot make without the
//     secret.
//
// The secret never leaves the browser (only signatures do) and is never in
// a URL. What guards it in the browser is that no script but the console's
// runs there: the Content-Security-Policy allows scripts from this origin
// only (no inline script, no eval), and the app renders all data with
// textContent, never innerHTML. Web Crypto needs a secure context: serve
// with --tls-* for remote browsers (http://127.0.0.1 and localhost count as
// secure). Under --auth none the console asks for nothing: it signs with
// the account it is told (a 12-digit access key id, the way auth.None
// reads it) and the region picked in the page.
//
// The page itself (HTML, scripts, styles, and config.json saying which
// --auth the server runs) is served to anyone, as a sign-in page is: it
// holds nothing but code. Every piece of data it shows comes through the
// API, the tail and /metrics, each as authenticated as it is for any
// other client. The counters of /metrics are those of the process that
// answers: behind a load balancer over several processes, the charts show
// one process's share.
//
// Handler serves only the files embedded from assets/ (anything else is a
// 404, with no directory listings and no path traversal) with security
// headers on every answer.
package console

import (
	"bytes"
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// Path is where the console is served; Handler expects to be mounted there
// (mux.Handle(console.Path, ...)).
const Path = "/console/"

//go:embed assets
var assets embed.FS

// csp lets the page load its own scripts, styles and images and talk to
// its own origin, nothing else: no inline script or style, no eval, no
// frames, no forms posting elsewhere.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Options configure the console.
type Options struct {
	// Auth is the server's --auth mode, "none" or "sigv4" ("" is sigv4,
	// the server's default): the page asks for keys only under sigv4.
	Auth string
	// APITimeout bounds each API call the page makes (DefaultAPITimeout
	// if 0): a server that hangs gets an error shown, not a page that
	// waits forever. The live tail is not bounded.
	APITimeout time.Duration
}

// DefaultAPITimeout is Options.APITimeout unless set.
const DefaultAPITimeout = 30 * time.Second

// Handler serves the console's embedded files and its configuration.
type Handler struct {
	files   map[string][]byte
	modTime time.Time
}

// New returns the console handler.
func New(o Options) *Handler {
	if o.Auth != "none" {
		o.Auth = "sigv4"
	}
	if o.APITimeout <= 0 {
		o.APITimeout = DefaultAPITimeout
	}
	h := &Handler{files: map[string][]byte{}, modTime: time.Now()}
	_ = fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		h.files[strings.TrimPrefix(p, "assets/")] = b
		return nil
	})
	cfg, _ := json.Marshal(struct {
		Auth         string `json:"auth"`
		APITimeoutMS int64  `json:"apiTimeoutMs"`
	}{o.Auth, o.APITimeout.Milliseconds()})
	h.files["config.json"] = cfg
	return h
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".json": "application/json",
	".svg":  "image/svg+xml",
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("Cache-Control", "no-cache")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// The name is looked up as is, among the embedded files: no file
	// system is opened, so "..", encoded slashes or NUL bytes can only
	// fail to match.
	name, ok := strings.CutPrefix(r.URL.Path, Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if name == "" {
		name = "index.html"
	}
	b, ok := h.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	ct, ok := contentTypes[path.Ext(name)]
	if !ok {
		ct = "application/octet-stream"
	}
	hd.Set("Content-Type", ct)
	http.ServeContent(w, r, name, h.modTime, bytes.NewReader(b))
}
