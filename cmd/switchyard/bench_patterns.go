package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/internal/bench/patternbench"
)

func benchPatternsCmd() *cobra.Command {
	var (
		cfg    patternbench.Config
		shared string
		cores  int
	)
	cmd := &cobra.Command{
		Use:   "patterns",
		Short: "Measure the event-pattern matcher on the city-lots data set, checking every match count",
		Long: `Loads the city-lots events (one JSON object a line) and the 15 pattern groups of
../shared/bench, checks that every pattern matches exactly the expected number
of events, then reports events/s per group, for all 75 patterns in one matcher,
and with 10,000 exact and prefix rules (throughput and memory).

When --events names a file that does not exist, it is generated first with
python3 <shared>/lots.py events (about 150 MB, 20 s).

  switchyard bench patterns --events /tmp/lots.jsonl
  taskset -c 1 switchyard bench patterns --events /tmp/lots.jsonl   # one core, as recorded`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			runtime.GOMAXPROCS(cores)
			if cfg.PatternsPath == "" {
				cfg.PatternsPath = filepath.Join(shared, "lots-patterns.json")
			}
			if cfg.ExpectedPath == "" {
				cfg.ExpectedPath = filepath.Join(shared, "lots-expected.json")
			}
			if _, err := os.Stat(cfg.EventsPath); os.IsNotExist(err) {
				fmt.Fprintf(cmd.ErrOrStderr(), "generating %s with %s/lots.py ...\n", cfg.EventsPath, shared)
				out, err := os.Create(cfg.EventsPath)
				if err != nil {
					return err
				}
				gen := exec.CommandContext(cmd.Context(), "python3", filepath.Join(shared, "lots.py"), "events")
				gen.Stdout, gen.Stderr = out, os.Stderr
				err = gen.Run()
				if cerr := out.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					os.Remove(cfg.EventsPath)
					return fmt.Errorf("generate events: %w", err)
				}
			}
			return patternbench.Run(cmd.Context(), cfg, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&shared, "shared", "../shared/bench", "folder holding lots.py, lots-patterns.json and lots-expected.json")
	f.StringVar(&cfg.EventsPath, "events", "lots.jsonl", "events file (generated when missing)")
	f.StringVar(&cfg.PatternsPath, "patterns", "", "pattern groups (default <shared>/lots-patterns.json)")
	f.StringVar(&cfg.ExpectedPath, "expected", "", "expected counts (default <shared>/lots-expected.json)")
	f.StringSliceVar(&cfg.Groups, "groups", nil, "only these groups (default all)")
	f.IntVar(&cfg.Passes, "passes", 3, "timed passes per figure; the best is reported")
	f.IntVar(&cfg.ScaleRules, "scale-rules", 10000, "rules in the scaling runs; negative skips them")
	f.BoolVar(&cfg.SkipAll, "skip-all", false, "skip the run with all patterns in one matcher")
	f.IntVar(&cores, "cores", 1, "GOMAXPROCS for the run (the goals are single-core)")
	return cmd
}
