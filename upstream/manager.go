package upstream

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/spool"
	"github.com/gatehouse-dev/gatehouse/upstream/egress"
	"golang.org/x/sync/singleflight"
)

// Config configures a Manager.
type Config struct {
	Store  gatehouse.Store
	Blobs  gatehouse.BlobStore
	Clock  gatehouse.Clock
	Logger *slog.Logger
	// Sealer stores credentials; nil refuses channels with a token.
	Sealer *Sealer
	// Spool is where fetched files wait while their digests are checked.
	Spool spool.Dir
	// Client talks to upstreams; nil is one with timeouts on every step
	// whose connections pass the egress guard (see Allow).
	Client *http.Client
	// Allow lists the loopback, private, link-local or reserved networks
	// upstream requests may reach (gatehouse server --upstream-allow);
	// every other internal address is refused when connecting, so a name
	// resolving to one or a redirect to one is refused too.
	Allow []netip.Prefix
	// ProxyTTL is how long a proxy's repodata is used before it is
	// fetched again (default 10 minutes); MirrorInterval how often a
	// mirror syncs (default 1 hour).
	ProxyTTL       time.Duration
	MirrorInterval time.Duration
	// PerUpstream bounds the requests in flight to one upstream host, so
	// a slow one holds at most that many connections and goroutines
	// (default 8).
	PerUpstream int
	// BatchSize is the records committed per transaction (default 1,000).
	BatchSize int
	// MaxFileSize bounds a fetched package (default 2 GiB).
	MaxFileSize int64
	// FileTimeout bounds one package fetch (default 5 minutes);
	// RepodataTimeout one shard or shard index fetch, and the wait for
	// more of a repodata.json being read (default 10 minutes).
	FileTimeout     time.Duration
	RepodataTimeout time.Duration
	// Changed is called after a batch of a channel's packages committed,
	// so cached channel revisions are dropped and readers see the batch.
	Changed func(channelID int64)
}

// Manager runs the upstream channels of a server.
type Manager struct {
	cfg   Config
	log   *slog.Logger
	guard *egress.Guard

	mu      sync.Mutex
	ups     map[int64]*gatehouse.Upstream // by channel ID; credentials sealed
	running map[int64]chan struct{}       // syncs in progress, closed when done
	sems    map[string]chan struct{}      // per upstream host
	subdirs map[int64]subdirsSeen         // channeldata.json of each upstream

	files singleflight.Group
	wake  chan struct{}
	base  context.Context // Run's: syncs end when it does
}

// New returns a Manager; Load reads the upstreams, Run schedules syncs.
func New(cfg Config) *Manager {
	if cfg.Clock == nil {
		cfg.Clock = gatehouse.SystemClock
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ProxyTTL <= 0 {
		cfg.ProxyTTL = 10 * time.Minute
	}
	if cfg.MirrorInterval <= 0 {
		cfg.MirrorInterval = time.Hour
	}
	if cfg.PerUpstream == 0 {
		cfg.PerUpstream = 8
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 1000
	}
	if cfg.MaxFileSize == 0 {
		cfg.MaxFileSize = 2 << 30
	}
	if cfg.FileTimeout == 0 {
		cfg.FileTimeout = 5 * time.Minute
	}
	if cfg.RepodataTimeout == 0 {
		cfg.RepodataTimeout = 10 * time.Minute
	}
	guard := egress.NewGuard(cfg.Allow)
	if cfg.Client == nil {
		cfg.Client = &http.Client{Transport: guard.Transport(cfg.PerUpstream)}
	}
	return &Manager{cfg: cfg, log: cfg.Logger, guard: guard, ups: map[int64]*gatehouse.Upstream{}, running: map[int64]chan struct{}{},
		sems: map[string]chan struct{}{}, subdirs: map[int64]subdirsSeen{}, wake: make(chan struct{}, 1)}
}

// Load reads every upstream from the store.
func (m *Manager) Load(ctx context.Context) error {
	list, err := m.cfg.Store.ListUpstreams(ctx)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range list {
		m.ups[u.ChannelID] = u
	}
	return nil
}

// ValidateRequest checks an upstream request before its channel exists.
func ValidateRequest(req *gatehouse.UpstreamRequest) error {
	u, err := url.Parse(strings.TrimSpace(req.URL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return gatehouse.FieldErrorf("upstream.url", "The upstream URL must be an http or https channel URL without credentials or query, such as https://conda.anaconda.org/conda-forge.")
	}
	if _, err := gatehouse.ParseUpstreamMode(req.Mode); err != nil {
		return err
	}
	_, err = Compile(req.Filters)
	return err
}

// Configure stores the channel's upstream (sealing its token) and starts
// its first sync in the background.
func (m *Manager) Configure(ctx context.Context, tx gatehouse.Store, channelID int64, req gatehouse.UpstreamRequest) (*gatehouse.Upstream, error) {
	if err := ValidateRequest(&req); err != nil {
		return nil, err
	}
	// An address in the URL is refused now, with the reason; a name is
	// checked on every connection (it may resolve differently later).
	if pu, err := url.Parse(strings.TrimSpace(req.URL)); err == nil {
		if a, err := netip.ParseAddr(pu.Hostname()); err == nil {
			if err := m.guard.Check(a); err != nil {
				return nil, gatehouse.FieldErrorf("upstream.url", "The upstream URL points at %s, a loopback, private, link-local or reserved address. "+
					"Upstream channels may reach such networks only when the server's administrator allows them with --upstream-allow.", a.Unmap())
			}
		}
	}
	u := &gatehouse.Upstream{ChannelID: channelID, URL: strings.TrimRight(strings.TrimSpace(req.URL), "/"),
		Mode: gatehouse.UpstreamMode(req.Mode), Filters: req.Filters, Status: gatehouse.UpstreamStatus{State: "new"}}
	if req.Token != "" {
		sealed, err := m.cfg.Sealer.Seal(channelID, req.Token)
		if err != nil {
			return nil, err
		}
		u.Credential, u.HasCredential = sealed, true
	}
	if err := tx.PutUpstream(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// Activate makes a configured upstream known after its transaction
// committed, and wakes the scheduler.
func (m *Manager) Activate(u *gatehouse.Upstream) {
	m.mu.Lock()
	m.ups[u.ChannelID] = u
	m.mu.Unlock()
	m.poke()
}

func (m *Manager) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Upstream returns the channel's upstream without its credential.
func (m *Manager) Upstream(channelID int64) (*gatehouse.Upstream, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.ups[channelID]
	if !ok {
		return nil, false
	}
	c := *u
	c.Credential = nil
	return &c, true
}

func (m *Manager) setStatus(ctx context.Context, channelID int64, st gatehouse.UpstreamStatus) {
	// The published status owns its map: the running sync goes on
	// writing to its own while readers encode this one.
	st.Validators = maps.Clone(st.Validators)
	m.mu.Lock()
	if u, ok := m.ups[channelID]; ok {
		c := *u
		c.Status = st
		m.ups[channelID] = &c
	}
	m.mu.Unlock()
	if err := m.cfg.Store.SetUpstreamStatus(context.WithoutCancel(ctx), channelID, st); err != nil {
		m.log.Warn("saving an upstream's status failed", "channel_id", channelID, "err", err)
	}
}

// Sync starts a sync (mirror) or refresh (proxy) of the channel in the
// background unless one runs; done is closed when it ends.
func (m *Manager) Sync(channelID int64) (done <-chan struct{}, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.ups[channelID]; !ok {
		return nil, gatehouse.Errorf(gatehouse.EINVALID, "This channel has no upstream to sync from.")
	}
	if ch, ok := m.running[channelID]; ok {
		return ch, nil
	}
	ch := make(chan struct{})
	m.running[channelID] = ch
	go func() {
		defer func() {
			m.mu.Lock()
			delete(m.running, channelID)
			m.mu.Unlock()
			close(ch)
		}()
		base := m.base
		if base == nil {
			base = context.Background()
		}
		ctx, cancel := context.WithTimeout(base, 6*time.Hour)
		defer cancel()
		m.syncChannel(ctx, channelID)
	}()
	return ch, nil
}

// Run schedules syncs until ctx ends: proxies after ProxyTTL, mirrors
// after MirrorInterval, and at once those a crash cut short.
func (m *Manager) Run(ctx context.Context) {
	m.mu.Lock()
	m.base = ctx
	m.mu.Unlock()
	tick := min(m.cfg.ProxyTTL, m.cfg.MirrorInterval, 30*time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		m.mu.Lock()
		var due []int64
		now := m.cfg.Clock()
		for id, u := range m.ups {
			every := m.cfg.MirrorInterval
			if u.Mode == gatehouse.UpstreamProxy {
				every = m.cfg.ProxyTTL
			}
			if _, busy := m.running[id]; !busy && (u.Status.State != "ok" && u.Status.State != "failed" || now.Sub(u.Status.AttemptedAt) >= every) {
				due = append(due, id)
			}
		}
		m.mu.Unlock()
		for _, id := range due {
			m.Sync(id)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.wake:
		}
	}
}

// Wait waits for every sync in progress to end (for Close and tests).
func (m *Manager) Wait() {
	for {
		m.mu.Lock()
		var one chan struct{}
		for _, ch := range m.running {
			one = ch
			break
		}
		m.mu.Unlock()
		if one == nil {
			return
		}
		<-one
	}
}

// sem returns the semaphore of an upstream host.
func (m *Manager) sem(rawURL string) chan struct{} {
	host := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		host = u.Host
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sems[host]
	if !ok {
		s = make(chan struct{}, m.cfg.PerUpstream)
		m.sems[host] = s
	}
	return s
}

// request builds a GET to the upstream with its credential.
func (m *Manager) request(ctx context.Context, u *gatehouse.Upstream, path string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.URL+"/"+path, nil)
	if err != nil {
		return nil, err
	}
	token, err := m.cfg.Sealer.Open(u.ChannelID, u.Credential)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("User-Agent", "gatehouse-upstream")
	return req, nil
}

// statusErr is an upstream answer that is not 200, for people; it never
// holds the URL's credential (there is none in the URL) nor a body.
type statusErr struct {
	code int
	what string
}

func (e *statusErr) Error() string {
	return fmt.Sprintf("the upstream answered %d %s for %s", e.code, http.StatusText(e.code), e.what)
}

// Freshness returns how old the channel's upstream data is and whether
// the last refresh failed (ok is false for hosted channels).
func (m *Manager) Freshness(channelID int64) (age time.Duration, stale bool, ok bool) {
	m.mu.Lock()
	u, ok := m.ups[channelID]
	m.mu.Unlock()
	if !ok || u.Status.RefreshedAt.IsZero() {
		return 0, ok && u.Status.State == "failed", ok
	}
	return m.cfg.Clock().Sub(u.Status.RefreshedAt), u.Status.State == "failed", true
}
