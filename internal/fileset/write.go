package fileset

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
)

// isNotDir reports a path with a parent component that is not a directory.
func isNotDir(err error) bool { return errors.Is(err, syscall.ENOTDIR) }

// Result says what Write did; every list holds slash paths relative to the
// output directory, sorted.
type Result struct {
	// Written lists the files created (they were missing) or replaced
	// (their content differed).
	Written []string `json:"written"`
	// Unchanged lists the files whose bytes were already right; they were not
	// rewritten, so their modification times are kept.
	Unchanged []string `json:"unchanged"`
	// Removed lists the stale files: warden-generated files that the Set no
	// longer holds.
	Removed []string `json:"removed"`
}

// Write makes dir hold exactly the files of s, all or nothing, creating dir
// when it does not exist.
//
// It validates every path and reads the directory first, then stages every
// changed file in a temporary directory inside dir (same filesystem, so the
// renames that follow are atomic) and fsyncs it. Only then does it touch the
// existing tree: it moves stale files (warden-generated, see IsGenerated, but
// not in s) out of the way, creates missing directories and renames the
// staged files into place. If any step fails, the steps already taken are
// undone in reverse, so dir is left as it was: an error returned before the
// commit leaves every file in dir byte for byte as before, and a failure
// during the commit is rolled back the same way. Only a crash of the process
// (or of the machine) in the middle of the commit can leave a mix; run Write
// again, and Check will show it meanwhile.
//
// Files whose bytes are unchanged are not rewritten. Files that are not
// warden's are never modified or removed; a path of s that is occupied by
// such a file is an error. Directories emptied by removing stale files are
// removed too, but never dir itself.
//
// Write holds a lock on an existing dir (flock) while it works:
// a second Write into the same dir fails at once with one clear line instead
// of interleaving. A successful Write removes the staging directories
// (.warden-tmp-*) that a killed Write left in dir.
func Write(dir string, s Set) (Result, error) {
	unlock, err := lockDir(dir)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	w, err := newWriter(dir, s)
	if err != nil {
		return Result{}, err
	}
	if err := w.run(); err != nil {
		w.abort()
		return Result{}, err
	}
	return w.finish()
}

// testHook, when set (by tests only), runs before every step that changes
// dir, named by what it is about to do; an error makes that step fail, so
// tests can check the rollback at each point.
var testHook func(step, path string) error

func hook(step, p string) error {
	if testHook == nil {
		return nil
	}
	return testHook(step, p)
}

// file is one path of the Set whose content must be written.
type file struct {
	path    string
	content []byte
	old     *target // nil when the path is free
	staged  string  // full path of the staged new content
	backup  string  // full path of a copy of the old file, when there is one
}

type writer struct {
	dir       string
	createdUp []string // directories created to make dir itself, outermost first
	tmp       string
	files     []*file
	unchanged []string
	stale     []string
	undo      []func() error
}

// newWriter validates the Set and reads the tree, so that every error that
// can be foreseen is reported before anything is staged.
func newWriter(dir string, s Set) (*writer, error) {
	paths, err := s.paths()
	if err != nil {
		return nil, err
	}
	w := &writer{dir: dir}
	// A parent of dir that is a file (ENOTDIR) is left to makeRoot, which
	// names that parent in its error.
	exists, err := statDir(dir)
	if err != nil && !isNotDir(err) {
		return nil, err
	}
	if !exists {
		// Nothing to compare with; the directory is created at run.
		for _, p := range paths {
			w.files = append(w.files, &file{path: p, content: s[p]})
		}
		return w, nil
	}
	if w.stale, err = findStale(dir, s); err != nil {
		return nil, err
	}
	staleSet := make(map[string]bool, len(w.stale))
	for _, p := range w.stale {
		staleSet[p] = true
	}
	in := newInspector(dir)
	for _, p := range paths {
		t, err := in.inspect(p)
		if err != nil {
			return nil, err
		}
		switch {
		case t.blocked != "" && staleSet[t.blocker]:
			// The parent that is in the way is a stale warden file, which
			// the commit removes before creating directories.
			t = target{}
		case t.blocked != "":
			return nil, fmt.Errorf("fileset: cannot write %s: %s; move it away or choose another output directory", filepath.Join(dir, filepath.FromSlash(p)), t.blocked)
		case t.exists && bytes.Equal(t.content, s[p]):
			w.unchanged = append(w.unchanged, p)
			continue
		case t.exists && !IsGenerated(t.content):
			return nil, fmt.Errorf("fileset: refusing to overwrite %s: it exists and was not generated by warden (its first line is not a warden header); move it away or choose another output directory", filepath.Join(dir, filepath.FromSlash(p)))
		}
		f := &file{path: p, content: s[p]}
		if t.exists {
			f.old = &t
		}
		w.files = append(w.files, f)
	}
	return w, nil
}

func (w *writer) full(p string) string {
	return filepath.Join(w.dir, filepath.FromSlash(p))
}

func (w *writer) run() error {
	if err := w.makeRoot(); err != nil {
		return err
	}
	if len(w.files) == 0 && len(w.stale) == 0 {
		return nil
	}
	if err := hook("mktemp", ""); err != nil {
		return fmt.Errorf("fileset: cannot write to output directory %s: %w", w.dir, err)
	}
	tmp, err := os.MkdirTemp(w.dir, tmpPrefix)
	if err != nil {
		return fmt.Errorf("fileset: cannot write to output directory %s: %w (check its permissions and free space)", w.dir, err)
	}
	w.tmp = tmp
	if err := w.stageAll(); err != nil {
		return err
	}
	// Durable before any rename, so a crash cannot leave an empty or
	// partial file under a final name.
	if err := syncDir(w.tmp); err != nil {
		return fmt.Errorf("fileset: syncing the staged files in %s: %w", w.dir, err)
	}
	return w.commit()
}

// stageWorkers bounds the files staged at once. Staging is mostly waiting on
// the disk (create, write, fsync), and filesystems can overlap and batch
// concurrent fsyncs where serial ones each wait for their own journal commit.
// The gain depends on the disk: modest on a slow VM disk, larger on SSDs.
const stageWorkers = 8

// stageAll stages every file, reporting the failure of the first file in
// path order so the error does not depend on scheduling.
func (w *writer) stageAll() error {
	// The test hook is called in order, before any worker starts, so tests
	// see the same sequence of steps on every run.
	for _, f := range w.files {
		if err := hook("stage", f.path); err != nil {
			return fmt.Errorf("fileset: staging %s: %w", f.path, err)
		}
	}
	errs := make([]error, len(w.files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(stageWorkers, len(w.files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = w.stageFile(i, w.files[i])
			}
		}()
	}
	for i := range w.files {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// makeRoot creates dir and its missing parents, remembering them so an abort
// can remove them again.
func (w *writer) makeRoot() error {
	var missing []string
	for d := filepath.Clean(w.dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil {
			if !fi.IsDir() {
				if len(missing) == 0 {
					return fmt.Errorf("fileset: output path %s is a file, not a directory; remove it or choose another output directory", w.dir)
				}
				return fmt.Errorf("fileset: cannot create output directory %s: %s is a file, not a directory", w.dir, d)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) && !isNotDir(err) {
			return fmt.Errorf("fileset: cannot create output directory %s: %w", w.dir, err)
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	for i := len(missing) - 1; i >= 0; i-- {
		d := missing[i]
		if err := hook("mkdir", d); err != nil {
			return fmt.Errorf("fileset: cannot create output directory %s: %w", w.dir, err)
		}
		if err := os.Mkdir(d, 0o777); err != nil {
			return fmt.Errorf("fileset: cannot create output directory %s: %w", w.dir, err)
		}
		w.createdUp = append(w.createdUp, d)
	}
	return nil
}

// stageFile writes f's new content to the staging directory and, when f
// replaces a file, keeps the old one there too, so a failed commit can put
// it back.
func (w *writer) stageFile(i int, f *file) error {
	f.staged = filepath.Join(w.tmp, "new-"+strconv.Itoa(i))
	if err := writeStaged(f.staged, f.content, 0o666); err != nil {
		return fmt.Errorf("fileset: staging %s: %w", f.path, err)
	}
	if f.old == nil {
		return nil
	}
	f.backup = filepath.Join(w.tmp, "old-"+strconv.Itoa(i))
	// A hard link keeps the original file (inode, mode) at no cost; where the
	// filesystem has none, a copy from the bytes already read does.
	if err := os.Link(w.full(f.path), f.backup); err != nil {
		if err := writeStaged(f.backup, f.old.content, f.old.mode); err != nil {
			return fmt.Errorf("fileset: keeping a copy of %s: %w", f.path, err)
		}
	}
	return nil
}

// writeStaged creates name with content. Where the platform cannot sync the
// whole staging directory at once (batchSync), it fsyncs the file, so that
// after the rename a crash cannot leave an empty or partial file under the
// final name.
func writeStaged(name string, content []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(content); err != nil {
		f.Close()
		return err
	}
	if !batchSync {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// commit changes the tree, recording how to undo each step.
func (w *writer) commit() error {
	// Stale files first: one may be a file where a new directory must go.
	for i, p := range w.stale {
		if err := hook("remove", p); err != nil {
			return fmt.Errorf("fileset: removing stale %s: %w", w.full(p), err)
		}
		// Moved, not deleted, until the commit is complete.
		hold := filepath.Join(w.tmp, "stale-"+strconv.Itoa(i))
		if err := os.Rename(w.full(p), hold); err != nil {
			return fmt.Errorf("fileset: removing stale %s: %w", w.full(p), err)
		}
		w.onUndo(func() error { return os.Rename(hold, w.full(p)) })
	}
	made := map[string]bool{}
	for _, f := range w.files {
		if err := w.mkdirs(path.Dir(f.path), made); err != nil {
			return err
		}
	}
	for _, f := range w.files {
		dst := w.full(f.path)
		if err := hook("rename", f.path); err != nil {
			return fmt.Errorf("fileset: writing %s: %w", dst, err)
		}
		if err := os.Rename(f.staged, dst); err != nil {
			return fmt.Errorf("fileset: writing %s: %w", dst, err)
		}
		if f.backup != "" {
			backup := f.backup
			w.onUndo(func() error { return os.Rename(backup, dst) })
		} else {
			w.onUndo(func() error { return os.Remove(dst) })
		}
	}
	return nil
}

// mkdirs creates the slash directory p and its missing parents under dir.
func (w *writer) mkdirs(p string, made map[string]bool) error {
	if p == "." || made[p] {
		return nil
	}
	if err := w.mkdirs(path.Dir(p), made); err != nil {
		return err
	}
	made[p] = true
	full := w.full(p)
	if fi, err := os.Lstat(full); err == nil && fi.IsDir() {
		return nil
	}
	if err := hook("mkdir", p); err != nil {
		return fmt.Errorf("fileset: creating directory %s: %w", full, err)
	}
	if err := os.Mkdir(full, 0o777); err != nil {
		return fmt.Errorf("fileset: creating directory %s: %w", full, err)
	}
	w.onUndo(func() error { return os.Remove(full) })
	return nil
}

func (w *writer) onUndo(f func() error) { w.undo = append(w.undo, f) }

// abort undoes the commit steps taken, newest first, then removes the staging
// directory and any directories made for dir itself.
func (w *writer) abort() {
	// Errors here cannot be reported better than the one that caused the
	// abort, and each undo step is independent of the others failing.
	for i := len(w.undo) - 1; i >= 0; i-- {
		_ = w.undo[i]()
	}
	if w.tmp != "" {
		_ = os.RemoveAll(w.tmp)
	}
	for i := len(w.createdUp) - 1; i >= 0; i-- {
		_ = os.Remove(w.createdUp[i])
	}
}

// finish runs after the commit point: the new tree is in place. It removes
// directories emptied by stale files, fsyncs the changed directories and
// deletes the staging directory. An error here is returned with the Result,
// since the files themselves are already right.
func (w *writer) finish() (Result, error) {
	res := Result{Written: []string{}, Unchanged: []string{}, Removed: []string{}}
	for _, f := range w.files {
		res.Written = append(res.Written, f.path)
	}
	res.Unchanged = append(res.Unchanged, w.unchanged...)
	res.Removed = append(res.Removed, w.stale...)

	var errs []error
	// Deepest first, so a chain of emptied directories goes in one pass.
	emptied := map[string]bool{}
	for _, p := range w.stale {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			emptied[d] = true
		}
	}
	dirs := make([]string, 0, len(emptied))
	for d := range emptied {
		dirs = append(dirs, d)
	}
	sort.Slice(dirs, func(i, j int) bool { return dirs[i] > dirs[j] })
	for _, d := range dirs {
		// A directory that still holds anything (new files, or files
		// that are not warden's) stays.
		entries, err := os.ReadDir(w.full(d))
		if err != nil || len(entries) > 0 {
			continue
		}
		if err := os.Remove(w.full(d)); err != nil {
			errs = append(errs, fmt.Errorf("removing emptied directory %s: %w", w.full(d), err))
		}
	}

	// Renames are durable only once their directory is synced. Errors are
	// ignored: some systems cannot sync a directory, and the file contents
	// were synced already.
	synced := map[string]bool{}
	sync := func(p string) {
		d := path.Dir(p)
		if synced[d] {
			return
		}
		synced[d] = true
		if f, err := os.Open(w.full(d)); err == nil {
			_ = f.Sync()
			f.Close()
		}
	}
	for _, f := range w.files {
		sync(f.path)
	}
	for _, p := range w.stale {
		sync(p)
	}
	if w.tmp != "" {
		if err := os.RemoveAll(w.tmp); err != nil {
			errs = append(errs, fmt.Errorf("removing staging directory %s: %w", w.tmp, err))
		}
	}
	// Staging directories of killed runs would otherwise be committed with
	// the output. Concurrent Writes are not supported, so none is in use.
	if leftovers, err := filepath.Glob(filepath.Join(w.dir, tmpPrefix+"*")); err == nil {
		for _, l := range leftovers {
			if fi, err := os.Lstat(l); err == nil && fi.IsDir() {
				if err := os.RemoveAll(l); err != nil {
					errs = append(errs, fmt.Errorf("removing leftover staging directory %s: %w", l, err))
				}
			}
		}
	}
	if len(errs) > 0 {
		return res, fmt.Errorf("fileset: files written to %s, but cleaning up failed: %w", w.dir, errors.Join(errs...))
	}
	return res, nil
}
