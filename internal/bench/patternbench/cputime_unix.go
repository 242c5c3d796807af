//go:build unix

package patternbench

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time the process has used. On a machine shared with
// other work, events per CPU-second are steadier than events per second.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
