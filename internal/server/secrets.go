package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/secretbox"
)

// legacyKeyFile is where Switchyard kept the secrets key before it had to
// be given: inside the data directory, where a copy of the data carries
// the key that opens it.
const legacyKeyFile = "secrets.key"

// loadSecrets returns the box that seals connection secrets, and names
// where its key came from: SecretsKey (SWITCHYARD_SECRETS_KEY), else
// SecretsKeyFile, else a key file left in the data directory by an earlier
// version (used, with a warning to move it), else none — then the server
// runs, but CreateConnection says it has no key. A key file that is named
// but missing is an error that says how to make one. SecretsPreviousKeyFile
// adds the key a rotation moves away from.
func loadSecrets(cfg Config, log *slog.Logger) (*secretbox.Box, string, error) {
	var (
		box    *secretbox.Box
		source string
		err    error
	)
	switch {
	case cfg.SecretsKey != "":
		source = "SWITCHYARD_SECRETS_KEY"
		if box, err = secretbox.Parse(cfg.SecretsKey); err != nil {
			return nil, "", fmt.Errorf("--secrets-key (SWITCHYARD_SECRETS_KEY): %w", err)
		}
	case cfg.SecretsKeyFile != "":
		source = cfg.SecretsKeyFile
		if box, err = secretbox.Load(cfg.SecretsKeyFile); errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("secrets key file %s does not exist; make one with `switchyard secrets new-key --out %s` (keep it out of the data directory, and give every process of a cluster the same file)", cfg.SecretsKeyFile, cfg.SecretsKeyFile)
		}
		if err != nil {
			return nil, "", err
		}
	case cfg.Store.URL == "":
		legacy := filepath.Join(cfg.Store.DataDir, legacyKeyFile)
		if _, statErr := os.Stat(legacy); statErr != nil {
			break
		}
		source = legacy
		if box, err = secretbox.Load(legacy); err != nil {
			return nil, "", err
		}
		log.Warn("secrets: using the key file inside the data directory, where a copy of the data carries the key to its secrets; move it elsewhere and pass --secrets-key-file", "file", legacy)
	}
	if box == nil {
		log.Warn("secrets: no secrets key (--secrets-key-file or SWITCHYARD_SECRETS_KEY): connections and API destinations cannot be created; `switchyard secrets new-key --out FILE` makes one")
		return nil, "", nil
	}
	if cfg.SecretsPreviousKeyFile != "" {
		prev, err := secretbox.Load(cfg.SecretsPreviousKeyFile)
		if err != nil {
			return nil, "", fmt.Errorf("--secrets-previous-key-file: %w", err)
		}
		box = box.WithPrevious(prev)
	}
	return box, source, nil
}

// resealSecrets finishes a key rotation in the background once the view
// is current: the connections still sealed with the previous key are
// sealed with the new one, and the new key is recorded as the cluster's.
func resealSecrets(ctx context.Context, ctl *control.Service, log *slog.Logger) {
	n, err := ctl.ResealSecrets(ctx)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("secrets: rotation not finished; it is tried again at the next start with --secrets-previous-key-file", "sealed_again", n, "err", err)
		}
		return
	}
	log.Info("secrets: rotation finished; --secrets-previous-key-file may be dropped once every process has the new key", "sealed_again", n, "key_id", ctl.Secrets.KeyID())
}
