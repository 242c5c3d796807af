package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/internal/devcluster"
	"github.com/switchyard/switchyard/internal/secretbox"
)

func clusterCmd() *cobra.Command {
	var nodes int
	var dir, natsBin string
	cmd := &cobra.Command{
		Use:   "cluster [-- serve flags]",
		Short: "Run a local cluster for development: N NATS JetStream nodes and N switchyard processes",
		Long: `Starts --nodes nats-server processes forming one JetStream cluster on loopback,
and as many switchyard serve processes on it (every stream and bucket with 3
replicas, one secrets key), prints their addresses, and runs until interrupted,
then stops them gracefully. Data stays in --dir for the next run. Flags after
-- go to every switchyard serve.

  switchyard cluster --nats-server bin/nats-server -- --auth none
  (make cluster does this)`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if natsBin == "" {
				p, err := exec.LookPath("nats-server")
				if err != nil {
					return fmt.Errorf("no nats-server in PATH: give --nats-server (make cluster builds one into bin/)")
				}
				natsBin = p
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			keyFile := filepath.Join(dir, "secrets.key")
			if _, err := os.Stat(keyFile); os.IsNotExist(err) {
				if err := os.WriteFile(keyFile, []byte(secretbox.NewKey()+"\n"), 0o600); err != nil {
					return err
				}
			}
			abs, _ := filepath.Abs(dir)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			serveArgs := append([]string{"--secrets-key-file", keyFile}, args...)
			c, err := devcluster.Start(ctx, devcluster.Config{Nodes: nodes, Switchyard: self, NATS: natsBin, Dir: abs,
				Args: serveArgs, Log: cmd.ErrOrStderr()})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "NATS cluster: %s\n", c.URLs)
			for _, m := range c.Switchyard {
				fmt.Fprintf(out, "%s: http://%s\n", m.Name, m.Addr)
			}
			fmt.Fprintln(out, "^C to stop")
			<-ctx.Done()
			c.Stop()
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&nodes, "nodes", 3, "NATS nodes, and switchyard processes")
	f.StringVar(&dir, "dir", "./switchyard-cluster", "the members' data")
	f.StringVar(&natsBin, "nats-server", "", "the nats-server binary (default: from PATH)")
	return cmd
}
