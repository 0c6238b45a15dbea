package output

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// ProgressBar draws "name [=====>     ]  45%  1.2 MiB / 2.7 MiB" on one
// terminal line, redrawn at most ten times a second.
type ProgressBar struct {
	w     io.Writer
	name  string
	total int64
	last  time.Time
	drawn bool
}

// NewProgressBar returns a bar for a transfer of total bytes named name,
// drawn on w (a terminal).
func NewProgressBar(w io.Writer, name string, total int64) *ProgressBar {
	if len(name) > 32 {
		name = name[:29] + "..."
	}
	return &ProgressBar{w: w, name: name, total: total}
}

// Update redraws the bar for sent of total bytes; it has the signature of
// client.UploadOptions.Progress.
func (p *ProgressBar) Update(sent, total int64) {
	now := time.Now()
	if sent < total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	const width = 30
	frac := 0.0
	if total > 0 {
		frac = float64(sent) / float64(total)
	}
	filled := int(frac * width)
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	fmt.Fprintf(p.w, "\r%-32s [%s] %3.0f%%  %s / %s ", p.name, bar, frac*100, Size(sent), Size(total))
	p.drawn = true
}

// Clear erases the bar, so the outcome line starts clean.
func (p *ProgressBar) Clear() {
	if p.drawn {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 90))
	}
}
