package bench

import (
	"fmt"
	"testing"

	"github.com/warden-sql/warden/generator/classify"
	"github.com/warden-sql/warden/generator/migrations"
	"github.com/warden-sql/warden/generator/output"
	"github.com/warden-sql/warden/policy"
)

// B4: in-memory generation at catalog scale, no database. Run with
//
//	go test -run '^$' -bench . -benchmem ./bench
//
// (bench/run.sh does). Sizes are total tables: 100 and 1,000 families
// give 512 and 5,095 tables.
func BenchmarkGenerate(b *testing.B) {
	for _, fam := range []int{100, 1000} {
		s := Synthetic{Families: fam}
		db := s.Model()
		pol, err := policy.Parse("synthetic.yaml", s.Policy())
		if err != nil {
			b.Fatal(err)
		}
		tables := fmt.Sprintf("tables=%d", len(db.Tables))
		b.Run("PolicyParse/"+tables, func(b *testing.B) {
			data := s.Policy()
			for b.Loop() {
				if _, err := policy.Parse("synthetic.yaml", data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Classify/"+tables, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if p := classify.Classify(db, pol); p.Err() != nil {
					b.Fatal(p.Err())
				}
			}
		})
		plan := classify.Classify(db, pol)
		b.Run("Steps/"+tables, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := migrations.Steps(plan, db); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("ClassifyRender/"+tables, func(b *testing.B) {
			b.ReportAllocs()
			var files int
			for b.Loop() {
				set, err := output.Render(classify.Classify(db, pol), db)
				if err != nil {
					b.Fatal(err)
				}
				files = len(set)
			}
			b.ReportMetric(float64(files), "files")
		})
	}
}
