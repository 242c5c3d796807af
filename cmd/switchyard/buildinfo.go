package main

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// buildInfo is the constant 1, labelled with what is running, so that a
// dashboard can tell the versions of the processes it shows apart.
var buildInfo = promauto.NewGaugeVec(prometheus.GaugeOpts{
	Name: "switchyard_build_info",
	Help: "Always 1: the version of Switchyard and of Go this process runs.",
}, []string{"version", "goversion"})

func recordBuildInfo() { buildInfo.WithLabelValues(version, runtime.Version()).Set(1) }
