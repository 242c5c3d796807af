package ingest

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/switchyard/switchyard/internal/control"
)

func TestBatchRoundTrip(t *testing.T) {
	sc := control.Scope{Account: "123456789012", Region: "us-east-1"}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var data []byte
	var want []Event
	for i, detail := range []string{`{}`, `{"a":"x\ny"}`, `{"b":[1,2,3]}`} {
		id := "id-" + strconv.Itoa(i)
		data = appendFrame(data, id, func(b []byte) []byte {
			return AppendEnvelope(b, id, "dt", "src", sc, at, []string{"r"}, detail)
		})
		want = append(want, Event{ID: id, Envelope: Envelope(id, "dt", "src", sc, at, []string{"r"}, []byte(detail))})
	}
	got, err := Events("3", "ignored", data)
	if err != nil || len(got) != len(want) {
		t.Fatalf("Events = %v, %v", got, err)
	}
	for i := range want {
		if got[i].ID != want[i].ID || !bytes.Equal(got[i].Envelope, want[i].Envelope) {
			t.Errorf("event %d = %s %s, want %s %s", i, got[i].ID, got[i].Envelope, want[i].ID, want[i].Envelope)
		}
	}
	for _, bad := range []struct {
		count string
		data  []byte
	}{{"2", data}, {"4", data}, {"x", data}, {"3", data[:len(data)-1]}, {"1", []byte{0, 0, 0, 9, 'a'}}} {
		if _, err := Events(bad.count, "", bad.data); err == nil {
			t.Errorf("Events(%q, %d bytes) accepted a malformed batch", bad.count, len(bad.data))
		}
	}
	one, err := Events("", "id", []byte(`{"x":1}`))
	if err != nil || len(one) != 1 || one[0].ID != "id" || string(one[0].Envelope) != `{"x":1}` {
		t.Errorf("a plain message reads as %v, %v", one, err)
	}
}
