package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// Band is a labelled time interval of a run (a migration phase).
type Band struct {
	Label    string
	From, To time.Duration
}

// Run is one panel of the latency chart: a load's records and the phases
// that ran under it.
type Run struct {
	Title   string
	Records []Record
	Bands   []Band
}

// Chart geometry.
const (
	svgWidth   = 1000
	panelH     = 260
	marginL    = 64
	marginR    = 16
	marginTop  = 44
	panelGap   = 84
	legendH    = 40
	minLatency = 1 * time.Millisecond
)

// LatencySVG draws write latency over time, one panel per run, on a shared
// time axis and a shared logarithmic latency axis: per time bucket the
// median, the 99th percentile and the maximum, failed transactions as
// crosses, the migration phases as shaded bands, and the 1 s target.
func LatencySVG(w io.Writer, title string, runs []Run) error {
	var span time.Duration
	maxLat := time.Second
	for _, r := range runs {
		for _, rec := range r.Records {
			span = max(span, rec.Sched)
			maxLat = max(maxLat, rec.Latency)
		}
		for _, b := range r.Bands {
			span = max(span, b.To)
		}
	}
	if span <= 0 {
		span = time.Second
	}
	// Decades from 1 ms to the first power of ten above the slowest.
	decades := int(math.Ceil(math.Log10(float64(maxLat) / float64(minLatency))))
	decades = max(decades, 4) // at least up to 10 s: the 1 s target stays inside

	plotW := float64(svgWidth - marginL - marginR)
	height := marginTop + len(runs)*(panelH+panelGap) + legendH
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		svgWidth, height, svgWidth, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", marginL, esc(title))

	bucket := bucketSize(span)
	x := func(d time.Duration) float64 { return marginL + plotW*float64(d)/float64(span) }
	for i, r := range runs {
		y0 := float64(marginTop + i*(panelH+panelGap) + 18)
		y := func(d time.Duration) float64 {
			d = max(d, minLatency)
			f := math.Log10(float64(d)/float64(minLatency)) / float64(decades)
			return y0 + panelH*(1-math.Min(f, 1))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="13" font-weight="bold">%s</text>`+"\n", marginL, y0-8, esc(r.Title))
		// Phase bands, alternating shades, labels staggered on two rows.
		for j, band := range r.Bands {
			fill := "#eef3fb"
			if j%2 == 1 {
				fill = "#fbf3e6"
			}
			x1, x2 := x(band.From), x(band.To)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s"><title>%s: %.1f s – %.1f s</title></rect>`+"\n",
				x1, y0, math.Max(x2-x1, 0.8), panelH, fill, esc(band.Label), band.From.Seconds(), band.To.Seconds())
			// Labels only where they fit; the line under the axis names
			// every phase with its duration.
			if x2-x1 >= 6*float64(len(band.Label))+4 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10" fill="#555">%s</text>`+"\n", x1+2, y0+12+float64(j%2)*12, esc(band.Label))
			}
		}
		if len(r.Bands) > 0 {
			var parts []string
			for _, band := range r.Bands {
				parts = append(parts, fmt.Sprintf("%s %.1f s", band.Label, (band.To-band.From).Seconds()))
			}
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="10" fill="#555">phases: %s</text>`+"\n", marginL, y0+panelH+32, esc(strings.Join(parts, " · ")))
		}
		// Axes and grid.
		for d := 0; d <= decades; d++ {
			v := time.Duration(float64(minLatency) * math.Pow(10, float64(d)))
			yy := y(v)
			stroke := "#ddd"
			if v == time.Second {
				stroke = "#c00"
			}
			fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s"%s/>`+"\n", marginL, svgWidth-marginR, yy, yy, stroke,
				map[bool]string{true: ` stroke-dasharray="6 4"`, false: ""}[v == time.Second])
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", marginL-6, yy+4, axisLabel(v))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" fill="#c00">target: max 1 s</text>`+"\n", marginL+4, y(time.Second)-4)
		step := tickStep(span)
		for t := time.Duration(0); t <= span; t += step {
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#999"/>`+"\n", x(t), x(t), y0+panelH, y0+panelH+4)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%.0f s</text>`+"\n", x(t), y0+panelH+16, t.Seconds())
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%.1f" height="%d" fill="none" stroke="#999"/>`+"\n", marginL, y0, plotW, panelH)
		// Per-bucket statistics.
		p50, p99, mx := bucketLines(r.Records, bucket)
		for _, l := range []struct {
			pts   []point
			color string
			width float64
		}{{mx, "#d62728", 1}, {p99, "#ff7f0e", 1.2}, {p50, "#1f77b4", 1.5}} {
			var path strings.Builder
			for k, p := range l.pts {
				cmd := "L"
				if k == 0 {
					cmd = "M"
				}
				fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, x(min(p.t, span)), y(p.v))
			}
			if path.Len() > 0 {
				fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="%.1f"/>`+"\n", strings.TrimSpace(path.String()), l.color, l.width)
			}
		}
		failed := 0
		for _, rec := range r.Records {
			if rec.Err == "" {
				continue
			}
			failed++
			cx, cy := x(rec.Sched), y(rec.Latency)
			fmt.Fprintf(&b, `<path d="M%.1f %.1f l6 6 m0 -6 l-6 6" stroke="black" stroke-width="1"/>`+"\n", cx-3, cy-3)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#333">%d transactions, %d failed</text>`+"\n",
			svgWidth-marginR, y0-8, len(r.Records), failed)
	}
	// Legend.
	ly := float64(height - legendH + 16)
	items := []struct{ color, label string }{
		{"#1f77b4", "median"}, {"#ff7f0e", "p99"}, {"#d62728", "max"},
	}
	lx := float64(marginL)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">per %s of scheduled start:</text>`+"\n", lx, ly+4, bucket)
	lx += 170
	for _, it := range items {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/>`+"\n", lx, lx+22, ly, ly, it.color)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", lx+26, ly+4, it.label)
		lx += 80
	}
	fmt.Fprintf(&b, `<path d="M%.1f %.1f l6 6 m0 -6 l-6 6" stroke="black"/>`+"\n", lx, ly-3)
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">failed transaction</text>`+"\n", lx+10, ly+4)
	lx += 130
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#555">shaded: migration phases · latency from the scheduled start, log scale</text>`+"\n", lx, ly+4)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

type point struct {
	t time.Duration
	v time.Duration
}

// bucketLines returns, per bucket of scheduled start that has records, the
// median, p99 and max latency at the bucket's middle.
func bucketLines(recs []Record, bucket time.Duration) (p50, p99, mx []point) {
	groups := map[int64][]time.Duration{}
	for _, r := range recs {
		k := int64(r.Sched / bucket)
		groups[k] = append(groups[k], r.Latency)
	}
	keys := make([]int64, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		ls := groups[k]
		sort.Slice(ls, func(i, j int) bool { return ls[i] < ls[j] })
		mid := time.Duration(k)*bucket + bucket/2
		p50 = append(p50, point{mid, Percentile(ls, 50)})
		p99 = append(p99, point{mid, Percentile(ls, 99)})
		mx = append(mx, point{mid, ls[len(ls)-1]})
	}
	return p50, p99, mx
}

// bucketSize keeps the chart at no more than about 500 buckets.
func bucketSize(span time.Duration) time.Duration {
	for _, b := range []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute} {
		if span/b <= 500 {
			return b
		}
	}
	return 5 * time.Minute
}

func tickStep(span time.Duration) time.Duration {
	for _, s := range []time.Duration{5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute} {
		if span/s <= 12 {
			return s
		}
	}
	return 30 * time.Minute
}

func axisLabel(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.0f s", d.Seconds())
	default:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
}

func esc(s string) string { return html.EscapeString(s) }
