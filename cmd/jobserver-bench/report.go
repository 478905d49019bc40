package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// section orders the rows as the measurements are described, whatever order they ran in.
type section int

const (
	sectionRawInsert section = iota
	sectionAppend
	sectionRead
	sectionRebuild
	sectionLag
	sectionCommand
	sectionRunnerAPI
	sectionAudit
	sectionEventLog
	sectionReleases
)

// row is one line of the report.
type row struct {
	section     section
	measurement string
	writers     int
	value       float64
	unit        string
	raw         float64 // the raw ceiling measured in this run for the same work; 0 when there is none
	rawUnit     string  // the unit of raw when it differs from unit
	goal        *goal   // nil when the row has no target
}

func (r row) ratio() (float64, bool) {
	if r.raw <= 0 {
		return 0, false
	}
	return r.value / r.raw, true
}

// goal is a target a row must meet.
type goal struct {
	text string
	met  func(row) bool
}

func atLeastRatio(min float64) *goal {
	return &goal{text: fmt.Sprintf("≥ %.2f × raw", min), met: func(r row) bool {
		ratio, ok := r.ratio()
		return ok && ratio >= min
	}}
}

// atMostRatio is a target on a time: at most max times the raw one.
func atMostRatio(max float64) *goal {
	return &goal{text: fmt.Sprintf("≤ %.2f × raw", max), met: func(r row) bool {
		ratio, ok := r.ratio()
		return ok && ratio <= max
	}}
}

func atLeast(min float64, unit string) *goal {
	return &goal{text: "≥ " + formatValue(min, unit), met: func(r row) bool { return r.value >= min }}
}

func below(limit float64, unit string) *goal {
	return &goal{text: "< " + formatValue(limit, unit), met: func(r row) bool { return r.value < limit }}
}

// report collects the rows and notes of a run.
type report struct {
	rows  []row
	notes []string
	// rawRead is the raw keyset read's events/s, the ceiling of a rebuild too.
	rawRead float64
}

func (rep *report) add(r row)        { rep.rows = append(rep.rows, r) }
func (rep *report) note(text string) { rep.notes = append(rep.notes, text) }

func (rep *report) print(out io.Writer, m machineInfo, cfg config) {
	fmt.Fprintf(out, "jobserver-bench  %s\n", time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(out, "machine:   %s, %d cores\n", m.cpu, m.cores)
	fmt.Fprintf(out, "postgres:  %s\n", m.postgres)
	fmt.Fprintf(out, "settings:  synchronous_commit=%s fsync=%s\n", m.synchronousCommit, m.fsync)
	fmt.Fprintf(out, "load:      1-minute load average %s at the start, %s at the end (other work on the machine lowers every number)\n",
		m.loadAtStart, loadAverage())
	fmt.Fprintf(out, "run:       database %s, %d events seeded, %s per write measurement, %s of lag\n\n",
		m.database, cfg.events, cfg.duration, cfg.lagDuration)

	rows := slices.Clone(rep.rows)
	slices.SortStableFunc(rows, func(a, b row) int { return int(a.section) - int(b.section) })
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measurement\twriters\tvalue\traw\tratio\ttarget\tmet")
	var missed []string
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r.cells(), "\t"))
		if r.goal != nil && !r.goal.met(r) {
			missed = append(missed, fmt.Sprintf("%s, %d writers: %s, target %s", r.measurement, r.writers, r.achieved(), r.goal.text))
		}
	}
	_ = tw.Flush()
	fmt.Fprintln(out)
	for _, n := range rep.notes {
		fmt.Fprintln(out, "note: "+n)
	}
	if len(missed) == 0 {
		fmt.Fprintln(out, "\nevery target met")
		return
	}
	fmt.Fprintln(out)
	for _, m := range missed {
		fmt.Fprintln(out, "MISSED: "+m)
	}
}

func (r row) cells() []string {
	raw, ratio, target, met := "-", "-", "-", "-"
	if r.raw > 0 {
		raw = formatValue(r.raw, r.unitOfRaw())
	}
	if q, ok := r.ratio(); ok {
		ratio = fmt.Sprintf("%.2f", q)
	}
	if r.goal != nil {
		target = r.goal.text
		met = "yes"
		if !r.goal.met(r) {
			met = "no  MISSED"
		}
	}
	return []string{r.measurement, strconv.Itoa(r.writers), formatValue(r.value, r.unit), raw, ratio, target, met}
}

func (r row) unitOfRaw() string {
	if r.rawUnit != "" {
		return r.rawUnit
	}
	return r.unit
}

// achieved is the value a MISSED line quotes: the ratio when the target is one, the value otherwise.
func (r row) achieved() string {
	if q, ok := r.ratio(); ok {
		return fmt.Sprintf("%s = %.2f × raw (%s)", formatValue(r.value, r.unit), q, formatValue(r.raw, r.unitOfRaw()))
	}
	return formatValue(r.value, r.unit)
}

// formatValue prints rates as whole numbers with thousands separators and times with one decimal.
func formatValue(v float64, unit string) string {
	if unit == "ms" && v < 10 {
		return fmt.Sprintf("%.2f ms", v)
	}
	if unit == "ms" {
		return fmt.Sprintf("%.1f ms", v)
	}
	return thousands(int64(v+0.5)) + " " + unit
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
