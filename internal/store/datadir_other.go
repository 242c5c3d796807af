//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package store

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("would block")

// flock is not implemented on this platform: the data directory is not
// locked (two processes on one directory corrupt it; do not do that).
func flock(*os.File) error { return nil }

// diskSpace is unknown on this platform; the disk guard stays off.
func diskSpace(string) (free, size int64, err error) {
	return 0, 0, errors.ErrUnsupported
}
