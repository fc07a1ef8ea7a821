//go:build !linux

package fileset

import "os"

// batchSync is false where there is no syncfs: each staged file is
// fsynced as it is written.
const batchSync = false

// syncDir fsyncs dir itself (its entries); the files were synced one by one.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
