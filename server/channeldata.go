package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda"
)

// pkgMeta is what a package keeps for channeldata.json besides its record.
type pkgMeta struct {
	About       conda.About       `json:"about"`
	PostInstall conda.PostInstall `json:"post_install"`
	RunExports  json.RawMessage   `json:"run_exports,omitempty"`
}

func encodeMeta(p *conda.Package) ([]byte, error) {
	m := pkgMeta{About: p.About, PostInstall: p.PostInstall}
	if len(p.RunExports) > 0 {
		m.RunExports = p.RunExports
	}
	return json.Marshal(m)
}

// channelDataKey is the cache slot of a channel's channeldata.json.
const channelDataKey = ""

func (c *repodataCache) channelData(ctx context.Context, ch *gatehouse.Channel) (*subdirIndex, error) {
	return c.getWith(ctx, ch, channelDataKey, c.buildChannelData)
}

func (c *repodataCache) buildChannelData(ctx context.Context, ch *gatehouse.Channel, _ string) (*subdirIndex, error) {
	pkgs, err := c.store.ListPackages(ctx, ch.ID, "")
	if err != nil {
		return nil, err
	}
	subdirs := []string{}
	seen := map[string]bool{}
	cps := make([]conda.ChannelPackage, 0, len(pkgs))
	for _, p := range pkgs {
		if !seen[p.Subdir] {
			seen[p.Subdir] = true
			subdirs = append(subdirs, p.Subdir)
		}
		ix, err := conda.ParseIndexJSON(p.Record)
		if err != nil {
			return nil, fmt.Errorf("package %s/%s has a record that no longer parses: %w", p.Subdir, p.Filename, err)
		}
		cp := conda.ChannelPackage{Index: *ix}
		if len(p.Meta) > 0 {
			var m pkgMeta
			if err := json.Unmarshal(p.Meta, &m); err != nil {
				return nil, fmt.Errorf("package %s/%s has unreadable metadata: %w", p.Subdir, p.Filename, err)
			}
			cp.About, cp.PostInstall, cp.RunExports = m.About, m.PostInstall, m.RunExports
		}
		cps = append(cps, cp)
	}
	data, err := conda.BuildChannelData(subdirs, cps)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	return &subdirIndex{revision: ch.Revision, json: data, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, built: c.now()}, nil
}

func (s *Server) serveChannelData(w http.ResponseWriter, r *http.Request, ch *gatehouse.Channel) {
	idx, err := s.repodata.channelData(r.Context(), ch)
	if err != nil {
		s.refuse(w, r, err)
		return
	}
	s.setCacheHeaders(w, ch)
	serveBytes(w, r, idx.json, "application/json", idx.etag, idx.built)
}
