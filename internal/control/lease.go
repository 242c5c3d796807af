package control

import "time"

// Lease is a claim, recorded in a record of the control bucket, on work
// that one process of a cluster does at a time: running a replay, polling
// a health check. A process claims the work by writing itself as Owner
// with a LeaseUntil ahead, at the record's revision (optimistic
// concurrency picks one claimant), and keeps it by writing again before
// LeaseUntil passes. A process that dies stops renewing; once the lease
// lapses any other process may claim the work.
type Lease struct {
	// Owner is the process holding the lease (an id it makes at start).
	Owner      string    `json:",omitempty"`
	LeaseUntil time.Time `json:",omitzero"`
}

// Held reports whether some process holds the lease at now.
func (l Lease) Held(now time.Time) bool {
	return l.Owner != "" && now.Before(l.LeaseUntil)
}

// HeldByOther reports whether a process other than id holds the lease at
// now: id may not claim the work.
func (l Lease) HeldByOther(id string, now time.Time) bool {
	return l.Owner != id && l.Held(now)
}

// Grant gives the lease to id for d from now.
func (l *Lease) Grant(id string, now time.Time, d time.Duration) {
	l.Owner, l.LeaseUntil = id, now.Add(d).UTC()
}

// Release gives the lease up, so that the next claimant need not wait for
// it to lapse.
func (l *Lease) Release() { *l = Lease{} }
