package main

import (
	"os"
	"runtime/debug"
)

// serveGCPercent is the collector's target for serve unless GOGC says
// otherwise. The server's live heap is small (tens of MB) but PutEvents
// allocates per request at a high rate, so at Go's default of 100 the
// collector ran often enough to take a tenth of the CPU under load; 400
// trades a few more MB of heap for most of that.
const serveGCPercent = 400

func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(serveGCPercent)
	}
}
