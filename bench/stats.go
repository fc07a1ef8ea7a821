package bench

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// Summary is the latency distribution of a set of transactions.
type Summary struct {
	Count  int           `json:"count"`
	Failed int           `json:"failed"`
	P50    time.Duration `json:"p50_ns"`
	P99    time.Duration `json:"p99_ns"`
	Max    time.Duration `json:"max_ns"`
}

// Summarize computes the summary of latencies (nearest-rank percentiles).
// failed counts the transactions that ended in an error; their latency is
// included, since a client waited that long for the error.
func Summarize(latencies []time.Duration, failed int) Summary {
	s := Summary{Count: len(latencies), Failed: failed}
	if len(latencies) == 0 {
		return s
	}
	sorted := append([]time.Duration(nil), latencies...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	s.P50 = Percentile(sorted, 50)
	s.P99 = Percentile(sorted, 99)
	s.Max = sorted[len(sorted)-1]
	return s
}

// Percentile returns the nearest-rank p-th percentile of sorted (ascending).
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Median returns the median of ds (the lower middle for an even count).
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := append([]time.Duration(nil), ds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	return sorted[(len(sorted)-1)/2]
}

// Ms formats a duration in milliseconds with a precision that suits it.
func Ms(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f ms", ms)
	default:
		return fmt.Sprintf("%.2f ms", ms)
	}
}

// Secs formats a duration in seconds.
func Secs(d time.Duration) string {
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// Table prints rows as a plain-text table with a header, columns padded to
// their widest cell, and as GitHub markdown when md is set.
func Table(w io.Writer, md bool, header []string, rows [][]string) {
	width := make([]int, len(header))
	for i, h := range header {
		width[i] = len([]rune(h))
	}
	for _, r := range rows {
		for i, c := range r {
			if i < len(width) {
				width[i] = max(width[i], len([]rune(c)))
			}
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for i := range header {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			if md {
				b.WriteString("| " + c + " ")
				continue
			}
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(c + strings.Repeat(" ", width[i]-len([]rune(c))))
		}
		if md {
			b.WriteString("|")
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	line(header)
	if md {
		seps := make([]string, len(header))
		for i := range seps {
			seps[i] = "---"
		}
		line(seps)
	} else {
		seps := make([]string, len(header))
		for i := range seps {
			seps[i] = strings.Repeat("-", width[i])
		}
		line(seps)
	}
	for _, r := range rows {
		line(r)
	}
}
