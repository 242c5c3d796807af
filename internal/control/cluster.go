package control

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
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
		if got := string(e.Value()); got != id {
			return fmt.Errorf("the secrets key in %s (key id %s) is not the one this NATS cluster's connection secrets are sealed with (key id %s): "+
				"every Switchyard process sharing a NATS cluster must use the same --secrets-key-file; copy the file of a process already running "+
				"(or, if that key is lost, start once with --secrets-key-reset and give the connections their credentials again)", keyFile, id, got)
		}
		return nil
	}
}
