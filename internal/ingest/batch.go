package ingest

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// HeaderEvents marks an events-stream message that carries several events
// of one PutEvents call for one bus, and says how many. Storing, delivering
// and acknowledging one message per call rather than one per event divides
// JetStream's per-message work (the publish, its ack, the store write, the
// dedup entry, the consumer delivery and its ack, the removal) by up to ten,
// which is most of the cost of ingestion. A message without this header is
// one event, its data the envelope and its Nats-Msg-Id the event id.
//
// The data of a batch is, for each event in order, a frame:
//
//	uint32 big-endian length of the event id, the id,
//	uint32 big-endian length of the envelope, the envelope
const HeaderEvents = "Sy-Events"

// Event is one event read from an events-stream message.
type Event struct {
	ID       string
	Envelope []byte
	// Trace is the event's X-Ray trace header, if it has one; it is kept
	// in the message's headers, not its data (see HeaderTrace and
	// ReadTraces).
	Trace string
}

var errBadBatch = errors.New("malformed batch of events")

// appendFrame appends one event to a batch, rendering the envelope in
// place; build renders it onto its argument.
func appendFrame(b []byte, id string, build func([]byte) []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(id)))
	b = append(b, id...)
	at := len(b)
	b = append(b, 0, 0, 0, 0)
	b = build(b)
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	return b
}

// Events returns the events a message of the events stream carries, given
// its Sy-Events and Nats-Msg-Id headers and its data. The envelopes alias
// data.
func Events(countHeader, msgID string, data []byte) ([]Event, error) {
	if countHeader == "" {
		return []Event{{ID: msgID, Envelope: data}}, nil
	}
	n, err := strconv.Atoi(countHeader)
	if err != nil || n < 1 || n > len(data)/8 {
		return nil, errBadBatch
	}
	out := make([]Event, 0, n)
	for len(data) > 0 {
		id, rest, ok := frameField(data)
		if !ok {
			return nil, errBadBatch
		}
		env, rest, ok := frameField(rest)
		if !ok {
			return nil, errBadBatch
		}
		out = append(out, Event{ID: string(id), Envelope: env})
		data = rest
	}
	if len(out) != n {
		return nil, errBadBatch
	}
	return out, nil
}

func frameField(b []byte) (field, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}
