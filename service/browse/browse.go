// Package browse is the rule of package browsing: who may search a
// channel's packages, open one package's files and download them. A
// channel's readers may (anyone for a public channel); everyone else gets
// the same "not found" the channel answers (checklist J6, B6). The
// queries are the store's (sqlstore/catalogsql).
package browse

import (
	"context"
	"sort"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/catalog"
	"github.com/gatehouse-dev/gatehouse/condaname"
)

// Store answers the browsing queries.
type Store interface {
	PackageNames(ctx context.Context, channelID int64, q catalog.Query) (*catalog.Page, error)
	PackageFiles(ctx context.Context, channelID int64, name string) ([]*gatehouse.Package, error)
}

// Service browses channels' packages.
type Service struct {
	channels gatehouse.ChannelService
	store    Store
	files    gatehouse.Store
	blobs    gatehouse.BlobStore
}

// New returns the browsing rules over the channels service. A store that
// does not answer the browsing queries itself (a test's wrapper) is read
// through ListPackages instead.
func New(channels gatehouse.ChannelService, st gatehouse.Store, blobs gatehouse.BlobStore) *Service {
	s := &Service{channels: channels, files: st, blobs: blobs}
	if c, ok := st.(Store); ok {
		s.store = c
	} else {
		s.store = listed{st}
	}
	return s
}

// Search returns the page of the channel's package names q selects, and
// the caller's role on the channel.
func (s *Service) Search(ctx context.Context, p *gatehouse.Principal, channel string, q catalog.Query) (*gatehouse.Channel, gatehouse.ChannelRole, *catalog.Page, error) {
	ch, role, err := s.channels.Channel(ctx, p, channel, gatehouse.NoAccess)
	if err != nil {
		return nil, role, nil, err
	}
	q.Text = strings.TrimSpace(q.Text)
	if q.Subdir != "" && !condaname.ValidSubdir(q.Subdir) {
		return nil, role, nil, gatehouse.FieldErrorf("subdir", "%q is not a conda platform; use one such as linux-64 or noarch.", q.Subdir)
	}
	page, err := s.store.PackageNames(ctx, ch.ID, q)
	if err != nil {
		return nil, role, nil, err
	}
	if page.Subdirs, err = s.files.ChannelSubdirs(ctx, ch.ID); err != nil {
		return nil, role, nil, err
	}
	return ch, role, page, nil
}

// Package returns every file of the package name in the channel, newest
// first; ENOTFOUND if the channel has none.
func (s *Service) Package(ctx context.Context, p *gatehouse.Principal, channel, name string) (*gatehouse.Channel, gatehouse.ChannelRole, []*gatehouse.Package, error) {
	ch, role, err := s.channels.Channel(ctx, p, channel, gatehouse.NoAccess)
	if err != nil {
		return nil, role, nil, err
	}
	files, err := s.store.PackageFiles(ctx, ch.ID, name)
	if err == nil && len(files) == 0 {
		err = gatehouse.Errorf(gatehouse.ENOTFOUND, "Channel %s has no package named %q.", ch.Name, name)
	}
	return ch, role, files, err
}

// Open returns a file of the channel for a reader to download, with its
// bytes. Close the reader. A file the database lists but the blob store
// lacks is EUNAVAILABLE, not "not found" (checklist H2).
func (s *Service) Open(ctx context.Context, p *gatehouse.Principal, channel, subdir, filename string) (*gatehouse.Package, gatehouse.BlobReader, error) {
	ch, _, err := s.channels.Channel(ctx, p, channel, gatehouse.NoAccess)
	if err != nil {
		return nil, nil, err
	}
	pkg, err := s.files.PackageByFilename(ctx, ch.ID, subdir, filename)
	if err != nil {
		return nil, nil, err
	}
	rd, err := s.blobs.NewRangeReader(ctx, pkg.BlobKey, 0, -1)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		err = gatehouse.Errorf(gatehouse.EUNAVAILABLE, "The package file is temporarily unavailable. Try again later.")
	}
	if err != nil {
		return nil, nil, err
	}
	return pkg, rd, nil
}

// listed answers the browsing queries from ListPackages, for stores that
// do not have them.
type listed struct{ gatehouse.Store }

func (l listed) PackageNames(ctx context.Context, channelID int64, q catalog.Query) (*catalog.Page, error) {
	q = q.Normalize()
	all, err := l.ListPackages(ctx, channelID, "")
	if err != nil {
		return nil, err
	}
	page := &catalog.Page{Query: q, Files: len(all)}
	byName := map[string]*catalog.Summary{}
	inSubdir := map[string]bool{}
	text := strings.ToLower(q.Text)
	for _, p := range all {
		if !strings.Contains(p.Name, text) {
			continue
		}
		if p.Subdir == q.Subdir {
			inSubdir[p.Name] = true
		}
		sum := byName[p.Name]
		if sum == nil {
			sum = &catalog.Summary{Name: p.Name}
			byName[p.Name] = sum
		}
		sum.Files++
		if !containsString(sum.Subdirs, p.Subdir) {
			sum.Subdirs = append(sum.Subdirs, p.Subdir)
		}
		if !p.CreatedAt.Before(sum.Updated) {
			sum.Updated, sum.Latest = p.CreatedAt, p.Version
		}
	}
	var names []string
	for n := range byName {
		if q.Subdir == "" || inSubdir[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	page.Names = len(names)
	for _, n := range names[min(q.Offset, len(names)):min(q.Offset+q.Limit, len(names))] {
		sum := byName[n]
		sort.Strings(sum.Subdirs)
		page.Packages = append(page.Packages, *sum)
	}
	return page, nil
}

func (l listed) PackageFiles(ctx context.Context, channelID int64, name string) ([]*gatehouse.Package, error) {
	all, err := l.ListPackages(ctx, channelID, "")
	if err != nil {
		return nil, err
	}
	var out []*gatehouse.Package
	for _, p := range all {
		if p.Name == name {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
