package upstream

import (
	"context"
	"io"
	"net/http"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/spool"
)

// unavailable is the refusal of a file the upstream cannot give now: a 503
// that conda retries, with the reason it prints.
func unavailable(format string, args ...any) *gatehouse.Error {
	e := gatehouse.Errorf(gatehouse.EUNAVAILABLE, format, args...)
	e.Reason = "UPSTREAM UNAVAILABLE"
	return e
}

// Fetch makes sure a proxy channel's package file is stored, fetching it
// from the upstream on first request. Concurrent requests for one file
// share one upstream fetch; a slow upstream holds at most PerUpstream
// fetches of its own, and never anything of other channels. A file whose
// sha256 or size differs from its record is refused and not stored.
func (m *Manager) Fetch(ctx context.Context, ch *gatehouse.Channel, p *gatehouse.Package) error {
	m.mu.Lock()
	u, ok := m.ups[ch.ID]
	m.mu.Unlock()
	if !ok {
		return gatehouse.Errorf(gatehouse.ENOTFOUND, "The package file is missing.")
	}
	return m.fetchShared(ctx, u, p)
}

func (m *Manager) fetchShared(ctx context.Context, u *gatehouse.Upstream, p *gatehouse.Package) error {
	res := m.files.DoChan(p.BlobKey, func() (any, error) {
		// Not the first caller's context: the others wait on this fetch.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.FileTimeout)
		defer cancel()
		return nil, m.download(fctx, u, p)
	})
	select {
	case r := <-res:
		return r.Err
	case <-ctx.Done():
		return unavailable("The upstream is slow to send %s; try again in a moment.", p.Filename)
	}
}

func (m *Manager) download(ctx context.Context, u *gatehouse.Upstream, p *gatehouse.Package) error {
	if _, _, err := m.cfg.Blobs.Attributes(ctx, p.BlobKey); err == nil {
		return nil // stored meanwhile
	}
	sem := m.sem(u.URL)
	select {
	case sem <- struct{}{}:
		defer func() { <-sem }()
	case <-ctx.Done():
		return unavailable("The upstream channel is busy or slow; try again in a moment.")
	}
	req, err := m.request(ctx, u, p.Subdir+"/"+p.Filename)
	if err != nil {
		return err
	}
	res, err := m.cfg.Client.Do(req)
	if err != nil {
		m.log.Warn("fetching from the upstream failed", "channel_id", u.ChannelID, "file", p.Subdir+"/"+p.Filename, "err", err)
		return unavailable("The upstream channel cannot be reached, and %s is not stored here yet. Try again later.", p.Filename)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		m.log.Warn("the upstream refused a file", "channel_id", u.ChannelID, "file", p.Subdir+"/"+p.Filename, "status", res.StatusCode)
		return unavailable("The upstream channel answered %d for %s, which is not stored here yet. Try again later.", res.StatusCode, p.Filename)
	}
	up, err := m.cfg.Spool.Write(io.LimitReader(res.Body, p.Size+1), p.Filename, m.cfg.MaxFileSize)
	if err != nil {
		if gatehouse.ErrorCode(err) == gatehouse.ETOOLARGE {
			return unavailable("The upstream sent more bytes for %s than its record says; refused.", p.Filename)
		}
		return unavailable("Fetching %s from the upstream was cut off; try again.", p.Filename)
	}
	defer spool.Remove(up)
	if up.SHA256 != p.SHA256 || up.Size != p.Size {
		m.log.Warn("the upstream sent a file that differs from its record; refused", "channel_id", u.ChannelID,
			"file", p.Subdir+"/"+p.Filename, "want_sha256", p.SHA256, "got_sha256", up.SHA256, "want_size", p.Size, "got_size", up.Size)
		return unavailable("The upstream sent %s with a sha256 that differs from its record; it was refused and not stored.", p.Filename)
	}
	return gatehouse.PutSpooled(ctx, m.cfg.Blobs, p.BlobKey, up)
}

// Filtered explains why a file the channel lacks is absent, when the
// channel's filters keep it out: by its name, version or subdir (told by
// the file name), or by its licence or age (the verdict the last sync
// kept). A 403 naming the rule; nil when the channel has no upstream or
// the file is not filtered.
func (m *Manager) Filtered(ctx context.Context, ch *gatehouse.Channel, subdir, filename string) error {
	m.mu.Lock()
	u, ok := m.ups[ch.ID]
	m.mu.Unlock()
	if !ok {
		return nil
	}
	pol, err := Compile(u.Filters)
	if err != nil {
		return nil
	}
	v := pol.CheckFilename(subdir, filename)
	if v.Rule == "" {
		h, err := m.cfg.Store.HeldRecordOf(ctx, ch.ID, subdir, filename)
		if err != nil {
			return nil // not held, or the database cannot tell: the 404 stands
		}
		v = Verdict{Rule: h.Rule, Why: h.Reason}
	}
	return gatehouse.Refusal("FILTERED", "This package is not available from channel %q: its %s filter excludes it (%s). Ask the channel's administrators if you need it.",
		ch.Name, v.Rule, v.Why)
}
