package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/switchyard/switchyard/internal/console"
	"github.com/switchyard/switchyard/internal/testpeer"
)

// chromiumPath finds a Chromium, installing Debian's package when it is
// missing and this process may (root, apt-get present), as a fresh CI
// machine of this image needs; it skips the test only when neither works.
func chromiumPath(t *testing.T) string {
	t.Helper()
	find := func() string {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
			if p, err := exec.LookPath(name); err == nil {
				return p
			}
		}
		return ""
	}
	if p := find(); p != "" {
		return p
	}
	installMu.Lock()
	defer installMu.Unlock()
	if p := find(); p != "" {
		return p
	}
	if _, err := exec.LookPath("apt-get"); err != nil || os.Geteuid() != 0 {
		t.Skip("console tests need Chromium: none on PATH, and apt-get install chromium is not possible here (not root or no apt-get)")
	}
	t.Log("chromium not found: apt-get install -y chromium")
	c, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "chromium"}} {
		cmd := exec.CommandContext(c, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("console tests need Chromium, and apt-get %s failed: %v\n%s", args[0], err, out)
		}
	}
	if p := find(); p != "" {
		return p
	}
	t.Skip("console tests need Chromium: apt-get installed chromium but it is not on PATH")
	return ""
}

var installMu sync.Mutex

// artifacts is where a console test saves its screenshots:
// $SWITCHYARD_ARTIFACTS/<test>, or a directory of its own under the
// system's temporary directory, kept after the test and printed.
func artifacts(t *testing.T) string {
	t.Helper()
	var dir string
	if base := os.Getenv("SWITCHYARD_ARTIFACTS"); base != "" {
		dir = filepath.Join(base, t.Name())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	} else {
		d, err := os.MkdirTemp("", "switchyard-"+t.Name()+"-")
		if err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// page is one headless Chromium tab on the console; JavaScript
// exceptions in it fail the test.
type page struct {
	t   *testing.T
	ctx context.Context
	dir string
	n   int
}

func openConsole(t *testing.T, s *server) *page {
	t.Helper()
	return openConsoleAt(t, "http://"+s.addr)
}

// openConsoleAt opens the console of the server at base (http://host:port).
func openConsoleAt(t *testing.T, base string) *page {
	t.Helper()
	exe := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	tctx, cancelT := context.WithTimeout(bctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancelB(); cancelA() })
	p := &page{t: t, ctx: tctx, dir: artifacts(t)}
	if err := chromedp.Do(tctx); err != nil { // starts the browser
		t.Fatalf("start chromium %s: %v", exe, err)
	}
	// The listener only records: it may run after the test has ended,
	// when t must not be used; the cleanup below reports.
	var mu sync.Mutex
	var jsErrors []string
	_ = chromedp.Listen(tctx, func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			msg = fmt.Sprintf("JavaScript exception at %s:%d: %s", d.URL, d.LineNumber+1, d.Text)
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type != runtime.ConsoleAPICalledTypeError {
				return
			}
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			msg = "console.error: " + strings.Join(parts, " ")
		default:
			return
		}
		mu.Lock()
		jsErrors = append(jsErrors, msg)
		mu.Unlock()
	})
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range jsErrors {
			t.Errorf("console page: %s", m)
		}
	})
	p.do(chromedp.Navigate(base + "/console/"))
	// The page's own files must pass its CSP: the stylesheet applies, and
	// nothing it does later (charts, swatches, the tail) is blocked.
	p.wait("the stylesheet", `getComputedStyle(document.querySelector("header")).backgroundColor === "rgb(35, 47, 62)"`)
	p.eval(`window.__csp = []; document.addEventListener("securitypolicyviolation", (e) => __csp.push(e.violatedDirective + " " + e.blockedURI))`)
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(tctx, 5*time.Second)
		defer cancel()
		if v, err := chromedp.Run(c, chromedp.Evaluate[[]string](`window.__csp || []`)); err == nil && len(v) > 0 {
			t.Errorf("the console broke its own Content-Security-Policy: %v", v)
		}
	})
	return p
}

func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	c, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		p.shot("failure")
		p.t.Fatalf("browser: %v", err)
	}
}

// wait polls a JavaScript predicate until it holds; one that throws (an
// element not there yet) does not hold.
func (p *page) wait(what, js string) {
	p.t.Helper()
	c, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(c, chromedp.Poll[chromedp.Void]("(() => { try { return ("+js+"); } catch { return false; } })()", chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		p.shot("failure")
		p.t.Fatalf("waiting for %s: %v\npage text:\n%s", what, err, p.text("body"))
	}
}

func (p *page) text(sel string) string {
	c, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	s, _ := chromedp.Run(c, chromedp.TextContent(chromedp.CSS(sel)))
	return s
}

func (p *page) eval(js string) any {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[any](js))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// typeInto clears a field and types s into it key by key, as a user
// does (each key an input event).
func (p *page) typeInto(sel, s string) {
	p.t.Helper()
	p.eval(fmt.Sprintf(`document.querySelector(%s).value = ""`, jsString(sel)))
	p.do(chromedp.SendKeys(chromedp.CSS(sel), s))
}

// shot saves a screenshot (PNG: FullScreenshot at quality 100).
func (p *page) shot(name string) {
	p.n++
	c, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	b, err := chromedp.Run(c, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(p.dir, fmt.Sprintf("%02d-%s.png", p.n, name))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		p.t.Log(err)
	}
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestConsoleClickThrough drives the console in headless Chromium under
// --auth none: create a bus, a rule whose bad pattern the live validation
// refuses first, the sandbox's match and no match, an HTTP target (a real
// receiver), the live tail, an event put by the SDK seen in the tail and
// at the receiver, one put from the console's form, the captured event in
// the sandbox, and the rule's metrics.
func TestConsoleClickThrough(t *testing.T) {
	s := startServer(t)
	rec := newReceiver(t)
	sdk := s.client("123456789012", "us-east-1")
	p := openConsole(t, s)

	p.wait("the account form", `document.querySelector("#signin-account") !== null`)
	p.shot("signin")
	// A region that is not an AWS region is refused with AWS's message.
	p.typeInto("#signin-region", "moon-1")
	p.do(chromedp.Click(chromedp.ID("signin-submit")))
	p.wait("the refusal", `document.querySelector("#signin-error").textContent !== ""`)
	if got, want := p.text("#signin-error"), "InvalidSignatureException: Credential should be scoped to a valid region, not 'moon-1'. "; got != want {
		t.Errorf("region moon-1: %q, want %q", got, want)
	}
	p.typeInto("#signin-region", "us-east-1")
	p.do(chromedp.Click(chromedp.ID("signin-submit")))
	p.wait("the bus list", `document.querySelector("#bus-list tr[data-bus=default]") !== null`)
	if got := p.text("#who-scope"); !strings.Contains(got, "123456789012") || !strings.Contains(got, "us-east-1") {
		t.Errorf("scope shown %q", got)
	}

	// Create a bus.
	p.typeInto("#bus-name", "console-orders")
	p.do(chromedp.Click(chromedp.ID("bus-create-submit")))
	p.wait("the new bus", `document.querySelector("#bus-list tr[data-bus=console-orders]") !== null`)
	p.shot("bus-created")
	if _, err := sdk.DescribeEventBus(ctx(t), &eventbridge.DescribeEventBusInput{Name: aws.String("console-orders")}); err != nil {
		t.Fatalf("the bus the console created: %v", err)
	}

	// A rule: the bad pattern first.
	p.do(chromedp.Click(chromedp.CSS(`#bus-list tr[data-bus=console-orders] button.link`)))
	p.wait("the rules page", `document.querySelector("#rule-new") !== null`)
	p.do(chromedp.Click(chromedp.ID("rule-new")))
	p.wait("the rule form", `document.querySelector("#rule-pattern") !== null`)
	p.typeInto("#rule-name", "console-rule")
	p.typeInto("#rule-pattern", `{"source": "app.orders"}`)
	p.wait("the pattern refused", `document.querySelector("#pattern-status").classList.contains("bad")`)
	if got := p.text("#pattern-status"); !strings.Contains(got, "InvalidEventPatternException") {
		t.Errorf("validation of a bad pattern says %q, want InvalidEventPatternException", got)
	}
	p.shot("pattern-refused")

	// A good one; the sandbox's sample event matches it.
	p.typeInto("#rule-pattern", `{"source": ["app.orders"], "detail-type": ["OrderCreated"]}`)
	p.wait("the pattern accepted", `document.querySelector("#pattern-status").classList.contains("ok")`)
	p.wait("the sandbox's match", `document.querySelector("#sandbox-result").textContent.startsWith("Match")`)
	p.shot("sandbox-match")
	other := `{"version":"0","id":"1","detail-type":"OrderCreated","source":"app.billing","account":"123456789012",` +
		`"time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{}}`
	p.typeInto("#sandbox-event", other)
	p.wait("the sandbox's no match", `document.querySelector("#sandbox-result").textContent === "No match."`)
	p.shot("sandbox-no-match")

	p.do(chromedp.Click(chromedp.ID("rule-save")))
	p.wait("the rule page", `document.querySelector("#target-form") !== null`)
	rule, err := sdk.DescribeRule(ctx(t), &eventbridge.DescribeRuleInput{Name: aws.String("console-rule"), EventBusName: aws.String("console-orders")})
	if err != nil {
		t.Fatalf("the rule the console saved: %v", err)
	}
	if want := `{"source": ["app.orders"], "detail-type": ["OrderCreated"]}`; aws.ToString(rule.EventPattern) != want {
		t.Errorf("saved pattern %s, want %s", aws.ToString(rule.EventPattern), want)
	}

	// An HTTP target.
	p.typeInto("#target-arn", rec.URL)
	p.do(chromedp.Click(chromedp.ID("target-add")))
	p.wait("the target", `document.querySelector("#target-list tr[data-target=target-1]") !== null`)
	tg, err := sdk.ListTargetsByRule(ctx(t), &eventbridge.ListTargetsByRuleInput{Rule: aws.String("console-rule"), EventBusName: aws.String("console-orders")})
	if err != nil || len(tg.Targets) != 1 || aws.ToString(tg.Targets[0].Arn) != rec.URL {
		t.Fatalf("targets after the console added one: %+v, %v", tg, err)
	}
	p.shot("target-added")

	// The live tail, filtered; an event put by the SDK shows in it and
	// reaches the receiver.
	p.do(chromedp.Click(chromedp.ID("nav-tail")))
	p.wait("the tail form", `document.querySelector("#tail-bus option[value=console-orders]") !== null`)
	p.do(chromedp.SetValue(chromedp.ID("tail-bus"), "console-orders"))
	p.typeInto("#tail-pattern", `{"detail-type": "OrderCreated"}`)
	p.do(chromedp.Click(chromedp.ID("tail-start")))
	p.wait("the tail's pattern refused", `document.querySelector("#tail-status").textContent.startsWith("InvalidEventPatternException: ")`)
	p.typeInto("#tail-pattern", `{"detail-type": ["OrderCreated"]}`)
	p.do(chromedp.Click(chromedp.ID("tail-start")))
	p.wait("the tail ready", `document.querySelector("#tail-status").textContent.startsWith("Tailing")`)
	put := func(detailType, detail string) string {
		out, err := sdk.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
			EventBusName: aws.String("console-orders"), Source: aws.String("app.orders"),
			DetailType: aws.String(detailType), Detail: aws.String(detail)}}})
		if err != nil || out.FailedEntryCount != 0 {
			t.Fatalf("PutEvents: %+v, %v", out, err)
		}
		return aws.ToString(out.Entries[0].EventId)
	}
	put("Ignored", `{"n":0}`) // not the tail's pattern, nor the rule's
	id := put("OrderCreated", `{"n":1,"note":"<img src=x onerror=window.__xss=1>"}`)
	p.wait("the event in the tail", fmt.Sprintf(`document.querySelector('#tail-events li[data-event-id=%s]') !== null`, jsString(id)))
	p.shot("tail")
	if n := p.eval(`document.querySelectorAll("#tail-events li").length`); n != float64(1) {
		t.Errorf("the tail shows %v events, want 1 (the pattern filters the other)", n)
	}
	if got := p.text("#tail-events li pre"); !strings.Contains(got, `"note": "<img src=x onerror=window.__xss=1>"`) {
		t.Errorf("the tail shows %q, want the event's markup as text", got)
	}
	if p.eval(`window.__xss === undefined && document.querySelector("#tail-events img") === null`) != true {
		t.Error("an event's content ran as HTML in the tail")
	}
	bodies := rec.waitFor(t, 1, 20*time.Second)
	var got struct {
		ID     string         `json:"id"`
		Detail map[string]any `json:"detail"`
	}
	if err := json.Unmarshal(bodies[0], &got); err != nil || got.ID != id {
		t.Fatalf("the receiver got %s (%v), want event %s", bodies[0], err, id)
	}
	p.do(chromedp.Click(chromedp.ID("tail-stop")))
	p.wait("the tail stopped", `document.querySelector("#tail-status").textContent === "Stopped."`)

	// The console's own put-events form.
	p.do(chromedp.Click(chromedp.ID("nav-put")))
	p.wait("the put form", `document.querySelector("#put-bus option[value=console-orders]") !== null`)
	p.do(chromedp.SetValue(chromedp.ID("put-bus"), "console-orders"))
	p.typeInto("#put-detail", `{"n": 2}`)
	p.do(chromedp.Click(chromedp.ID("put-submit")))
	p.wait("the event accepted", `document.querySelector("#put-result").textContent.startsWith("Event accepted")`)
	p.shot("put-event")
	bodies = rec.waitFor(t, 2, 20*time.Second)
	if !strings.Contains(string(bodies[1]), `"detail":{"n":2}`) {
		t.Errorf("the receiver's second event %s, want detail {\"n\": 2}", bodies[1])
	}

	// The sandbox offers the event the tail captured; it matches the rule.
	p.do(chromedp.Click(chromedp.ID("nav-buses")))
	p.wait("the bus list", `document.querySelector("#bus-list tr[data-bus=console-orders]") !== null`)
	p.do(chromedp.Click(chromedp.CSS(`#bus-list tr[data-bus=console-orders] button.link`)))
	p.wait("the rule list", `document.querySelector("#rule-list tr[data-rule=console-rule]") !== null`)
	p.do(chromedp.Click(chromedp.CSS(`#rule-list tr[data-rule=console-rule] td:last-child button`)))
	p.wait("the captured event", `document.querySelector("#sandbox-captured option[value='0']") !== null`)
	p.typeInto("#sandbox-event", other)
	p.wait("the sandbox's no match", `document.querySelector("#sandbox-result").textContent === "No match."`)
	p.eval(`(() => { const s = document.querySelector("#sandbox-captured"); s.value = "0"; s.dispatchEvent(new Event("change")); })()`)
	p.wait("the captured event's match", `document.querySelector("#sandbox-result").textContent.startsWith("Match")`)
	if got := p.eval(`JSON.parse(document.querySelector("#sandbox-event").value).id`); got != id {
		t.Errorf("the sandbox holds event %v, want the captured %s", got, id)
	}
	p.shot("sandbox-captured")

	// The rule's metrics, from /metrics.
	p.do(chromedp.Click(chromedp.CSS(`#main p button.link`)))
	p.wait("the rule list", `document.querySelector("#rule-list tr[data-rule=console-rule]") !== null`)
	p.do(chromedp.Click(chromedp.CSS(`#rule-list tr[data-rule=console-rule] td:first-child button`)))
	p.wait("the counters", `document.querySelector("#rule-totals").textContent.includes("MatchedEvents 2 ") &&
		document.querySelector("td[data-invocations=target-1]").textContent === "2"`)
	if n := p.eval(`document.querySelectorAll("#rule-chart polyline").length`); n != float64(5) {
		t.Errorf("the chart has %v lines, want 5", n)
	}
	if got := p.text("td[data-dlq=target-1]"); got != "0" {
		t.Errorf("sent to the DLQ: %q, want 0", got)
	}
	p.shot("metrics")
}

// TestConsoleEscapesData puts markup in what the console shows (a rule's
// pattern, read back from the API) and checks it is shown as text; then
// stops the server and checks the page reports it.
func TestConsoleEscapesData(t *testing.T) {
	s := startServer(t)
	sdk := s.client("123456789012", "us-east-1")
	evil := `{"source":["<img src=x onerror=window.__xss=1>"]}`
	if _, err := sdk.PutRule(ctx(t), &eventbridge.PutRuleInput{Name: aws.String("evil"), EventPattern: aws.String(evil)}); err != nil {
		t.Fatal(err)
	}
	p := openConsole(t, s)
	p.wait("the account form", `document.querySelector("#signin-account") !== null`)
	p.do(chromedp.Click(chromedp.ID("signin-submit")))
	p.wait("the bus list", `document.querySelector("#bus-list tr[data-bus=default]") !== null`)
	p.do(chromedp.Click(chromedp.CSS(`#bus-list tr[data-bus=default] button.link`)))
	p.wait("the rule", `document.querySelector("#rule-list tr[data-rule=evil]") !== null`)
	if got := p.text("#rule-list tr[data-rule=evil] code"); got != evil {
		t.Errorf("the pattern shows as %q, want %q", got, evil)
	}
	if p.eval(`window.__xss === undefined && document.querySelector("#rule-list img") === null`) != true {
		t.Error("a rule's pattern ran as HTML")
	}
	p.shot("escaped")

	// The server gone: the page says so instead of hanging or going blank.
	s.stop()
	p.do(chromedp.Click(chromedp.ID("nav-buses")))
	p.wait("the error shown", `document.querySelector("#main .status.bad").textContent !== ""`)
	if got := p.text("#main .status.bad"); !strings.Contains(got, "Failed to fetch") {
		t.Errorf("with the server gone the page says %q", got)
	}
	p.shot("server-gone")
}

// TestConsoleSigV4 signs in under --auth sigv4: a wrong secret is refused
// with the server's error, the right key signs every call (API and tail)
// with the browser's own SigV4, and acts in the key's account.
func TestConsoleSigV4(t *testing.T) {
	s, _ := startAuthServer(t, authKeys)
	alice := s.signedClient("AKIAALICEEXAMPLE", "alice/secret+KEY", "", "eu-west-1")
	p := openConsole(t, s)
	p.wait("the sign-in form", `document.querySelector("#signin-key") !== null`)
	p.shot("signin")
	p.typeInto("#signin-key", "AKIAALICEEXAMPLE")
	p.typeInto("#signin-secret", "not-alice's")
	p.typeInto("#signin-region", "eu-west-1")
	p.do(chromedp.Click(chromedp.ID("signin-submit")))
	p.wait("the refusal", `document.querySelector("#signin-error").textContent !== ""`)
	if got := p.text("#signin-error"); !strings.HasPrefix(got, "InvalidSignatureException: ") {
		t.Errorf("a wrong secret: %q, want InvalidSignatureException", got)
	}
	p.shot("signin-refused")
	if p.eval(`sessionStorage.length`) != float64(0) {
		t.Error("a refused key stays in sessionStorage")
	}

	p.typeInto("#signin-secret", "alice/secret+KEY")
	p.do(chromedp.Click(chromedp.ID("signin-submit")))
	p.wait("the bus list", `document.querySelector("#bus-list tr[data-bus=default]") !== null`)
	if got := p.text("#who-scope"); got != "111122223333 · eu-west-1" {
		t.Errorf("scope shown %q, want alice's account and the region picked", got)
	}
	if strings.Contains(p.eval(`location.href`).(string), "secret") || p.eval(`localStorage.length`) != float64(0) {
		t.Error("the secret is in the URL or in localStorage")
	}
	p.typeInto("#bus-name", "signed")
	p.do(chromedp.Click(chromedp.ID("bus-create-submit")))
	p.wait("the new bus", `document.querySelector("#bus-list tr[data-bus=signed]") !== null`)
	d, err := alice.DescribeEventBus(ctx(t), &eventbridge.DescribeEventBusInput{Name: aws.String("signed")})
	if err != nil || !strings.Contains(aws.ToString(d.Arn), ":eu-west-1:111122223333:") {
		t.Fatalf("the bus the signed-in console created: %+v, %v", d, err)
	}

	// The tail's GET is signed too, its query (a pattern with spaces,
	// quotes, brackets) canonicalized as the server does.
	p.do(chromedp.Click(chromedp.ID("nav-tail")))
	p.wait("the tail form", `document.querySelector("#tail-bus option[value=signed]") !== null`)
	p.do(chromedp.SetValue(chromedp.ID("tail-bus"), "signed"))
	p.typeInto("#tail-pattern", `{"source": ["app a+b/c*"]}`)
	p.do(chromedp.Click(chromedp.ID("tail-start")))
	p.wait("the tail ready", `document.querySelector("#tail-status").textContent.startsWith("Tailing")`)
	out, err := alice.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		EventBusName: aws.String("signed"), Source: aws.String("app a+b/c*"), DetailType: aws.String("t"), Detail: aws.String(`{}`)}}})
	if err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("PutEvents: %+v, %v", out, err)
	}
	p.wait("the event in the tail", fmt.Sprintf(`document.querySelector('#tail-events li[data-event-id=%s]') !== null`,
		jsString(aws.ToString(out.Entries[0].EventId))))
	p.shot("signed-tail")

	p.do(chromedp.Click(chromedp.ID("signout")))
	p.wait("the sign-in form", `document.querySelector("#signin-key") !== null`)
	if p.eval(`sessionStorage.length`) != float64(0) {
		t.Error("signing out leaves the key in sessionStorage")
	}
}

// TestConsoleResources drives the rest of the console: a bus's policy,
// a target with a dead-letter queue (moto's SQS) whose count the rule's
// page shows from /metrics, removing it, connections and API
// destinations, an archive and a replay's progress, deleting a rule and
// a bus.
func TestConsoleResources(t *testing.T) {
	moto := testpeer.Moto(t)
	dlqArn, _ := testpeer.CreateQueue(t, testpeer.SQS(moto, "us-east-1"), "console-dlq")
	s := startServer(t, "--aws-endpoint", "sqs="+moto)
	sdk := s.client("123456789012", "us-east-1")
	rec := newReceiver(t)
	rec.mu.Lock()
	rec.status = http.StatusBadRequest // a permanent failure: straight to the DLQ
	rec.mu.Unlock()
	if _, err := sdk.CreateEventBus(ctx(t), &eventbridge.CreateEventBusInput{Name: aws.String("res")}); err != nil {
		t.Fatal(err)
	}
	if _, err := sdk.PutRule(ctx(t), &eventbridge.PutRuleInput{Name: aws.String("r"), EventBusName: aws.String("res"),
		EventPattern: aws.String(`{"source":["res"]}`)}); err != nil {
		t.Fatal(err)
	}
	p := openConsole(t, s)
	p.eval(`window.confirm = () => true`) // the delete buttons ask
	p.wait("the account form", `document.querySelector("#signin-account") !== null`)
	p.do(chromedp.Click(chromedp.ID("signin-submit")))
	p.wait("the bus list", `document.querySelector("#bus-list tr[data-bus=res]") !== null`)

	// The bus's policy.
	p.do(chromedp.Click(chromedp.CSS(`#bus-list tr[data-bus=res] button.link`)))
	p.wait("the bus page", `document.querySelector("#bus-policy") !== null && document.querySelector("#rule-list tr[data-rule=r]") !== null`)
	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"other","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},` +
		`"Action":"events:PutEvents","Resource":"arn:aws:events:us-east-1:123456789012:event-bus/res"}]}`
	p.do(chromedp.SetValue(chromedp.ID("bus-policy"), policy), chromedp.Click(chromedp.CSS(`#bus-policy + p button`)))
	p.wait("the policy saved", `document.querySelector("#toast").textContent.includes("Policy saved")`)
	d, err := sdk.DescribeEventBus(ctx(t), &eventbridge.DescribeEventBusInput{Name: aws.String("res")})
	if err != nil || !strings.Contains(aws.ToString(d.Policy), "210987654321") {
		t.Fatalf("the bus's policy after the console saved it: %v, %v", aws.ToString(d.Policy), err)
	}

	// A target with a DLQ; a failed event is counted on the rule's page.
	p.do(chromedp.Click(chromedp.CSS(`#rule-list tr[data-rule=r] td:first-child button`)))
	p.wait("the rule page", `document.querySelector("#target-form") !== null`)
	p.typeInto("#target-id", "hook")
	p.typeInto("#target-arn", rec.URL)
	p.typeInto("#target-dlq", dlqArn)
	p.do(chromedp.Click(chromedp.ID("target-add")))
	p.wait("the target", `document.querySelector("#target-list tr[data-target=hook]") !== null`)
	if _, err := sdk.PutEvents(ctx(t), &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		EventBusName: aws.String("res"), Source: aws.String("res"), DetailType: aws.String("t"), Detail: aws.String(`{}`)}}}); err != nil {
		t.Fatal(err)
	}
	p.wait("the DLQ count", `document.querySelector("td[data-dlq=hook]").textContent === "1" &&
		document.querySelector("td[data-failed=hook]").textContent === "1"`) // sampled every 5 s
	p.shot("dlq-count")
	p.do(chromedp.Click(chromedp.CSS(`#target-list tr[data-target=hook] button.danger`)))
	p.wait("the target removed", `document.querySelector("#target-list") !== null && document.querySelector("#target-list tr[data-target=hook]") === null`)
	if tg, err := sdk.ListTargetsByRule(ctx(t), &eventbridge.ListTargetsByRuleInput{Rule: aws.String("r"), EventBusName: aws.String("res")}); err != nil || len(tg.Targets) != 0 {
		t.Fatalf("targets after the console removed one: %+v, %v", tg, err)
	}

	// Connections and API destinations.
	p.do(chromedp.Click(chromedp.ID("nav-connections")))
	p.wait("the connections page", `document.querySelector("#conn-form") !== null`)
	p.typeInto("#conn-name", "crm")
	p.typeInto("#conn-key", "x-api-key")
	p.typeInto("#conn-secret", "s3cret")
	p.do(chromedp.Click(chromedp.CSS(`#conn-form button.primary`)))
	p.wait("the connection", `document.querySelector("#conn-list tr[data-connection=crm]") !== null`)
	p.typeInto("#dest-name", "crm-hook")
	p.typeInto("#dest-endpoint", "https://crm.example.com/hook")
	p.do(chromedp.Click(chromedp.CSS(`#dest-form button.primary`)))
	p.wait("the API destination", `document.querySelector("#dest-list tr[data-destination=crm-hook]") !== null`)
	p.shot("connections")
	ad, err := sdk.DescribeApiDestination(ctx(t), &eventbridge.DescribeApiDestinationInput{Name: aws.String("crm-hook")})
	if err != nil || aws.ToString(ad.InvocationEndpoint) != "https://crm.example.com/hook" || !strings.Contains(aws.ToString(ad.ConnectionArn), ":connection/crm/") {
		t.Fatalf("the API destination the console created: %+v, %v", ad, err)
	}
	if strings.Contains(p.text("body"), "s3cret") {
		t.Error("the connection's secret is shown on the page")
	}

	// An archive, and a replay whose progress the page follows.
	p.do(chromedp.Click(chromedp.ID("nav-archives")))
	p.wait("the archives page", `document.querySelector("#archive-form") !== null`)
	p.typeInto("#archive-name", "all-res")
	p.do(chromedp.SetValue(chromedp.ID("archive-bus"), "arn:aws:events:us-east-1:123456789012:event-bus/res"),
		chromedp.Click(chromedp.CSS(`#archive-form button.primary`)))
	p.wait("the archive", `document.querySelector("tr[data-archive=all-res]") !== null`)
	p.typeInto("#replay-name", "again")
	p.do(chromedp.SetValue(chromedp.ID("replay-archive"), "all-res"), chromedp.SetValue(chromedp.ID("replay-dest"), "arn:aws:events:us-east-1:123456789012:event-bus/res"),
		chromedp.Click(chromedp.CSS(`#replay-form button.primary`)))
	p.wait("the replay's progress", `/^State: (STARTING|RUNNING|COMPLETED)/.test(document.querySelector("#replay-state").textContent) &&
		document.querySelector("tr[data-replay=again]") !== null`)
	p.shot("replay")
	if r, err := sdk.DescribeReplay(ctx(t), &eventbridge.DescribeReplayInput{ReplayName: aws.String("again")}); err != nil ||
		!strings.HasSuffix(aws.ToString(r.EventSourceArn), ":archive/all-res") {
		t.Fatalf("the replay the console started: %+v, %v", r, err)
	}

	// Editing a scheduled rule keeps its schedule and adds no pattern.
	if _, err := sdk.PutRule(ctx(t), &eventbridge.PutRuleInput{Name: aws.String("nightly"), ScheduleExpression: aws.String("rate(1 day)")}); err != nil {
		t.Fatal(err)
	}
	p.do(chromedp.Click(chromedp.ID("nav-buses")))
	p.wait("the bus list", `document.querySelector("#bus-list tr[data-bus=default]") !== null`)
	p.do(chromedp.Click(chromedp.CSS(`#bus-list tr[data-bus=default] button.link`)))
	p.wait("the scheduled rule", `document.querySelector("#rule-list tr[data-rule=nightly]") !== null`)
	p.do(chromedp.Click(chromedp.CSS(`#rule-list tr[data-rule=nightly] td:last-child button`)))
	p.wait("the rule form", `document.querySelector("#rule-schedule").value === "rate(1 day)"`)
	p.typeInto("#rule-description", "every night")
	p.do(chromedp.Click(chromedp.ID("rule-save")))
	p.wait("the rule page", `document.querySelector("#target-form") !== null`)
	nightly, err := sdk.DescribeRule(ctx(t), &eventbridge.DescribeRuleInput{Name: aws.String("nightly")})
	if err != nil || aws.ToString(nightly.ScheduleExpression) != "rate(1 day)" || nightly.EventPattern != nil || aws.ToString(nightly.Description) != "every night" {
		t.Fatalf("the scheduled rule after the console edited it: %+v, %v", nightly, err)
	}

	// Deleting the rule (its targets first) and the bus.
	if _, err := sdk.DeleteArchive(ctx(t), &eventbridge.DeleteArchiveInput{ArchiveName: aws.String("all-res")}); err != nil {
		t.Fatal(err)
	}
	p.do(chromedp.Click(chromedp.ID("nav-buses")))
	p.wait("the bus list", `document.querySelector("#bus-list tr[data-bus=res]") !== null`)
	p.do(chromedp.Click(chromedp.CSS(`#bus-list tr[data-bus=res] button.link`)))
	p.wait("the rule", `document.querySelector("#rule-list tr[data-rule=r]") !== null`)
	p.do(chromedp.Click(chromedp.CSS(`#rule-list tr[data-rule=r] button.danger`)))
	p.wait("the rule deleted", `document.querySelector("#rule-list") !== null && document.querySelector("#rule-list tr[data-rule=r]") === null`)
	p.do(chromedp.Click(chromedp.ID("nav-buses")))
	p.wait("the bus list", `document.querySelector("#bus-list tr[data-bus=res] button.danger") !== null`)
	p.do(chromedp.Click(chromedp.CSS(`#bus-list tr[data-bus=res] button.danger`)))
	p.wait("the bus deleted", `document.querySelector("#bus-list tr[data-bus=default]") !== null && document.querySelector("#bus-list tr[data-bus=res]") === null`)
	if _, err := sdk.DescribeEventBus(ctx(t), &eventbridge.DescribeEventBusInput{Name: aws.String("res")}); err == nil {
		t.Error("the bus the console deleted still exists")
	}
}

// TestConsoleSigV4LimitedKey signs in with a key whose IAM policy allows
// only PutEvents: the sign-in still learns the key's account (from the
// AccessDeniedException of a good signature), and the pages show the
// API's refusals instead of failing silently.
func TestConsoleSigV4LimitedKey(t *testing.T) {
	s, _ := startAuthServer(t, authKeys+`  - access_key_id: AKIAPUTONLYEXAMPLE
    secret_access_key: put-only-secret
    account: "444455556666"
    principal: putter
    policies:
      - Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: "events:PutEvents"
            Resource: "*"
`)
	p := openConsole(t, s)
	p.wait("the sign-in form", `document.querySelector("#signin-key") !== null`)
	p.typeInto("#signin-key", "AKIAPUTONLYEXAMPLE")
	p.typeInto("#signin-secret", "put-only-secret")
	p.do(chromedp.Click(chromedp.ID("signin-submit")))
	p.wait("the refusal of the bus list", `document.querySelector("#main .status.bad").textContent !== ""`)
	if got := p.text("#who-scope"); got != "444455556666 · us-east-1" {
		t.Errorf("scope shown %q, want the key's account", got)
	}
	if got := p.text("#main .status.bad"); !strings.HasPrefix(got, "AccessDeniedException: ") || !strings.Contains(got, "events:ListEventBuses") {
		t.Errorf("the bus list says %q, want the API's AccessDeniedException for ListEventBuses", got)
	}
	p.shot("access-denied")
}

// TestConsoleHangingAPI serves the console beside an API that never
// answers: each call gives up after the console's API timeout and says
// so, instead of leaving the page waiting.
func TestConsoleHangingAPI(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle(console.Path, console.New(console.Options{Auth: "none", APITimeout: time.Second}))
	stop := make(chan struct{})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// The body read, the server notices the client going away.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { close(stop); srv.Close() })
	p := openConsoleAt(t, srv.URL)
	p.wait("the account form", `document.querySelector("#signin-account") !== null`)
	p.do(chromedp.Click(chromedp.ID("signin-submit")))
	p.wait("the timeout", `document.querySelector("#signin-error").textContent !== ""`)
	if got, want := p.text("#signin-error"), "ConsoleTimeout: The server did not answer ListEventBuses within 1 s."; got != want {
		t.Errorf("a hanging API: %q, want %q", got, want)
	}
	p.shot("hanging-api")
}
