package patternbench

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestRun runs the whole benchmark when SWITCHYARD_LOTS names the events
// file (python3 ../shared/bench/lots.py events > $SWITCHYARD_LOTS); the
// counts check makes it a correctness test as well. SWITCHYARD_LOTS_GROUPS
// (comma-separated) limits it to some groups.
func TestRun(t *testing.T) {
	events := os.Getenv("SWITCHYARD_LOTS")
	if events == "" {
		t.Skip("SWITCHYARD_LOTS is not set")
	}
	cfg := Config{
		EventsPath:   events,
		PatternsPath: "../../../../shared/bench/lots-patterns.json",
		ExpectedPath: "../../../../shared/bench/lots-expected.json",
	}
	if g := os.Getenv("SWITCHYARD_LOTS_GROUPS"); g != "" {
		cfg.Groups = strings.Split(g, ",")
	}
	var out strings.Builder
	err := Run(context.Background(), cfg, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
}
