package fileset

import (
	"os"

	"golang.org/x/sys/unix"
)

// batchSync is true where syncDir can make every staged file durable with
// one call, so staging writes files without an fsync each.
const batchSync = true

// syncDir makes everything written on dir's filesystem durable with one
// syncfs(2): one journal commit for all staged files instead of one fsync
// (and commit) per file, which dominated generate on large outputs.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return err
	}
	return f.Sync()
}
