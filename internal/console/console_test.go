package console

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// serve sends a request for the raw path (not cleaned, as a hostile client
// may send it) to h.
func serve(h http.Handler, method, rawPath string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/", nil)
	r.URL = &url.URL{Path: rawPath, RawPath: rawPath}
	if u, err := url.ParseRequestURI(rawPath); err == nil {
		r.URL = u
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestServe(t *testing.T) {
	h := New(Options{Auth: "none"})
	for _, tc := range []struct {
		method, path string
		status       int
		contentType  string
		contains     string
	}{
		{"GET", "/console/", 200, "text/html; charset=utf-8", `<script type="module" src="app.js"></script>`},
		{"GET", "/console/index.html", 200, "text/html; charset=utf-8", "<title>Switchyard console</title>"},
		{"HEAD", "/console/", 200, "text/html; charset=utf-8", ""},
		{"GET", "/console/app.js", 200, "text/javascript; charset=utf-8", "import { sign }"},
		{"GET", "/console/sigv4.js", 200, "text/javascript; charset=utf-8", "AWS4-HMAC-SHA256"},
		{"GET", "/console/style.css", 200, "text/css; charset=utf-8", "body"},
		{"GET", "/console/config.json", 200, "application/json", `{"auth":"none","apiTimeoutMs":30000}`},
		{"GET", "/console/missing.js", 404, "", ""},
		{"GET", "/console/assets/app.js", 404, "", ""},
		{"GET", "/console/../go.mod", 404, "", ""},
		{"GET", "/console/../../../../etc/passwd", 404, "", ""},
		{"GET", "/console/%2e%2e/console.go", 404, "", ""},
		{"GET", "/console/..%2fconsole.go", 404, "", ""},
		{"GET", "/console/./app.js", 404, "", ""},
		{"GET", "/console//app.js", 404, "", ""},
		{"GET", "/console/app.js%00", 404, "", ""},
		{"GET", "/console/console.go", 404, "", ""},
		{"GET", "/console/testdata/", 404, "", ""},
		{"GET", "/consolex/app.js", 404, "", ""},
		{"POST", "/console/", 405, "", ""},
		{"PUT", "/console/app.js", 405, "", ""},
		{"DELETE", "/console/app.js", 405, "", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			w := serve(h, tc.method, tc.path)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			// Every answer, errors too, carries the security headers.
			for name, want := range map[string]string{
				"Content-Security-Policy": csp,
				"X-Content-Type-Options":  "nosniff",
				"X-Frame-Options":         "DENY",
				"Referrer-Policy":         "no-referrer",
			} {
				if got := w.Header().Get(name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			if tc.contentType != "" && w.Header().Get("Content-Type") != tc.contentType {
				t.Errorf("Content-Type %q, want %q", w.Header().Get("Content-Type"), tc.contentType)
			}
			if !strings.Contains(w.Body.String(), tc.contains) {
				t.Errorf("body does not contain %q", tc.contains)
			}
		})
	}
}

func TestCSPAllowsNoInlineScript(t *testing.T) {
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:", "data: 'self'; script"} {
		if strings.Contains(csp, bad) {
			t.Errorf("the CSP %q allows %q", csp, bad)
		}
	}
	// The page itself has no inline script or style to need them.
	index := string(New(Options{Auth: "none"}).files["index.html"])
	for _, bad := range []string{"<script>", "style=", "onclick=", "onload=", "javascript:"} {
		if strings.Contains(index, bad) {
			t.Errorf("index.html has %q, which the CSP blocks", bad)
		}
	}
}

// TestNoHTMLSinks keeps the app from rendering data as markup: it builds
// every element with createElement and text nodes.
func TestNoHTMLSinks(t *testing.T) {
	for name, b := range New(Options{Auth: "none"}).files {
		if !strings.HasSuffix(name, ".js") {
			continue
		}
		for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
			if strings.Contains(string(b), sink) {
				t.Errorf("%s uses %s", name, sink)
			}
		}
	}
}

func TestConfig(t *testing.T) {
	for mode, want := range map[string]string{"none": "none", "sigv4": "sigv4", "": "sigv4"} {
		var cfg struct{ Auth string }
		if err := json.Unmarshal(New(Options{Auth: mode}).files["config.json"], &cfg); err != nil || cfg.Auth != want {
			t.Errorf("New(%q): config %+v (%v), want auth %q", mode, cfg, err, want)
		}
	}
}

// FuzzServe: whatever the path, the handler answers only an embedded
// file's bytes, never panics, and says 200 only for an embedded name.
func FuzzServe(f *testing.F) {
	for _, s := range []string{"/console/", "/console/app.js", "/console/../x", "/console/%2e%2e/x", "/console/\x00", "/console//"} {
		f.Add(s)
	}
	h := New(Options{Auth: "sigv4"})
	f.Fuzz(func(t *testing.T, p string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL = &url.URL{Path: p}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			return
		}
		name := strings.TrimPrefix(p, Path)
		if name == "" {
			name = "index.html"
		}
		b, ok := h.files[name]
		if !ok || w.Body.String() != string(b) {
			t.Fatalf("GET %q: 200 with %d bytes, not an embedded file", p, w.Body.Len())
		}
	})
}
