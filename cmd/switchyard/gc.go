package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// serveGCPercent is the collector's target for serve unless GOGC says
// otherwise. The server's live heap is small (tens of MB) but PutEvents
// allocates per request at a high rate, so at Go's default of 100 the
// collector ran often enough to take a tenth of the CPU under load; 400
// trades a few more MB of heap for most of that.
const serveGCPercent = 400

// defaultMemoryLimit is serve's soft memory limit unless GOMEMLIMIT or
// --memory-limit says otherwise. At GOGC 400 the heap may grow to five
// times what is live before the collector runs: under a burst of large
// requests (64 and more concurrent 3.6 MB bodies) that put the resident
// set at 430–615 MB with the request budget full, and it stays there until
// a collection. Past the limit the collector runs as often as it must to
// stay under it (at most half the CPU), so it bounds that growth without
// failing anything: a live heap beyond it costs CPU, not errors.
const defaultMemoryLimit = "1GiB"

// tuneGC sets the collector's percentage and the soft memory limit
// (limit: bytes, or with a KiB, MiB or GiB suffix; "off" for none).
// Variables set in the environment win, as the runtime documents them.
func tuneGC(limit string) error {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(serveGCPercent)
	}
	n, err := parseBytes(limit)
	if err != nil {
		return fmt.Errorf("--memory-limit: %w", err)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set && n > 0 {
		debug.SetMemoryLimit(n)
	}
	return nil
}

// parseBytes reads "1073741824", "512MiB", "1GiB" or "off" (0).
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "" {
		return 0, nil
	}
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if v, ok := strings.CutSuffix(s, suffix); ok {
			s, mult = v, m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size (bytes, or a number with KiB, MiB or GiB; off for none)", s)
	}
	return n * mult, nil
}

// parseDiskReserve reads --disk-reserve as store.Config.DiskReserve:
// "auto" is 0 (the store's default), "off" or "0" is -1 (no guard), else a
// size as parseBytes reads it.
func parseDiskReserve(s string) (int64, error) {
	switch strings.TrimSpace(s) {
	case "", "auto":
		return 0, nil
	case "off", "0":
		return -1, nil
	}
	return parseBytes(s)
}
