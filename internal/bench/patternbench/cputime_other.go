//go:build !unix

package patternbench

import "time"

// cpuTime is unknown here; figures per CPU-second are then left out.
func cpuTime() time.Duration { return 0 }
