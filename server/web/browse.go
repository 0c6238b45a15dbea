package web

import (
	"context"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/catalog"
)

// PackageBrowser searches a channel's packages and opens their files for
// those who may read the channel (service/browse).
type PackageBrowser interface {
	Search(ctx context.Context, p *gatehouse.Principal, channel string, q catalog.Query) (*gatehouse.Channel, gatehouse.ChannelRole, *catalog.Page, error)
	Package(ctx context.Context, p *gatehouse.Principal, channel, name string) (*gatehouse.Channel, gatehouse.ChannelRole, []*gatehouse.Package, error)
	Open(ctx context.Context, p *gatehouse.Principal, channel, subdir, filename string) (*gatehouse.Package, gatehouse.BlobReader, error)
}
