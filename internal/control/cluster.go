package control

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard/switchyard/internal/secretbox"
)

// clusterPrefix starts the keys of settings every process of a cluster
// must agree on; the View ignores them.
const clusterPrefix = "cluster"

// secretsKeyID is the key holding the ID of the secrets key the cluster's
// connections are sealed with.
const secretsKeyID = clusterPrefix + ".secrets-key-id"

// AgreeOnSecretsKey makes sure this process seals and opens connection
// secrets with the cluster's key: the first process records the ID of its
// key, and a process started with another key file is refused at start,
// rather than failing every delivery to an API destination later. With
// reset, this process's key replaces the one recorded.
func (s *Service) AgreeOnSecretsKey(ctx context.Context, keyFile string, reset bool) error {
	id := s.Secrets.KeyID()
	if reset {
		if _, err := s.kv.Put(ctx, secretsKeyID, []byte(id)); err != nil {
			return fmt.Errorf("record the secrets key id: %w", err)
		}
		s.log.Warn("secrets key reset: connections sealed with the previous key need their credentials again (UpdateConnection)", "key_id", id)
		return nil
	}
	for {
		e, err := s.kv.Get(ctx, secretsKeyID)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			if _, err := s.kv.Create(ctx, secretsKeyID, []byte(id)); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
				return fmt.Errorf("record the secrets key id: %w", err)
			}
			continue // created, or another process was first: compare
		case err != nil:
			return fmt.Errorf("read the secrets key id: %w", err)
		}
		got := string(e.Value())
		if got == id || slices.Contains(s.Secrets.PreviousKeyIDs(), got) {
			// The cluster's key, or the one a rotation is moving from.
			return nil
		}
		return fmt.Errorf("the secrets key in %s (key id %s) is not the one this NATS cluster's connection secrets are sealed with (key id %s): "+
			"every Switchyard process sharing a NATS cluster must use the same --secrets-key-file; copy the file of a process already running "+
			"(or, if that key is lost, start once with --secrets-key-reset and give the connections their credentials again)", keyFile, id, got)
	}
}

// ResealSecrets seals again, under the current key, the authorization of
// every connection sealed with a previous one, and then records the
// current key as the cluster's. It is the second step of a key rotation
// (see package secretbox): every process must already have the new key,
// with the old one as previous. It returns how many connections it sealed
// again; a connection that cannot be opened is logged and left, and the
// key is then not recorded, so that a later run can finish the job.
func (s *Service) ResealSecrets(ctx context.Context) (int, error) {
	if s.Secrets == nil {
		return 0, errors.New("no secrets key configured")
	}
	id := s.Secrets.KeyID()
	n, failed := 0, 0
	for _, c := range s.view.AllConnections() {
		if secretbox.SealedWith(c.Auth) == id {
			continue
		}
		done := false
		err := retry(ctx, func() error {
			cur, rev := s.view.Connection(c.Scope, c.Name)
			if cur == nil || secretbox.SealedWith(cur.Auth) == id {
				return nil // deleted, or sealed again meanwhile
			}
			plain, err := s.Secrets.Open(cur.Auth, []byte(cur.ARN()))
			if err != nil {
				return fmt.Errorf("connection %s: %w", cur.ARN(), err)
			}
			nc := *cur
			nc.Auth = s.Secrets.Seal(plain, []byte(nc.ARN()))
			if err := s.write(ctx, connKeyName(nc.Scope, nc.Name), &nc, rev); err != nil {
				return err
			}
			done = true
			return nil
		})
		if err != nil {
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			failed++
			s.log.Error("secrets: connection not sealed again", "connection", c.ARN(), "err", err)
			continue
		}
		if done {
			n++
		}
	}
	if failed > 0 {
		return n, fmt.Errorf("%d connections could not be sealed again under key %s; the cluster's key is left as it was", failed, id)
	}
	if _, err := s.kv.Put(ctx, secretsKeyID, []byte(id)); err != nil {
		return n, fmt.Errorf("record the secrets key id: %w", err)
	}
	return n, nil
}
