package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// printJSON writes v as indented JSON, for scripts (--json).
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table writes aligned columns; call Flush when done.
func table(w io.Writer, header ...string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	return tw
}

// row writes one table row.
func row(tw *tabwriter.Writer, cells ...string) {
	for i, c := range cells {
		// A tab or newline in a cell (a note, a user agent) would break
		// the columns.
		cells[i] = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return ' '
			}
			return r
		}, c)
	}
	fmt.Fprintln(tw, strings.Join(cells, "\t"))
}

// day formats a time as its UTC date.
func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.DateOnly)
}

// dayPtr formats an optional time.
func dayPtr(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return day(*t)
}

// until says when t is relative to now: "in 30 days", "3 days ago".
func until(now, t time.Time) string {
	d := t.Sub(now)
	past := d < 0
	if past {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = "moments"
	case d < time.Hour:
		s = plural(int((d+30*time.Second)/time.Minute), "minute")
	case d < 47*time.Hour:
		s = plural(int((d+30*time.Minute)/time.Hour), "hour")
	default:
		// Rounded: a key made for 30 days reads "in 30 days" a second later.
		s = plural(int((d+12*time.Hour)/(24*time.Hour)), "day")
	}
	if past {
		return s + " ago"
	}
	return "in " + s
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// size formats a byte count for people.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
