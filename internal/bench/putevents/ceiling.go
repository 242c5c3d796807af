package putevents

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
)

// bareServer is the ceiling the PutEvents figures are compared with: a
// net/http server in this process that does what any PutEvents endpoint
// must — read the request, decode its JSON, answer an id per entry — and
// nothing else (no validation, no storage, no routing). The same clients
// drive it as drive Switchyard, so the ratio between the two is what
// Switchyard's own work costs, on this machine, in this run.
func bareServer() (url string, stop func(), err error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(bareHandler)}
	go func() { _ = srv.Serve(lis) }()
	return "http://" + lis.Addr().String(), func() { _ = srv.Close() }, nil
}

func bareHandler(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var in struct {
		Entries []struct {
			Source, DetailType, Detail, EventBusName string
		}
	}
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var out bytes.Buffer
	out.WriteString(`{"FailedEntryCount":0,"Entries":[`)
	for i := range in.Entries {
		if i > 0 {
			out.WriteByte(',')
		}
		out.WriteString(`{"EventId":"00000000-0000-0000-0000-`)
		out.WriteString(fmt.Sprintf("%012d", i))
		out.WriteString(`"}`)
	}
	out.WriteString(`]}`)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("Content-Length", strconv.Itoa(out.Len()))
	_, _ = w.Write(out.Bytes())
}

// runCeiling drives the bare server with cfg's load and prints
// Switchyard's throughput as a share of it.
func runCeiling(ctx context.Context, cfg Config, out io.Writer, sy *result) error {
	url, stop, err := bareServer()
	if err != nil {
		return err
	}
	defer stop()
	res, err := drive(ctx, cfg, target{name: "bare", url: url})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "ceiling: a bare net/http PutEvents server in this process (reads, decodes, answers; stores nothing), the same clients:\n")
	res.print(out)
	fmt.Fprintf(out, "ratio switchyard/ceiling: accepted events/s %.2f (%.0f of %.0f)\n", ratio(sy.rate(), res.rate()), sy.rate(), res.rate())
	if res.failed() > 0 {
		return fmt.Errorf("ceiling: %d entries failed", res.failed())
	}
	return nil
}
