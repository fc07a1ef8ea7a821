package fileset

import (
	"fmt"
	"strings"
	"testing"
)

// benchSet is 1,000 files of about 5 KB in a few folders, the size of a large
// adopter's output (a dozen files per table for ~80 tables).
func benchSet() Set {
	s := Set{}
	line := strings.Repeat("x", 60) + "\n"
	for i := 0; i < 1000; i++ {
		var b strings.Builder
		b.WriteString(sqlHead)
		for b.Len() < 5*1024 {
			fmt.Fprintf(&b, "-- %d %s", i, line)
		}
		s[fmt.Sprintf("migrations/phase%d/%04d_step.sql", i%6, i)] = []byte(b.String())
	}
	return s
}

// BenchmarkWriteCheck measures generate followed by check on 1,000 files of
// 5 KB: into an empty directory (every file staged and fsynced), over an
// up-to-date one (the common case: nothing is rewritten), and where ten files
// on disk differ from the Set, as after hand edits (check computes ten diffs).
func BenchmarkWriteCheck(b *testing.B) {
	s := benchSet()
	b.Run("fresh", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			dir := b.TempDir()
			b.StartTimer()
			if _, err := Write(dir, s); err != nil {
				b.Fatal(err)
			}
			if d, err := Check(dir, s); err != nil || !d.Empty() {
				b.Fatal(err, d.Empty())
			}
		}
	})
	b.Run("unchanged", func(b *testing.B) {
		dir := b.TempDir()
		if _, err := Write(dir, s); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := Write(dir, s); err != nil {
				b.Fatal(err)
			}
			if d, err := Check(dir, s); err != nil || !d.Empty() {
				b.Fatal(err, d.Empty())
			}
		}
	})
	b.Run("ten-edited", func(b *testing.B) {
		dir := b.TempDir()
		if _, err := Write(dir, s); err != nil {
			b.Fatal(err)
		}
		edited := Set{}
		for p, c := range s {
			edited[p] = c
		}
		n := 0
		for p, c := range s {
			if n == 10 {
				break
			}
			edited[p] = append([]byte(string(c[:len(c)/2])+"-- edited\n"), c[len(c)/2:]...)
			n++
		}
		for b.Loop() {
			if _, err := Write(dir, edited); err != nil {
				b.Fatal(err)
			}
			if d, err := Check(dir, s); err != nil || len(d.Changed) != 10 {
				b.Fatal(err, len(d.Changed))
			}
		}
	})
}
