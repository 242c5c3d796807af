package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestMessagesHandsBackOnStop: when the iterator's context ends, what it
// had pulled and not handed out goes back to the stream at once, for
// another consumer instance to take well before the AckWait.
func TestMessagesHandsBackOnStop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := Open(ctx, Config{DataDir: t.TempDir(), Sync: time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "HANDBACK", Subjects: []string{"handback.>"}}); err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := range n {
		if _, err := st.JS.Publish(ctx, fmt.Sprintf("handback.%d", i), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := st.JS.CreateOrUpdateConsumer(ctx, "HANDBACK", jetstream.ConsumerConfig{Durable: "c", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	first, stop := context.WithCancel(ctx)
	it, err := Messages(first, cons)
	if err != nil {
		t.Fatal(err)
	}
	held, err := it.Next() // handed out, and kept: not handed back
	if err != nil {
		t.Fatal(err)
	}
	// the iterator pulls ahead of what it hands out
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.NumAckPending > 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the iterator pulled nothing beyond the first message: %+v", info)
		}
	}
	stop()
	if _, err := it.Next(); !errors.Is(err, jetstream.ErrMsgIteratorClosed) {
		t.Fatalf("Next after the context ended: %v, want ErrMsgIteratorClosed", err)
	}
	// A second instance gets every other message now, not after AckWait.
	second, err := Messages(ctx, cons)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for len(got) < n-1 {
		mctx, mcancel := context.WithTimeout(ctx, 5*time.Second)
		msg, err := nextWithin(mctx, second)
		mcancel()
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", len(got), n-1, err)
		}
		if msg.Subject() == held.Subject() {
			t.Fatalf("%s was handed back, but it had been handed out", msg.Subject())
		}
		got[msg.Subject()] = true
		_ = msg.Ack()
	}
}

// nextWithin is it.Next, failing when ctx ends first.
func nextWithin(ctx context.Context, it *Iterator) (jetstream.Msg, error) {
	type res struct {
		m   jetstream.Msg
		err error
	}
	c := make(chan res, 1)
	go func() { m, err := it.Next(); c <- res{m, err} }()
	select {
	case r := <-c:
		return r.m, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
