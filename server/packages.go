package server

import (
	"context"
	"net/http"
	"net/netip"

	"github.com/gatehouse-dev/gatehouse"
)

type packageView struct {
	*gatehouse.Package
	Channel string `json:"channel"`
	URL     string `json:"url"`
}

func (s *Server) viewPackage(ch *gatehouse.Channel, p *gatehouse.Package) packageView {
	return packageView{Package: p, Channel: ch.Name, URL: s.absURL("/repo/" + ch.Name + "/" + p.Subdir + "/" + p.Filename)}
}

// handleUpload checks the caller's right to write before reading a byte of
// the body, so a refused upload costs nothing (checklist F13; Go's server
// sends "100 Continue" only when the body is first read).
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	ch, _, err := s.channelFor(r.Context(), p, r.PathValue("channel"), gatehouse.ChannelWrite)
	if err != nil {
		return err
	}
	if !uploadContentType(r) {
		return gatehouse.Errorf(gatehouse.EINVALID, "Send the package as multipart/form-data with the file in the field \"file\".")
	}
	u, replace, err := s.spoolUpload(w, r)
	if err != nil {
		return err
	}
	defer u.remove()
	pkg, err := s.addPackage(r.Context(), p, ch, u, replace)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.viewPackage(ch, pkg))
	return nil
}

func (s *Server) handleListPackages(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	ch, _, err := s.channelFor(r.Context(), p, r.PathValue("channel"), gatehouse.NoAccess)
	if err != nil {
		return err
	}
	pkgs, err := s.store.ListPackages(r.Context(), ch.ID, r.URL.Query().Get("subdir"))
	if err != nil {
		return err
	}
	out := make([]packageView, len(pkgs))
	for i, pkg := range pkgs {
		out[i] = s.viewPackage(ch, pkg)
	}
	writeJSON(w, http.StatusOK, map[string]any{"channel": ch.Name, "packages": out})
	return nil
}

// deletePackage removes a package from the channel; writers may.
func (s *Server) deletePackage(ctx context.Context, p *gatehouse.Principal, name, subdir, filename string, ip netip.Addr) (*gatehouse.Package, error) {
	ch, _, err := s.channelFor(ctx, p, name, gatehouse.ChannelWrite)
	if err != nil {
		return nil, err
	}
	pkg, err := s.store.DeletePackage(ctx, ch.ID, subdir, filename)
	if err != nil {
		return nil, err
	}
	// The row is gone first, so repodata never lists a missing file
	// (checklist G4); then the file.
	s.chans.forget(ch.Name, ch.ID)
	s.deleteBlob(pkg.BlobKey)
	s.audit(ctx, &gatehouse.AuditEvent{ActorID: p.User.ID, Actor: p.User.Username, Action: gatehouse.AuditPackageDelete,
		Target: "channel:" + ch.Name + " " + pkg.Subdir + "/" + pkg.Filename, IP: ip.String(), Success: true})
	return pkg, nil
}

func (s *Server) handleDeletePackage(w http.ResponseWriter, r *http.Request, p *gatehouse.Principal) error {
	if _, err := s.deletePackage(r.Context(), p, r.PathValue("channel"), r.PathValue("subdir"), r.PathValue("filename"), s.clientAddr(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
