package dbsource

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/warden-sql/warden/introspect"
)

// The model cache: reading the schema files into a throwaway server costs
// a server start (about a second), while the model it yields depends only
// on the files, the schemas read, the warden binary and the PostgreSQL
// binaries. So the embedded default keeps each model it read, as a
// snapshot, under a key hashed from exactly those, and reads it back while
// none of them changed: `warden check` on an unchanged checkout starts no
// server. A changed file, schema list, warden build or PostgreSQL install
// is another key, so a stale model is never read. The cache lives in the
// user cache directory (warden/models), or in $WARDEN_CACHE_DIR;
// WARDEN_CACHE_DIR=off turns it off. Deleting it is always safe.

// CacheDirEnv names the variable that moves or disables the model cache.
const CacheDirEnv = "WARDEN_CACHE_DIR"

// cacheDir returns the model cache's directory, and false when the cache
// is off or there is no user cache directory.
func cacheDir() (string, bool) {
	switch d := os.Getenv(CacheDirEnv); d {
	case "off":
		return "", false
	case "":
		base, err := os.UserCacheDir()
		if err != nil {
			return "", false
		}
		return filepath.Join(base, "warden", "models"), true
	default:
		return d, true
	}
}

// binarySum is the SHA-256 of the running executable: any change to
// warden's code, the introspection included, is another cache key.
var binarySum = sync.OnceValues(func() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	f, err := os.Open(exe)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
})

// cacheKey hashes what the embedded default's model depends on; false
// when one of them cannot be read (no caching then).
func cacheKey(opts Options) (string, bool) {
	bin, err := binarySum()
	if err != nil {
		return "", false
	}
	h := sha256.New()
	fmt.Fprintf(h, "warden model cache 1\nbinary %s\nschemas %q\n", bin, opts.Schemas)
	// The server the files would be loaded into: which postgres, and its
	// install's identity (a minor upgrade replaces the file).
	pg, err := exec.LookPath("postgres")
	if err != nil {
		return "", false
	}
	st, err := os.Stat(pg)
	if err != nil {
		return "", false
	}
	fmt.Fprintf(h, "postgres %s %d %d\n", pg, st.Size(), st.ModTime().UnixNano())
	for i, path := range opts.SchemaFiles {
		data, err := os.ReadFile(path)
		if err != nil {
			return "", false
		}
		name := path
		if i < len(opts.SchemaFileNames) {
			name = opts.SchemaFileNames[i]
		}
		fmt.Fprintf(h, "file %q %d\n", name, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), true
}

// readCached returns the model cached for opts, if any.
func readCached(opts Options) (*Schema, bool) {
	dir, ok := cacheDir()
	if !ok {
		return nil, false
	}
	key, ok := cacheKey(opts)
	if !ok {
		return nil, false
	}
	data, err := os.ReadFile(filepath.Join(dir, key+".json"))
	if err != nil {
		return nil, false
	}
	db, _, files, err := introspect.ReadSnapshotFull(data)
	if err != nil {
		return nil, false // a damaged entry is a miss; it is rewritten
	}
	return &Schema{DB: db, Source: embeddedSource(opts), SchemaFiles: files, Cached: true}, true
}

// writeCached stores s as the model for opts. Failing to is no error: the
// next run reads the files again.
func writeCached(opts Options, s *Schema) {
	dir, ok := cacheDir()
	if !ok {
		return
	}
	key, ok := cacheKey(opts)
	if !ok {
		return
	}
	data, err := introspect.MarshalSnapshot(s.DB, nil, s.SchemaFiles...)
	if err != nil {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return
	}
	// Written aside and renamed: a reader never sees half an entry.
	tmp, err := os.CreateTemp(dir, key+".*.tmp")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), filepath.Join(dir, key+".json")) != nil {
		os.Remove(tmp.Name())
	}
}

// embeddedSource describes the embedded default for messages.
func embeddedSource(opts Options) string {
	return "embedded PostgreSQL (" + strings.Join(opts.SchemaFiles, ", ") + ")"
}
