package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/internal/control"
	"github.com/switchyard/switchyard/internal/secretbox"
	"github.com/switchyard/switchyard/internal/store"
	"github.com/switchyard/switchyard/internal/webhooks"
)

// secretsCmd makes keys for connection secrets and rotates them.
func secretsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "secrets", Short: "Keys that seal connection secrets: make one, rotate to a new one"}
	cmd.AddCommand(secretsNewKeyCmd(), secretsRotateCmd())
	return cmd
}

func secretsNewKeyCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "new-key",
		Short: "Make a new random secrets key (AES-256, base64) in a file of mode 0600, or on standard output",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" || out == "-" {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), secretbox.NewKey())
				return err
			}
			return secretbox.WriteNewKey(out)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write (not overwritten if it exists); standard output if empty")
	return cmd
}

// secretsRotateCmd seals every connection again under a new key, without
// serving: for a cluster on --nats-url whose processes already run with the
// new key and the old one as previous, or for a stopped embedded store.
// (A server started with --secrets-previous-key-file does the same by
// itself.)
func secretsRotateCmd() *cobra.Command {
	var dataDir, natsURL, keyFile, prevFile string
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Seal every connection's secrets again under --secrets-key-file, opening them with --secrets-previous-key-file",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := envFlags(cmd.Flags()); err != nil {
				return err
			}
			if keyFile == "" || prevFile == "" {
				return fmt.Errorf("--secrets-key-file (the new key) and --secrets-previous-key-file (the old one) are both needed")
			}
			box, err := secretbox.Load(keyFile)
			if err != nil {
				return err
			}
			prev, err := secretbox.Load(prevFile)
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Minute)
			defer cancel()
			st, err := store.Open(ctx, store.Config{URL: natsURL, DataDir: dataDir, Sync: time.Second, Logger: log})
			if err != nil {
				return err
			}
			defer st.Close()
			view := control.NewView(st.Control, log)
			ready := make(chan struct{})
			go func() { _ = view.Run(ctx, func() { close(ready) }) }()
			select {
			case <-ready:
			case <-ctx.Done():
				return fmt.Errorf("read the control bucket: %w", ctx.Err())
			}
			ctl := control.NewService(st.Control, view, control.DefaultLimits(), log)
			ctl.Secrets = box.WithPrevious(prev)
			if err := ctl.AgreeOnSecretsKey(ctx, keyFile, false); err != nil {
				return err
			}
			n, err := ctl.ResealSecrets(ctx)
			if err != nil {
				return err
			}
			// The inbound webhooks' secrets too (package webhooks).
			reg, err := webhooks.OpenRegistry(ctx, st.JS, 1, ctl.Secrets, log)
			if err != nil {
				return err
			}
			regReady := make(chan struct{})
			go func() { _ = reg.Run(ctx, func() { close(regReady) }) }()
			select {
			case <-regReady:
			case <-ctx.Done():
				return fmt.Errorf("read the webhooks bucket: %w", ctx.Err())
			}
			w, err := reg.Reseal(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d connections and %d webhooks sealed again; the cluster's key is now %s (key id %s)\n", n, w, keyFile, box.KeyID())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", "./switchyard-data", "directory of the embedded store (the server must be stopped)")
	f.StringVar(&natsURL, "nats-url", "", "external NATS server or cluster")
	f.StringVar(&keyFile, "secrets-key-file", "", "the new key")
	f.StringVar(&prevFile, "secrets-previous-key-file", "", "the key the secrets are sealed with now")
	return cmd
}
