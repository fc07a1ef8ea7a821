//go:build !windows

package fileset

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDir takes the write lock of dir without waiting, and returns its
// release: an flock on the directory itself, so that two generate runs into
// one directory never interleave (one would remove the other's staging
// directory as a leftover) and nothing is left behind. A directory that does
// not exist yet needs no lock.
func lockDir(dir string) (func(), error) {
	f, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return func() {}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fileset: locking %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("fileset: another warden is writing %s right now; run again when it is done", dir)
		}
		return nil, fmt.Errorf("fileset: locking %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}
