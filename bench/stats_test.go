package bench

import (
	"bytes"
	"encoding/xml"
	"io"
	"testing"
	"time"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestSummarize(t *testing.T) {
	var ls []time.Duration
	for i := 100; i >= 1; i-- { // 1..100 ms, unsorted
		ls = append(ls, ms(i))
	}
	s := Summarize(ls, 3)
	want := Summary{Count: 100, Failed: 3, P50: ms(50), P99: ms(99), Max: ms(100)}
	if s != want {
		t.Fatalf("got %+v, want %+v", s, want)
	}
	if ls[0] != ms(100) {
		t.Fatal("Summarize must not reorder its input")
	}
	if got := Summarize(nil, 0); got != (Summary{}) {
		t.Fatalf("empty: %+v", got)
	}
	if got := Percentile([]time.Duration{ms(7)}, 99); got != ms(7) {
		t.Fatalf("one value: %v", got)
	}
	if got := Median([]time.Duration{ms(3), ms(1), ms(2), ms(4)}); got != ms(2) {
		t.Fatalf("median: %v", got)
	}
}

func TestTable(t *testing.T) {
	var b bytes.Buffer
	Table(&b, false, []string{"a", "bb"}, [][]string{{"xxx", "y"}})
	want := "a    bb\n---  --\nxxx  y\n"
	if b.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	Table(&b, true, []string{"a", "bb"}, [][]string{{"xxx", "y"}})
	if want := "| a | bb |\n| --- | --- |\n| xxx | y |\n"; b.String() != want {
		t.Fatalf("markdown: got\n%q", b.String())
	}
}

// The chart is well-formed SVG with one panel per run, a line per
// statistic, a cross per failed transaction and a band per phase.
func TestLatencySVG(t *testing.T) {
	var recs []Record
	for i := 0; i < 3000; i++ {
		r := Record{Sched: time.Duration(i) * 5 * time.Millisecond, Latency: ms(2 + i%7), Kind: TxNewLead}
		if i == 1500 {
			r.Latency, r.Err = 9*time.Second, "57014 canceling statement due to statement timeout"
		}
		recs = append(recs, r)
	}
	runs := []Run{
		{Title: "warden", Records: recs, Bands: []Band{{"2-add", 2 * time.Second, 5 * time.Second}, {"3-backfill", 5 * time.Second, 9 * time.Second}}},
		{Title: "naive <&>", Records: recs[:100]},
	}
	var b bytes.Buffer
	if err := LatencySVG(&b, "write latency", runs); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	dec := xml.NewDecoder(&b)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
			if se.Name.Local == "path" {
				for _, a := range se.Attr {
					if a.Name.Local == "stroke" {
						counts["stroke "+a.Value]++
					}
				}
			}
		}
	}
	if counts["svg"] != 1 {
		t.Fatalf("elements: %v", counts)
	}
	for _, color := range []string{"#1f77b4", "#ff7f0e", "#d62728"} {
		if counts["stroke "+color] != 2 {
			t.Errorf("%s lines: %d, want one per panel", color, counts["stroke "+color])
		}
	}
	// One cross per failure in each panel that has it, plus the legend's.
	if counts["stroke black"] != 2 {
		t.Errorf("crosses: %d, want 2", counts["stroke black"])
	}
}
