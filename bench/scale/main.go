// Command scale is the Go half of bench/scale.sh: it serves the
// conda-forge-shaped test upstream, and it measures how long a change
// takes to become visible in a channel's repodata.json and its CEP-16
// shard.
//
//	scale forge -n 465000 -listen 127.0.0.1:0      serve upstreamtest.Forge(n); prints URL=...;
//	                                               POST /_change adds one package to linux-64
//	scale upload -url U -key-env K -channel C      upload one new package to C/linux-64 and time until
//	                                               repodata.json and the name's shard list it
//	scale change -url U -key-env K -channel C -forge F
//	                                               make one change upstream, start C's sync, and time
//	                                               until repodata.json and the shard list it
package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/condabuild"
	"github.com/gatehouse-dev/gatehouse/upstream/upstreamtest"
	"github.com/klauspost/compress/zstd"
	"github.com/tinylib/msgp/msgp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Main runs one subcommand and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: scale forge|upload|change [flags]")
		return 2
	}
	fs := flag.NewFlagSet("scale "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 100_000, "forge: records of linux-64")
	listen := fs.String("listen", "127.0.0.1:0", "forge: address")
	base := fs.String("url", "", "upload, change: Gatehouse base URL")
	keyEnv := fs.String("key-env", "GATEHOUSE_KEY", "upload, change: environment variable holding an API key")
	channel := fs.String("channel", "", "upload, change: channel")
	forge := fs.String("forge", "", "change: the forge's URL")
	subdir := fs.String("subdir", "noarch", "upload: the subdir to upload to (change: always linux-64)")
	timeout := fs.Duration("timeout", 2*time.Minute, "upload, change: give up after this long")
	repeat := fs.Int("repeat", 1, "upload: uploads in a row, one at a time; the median and the slowest are printed")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	var err error
	switch args[0] {
	case "forge":
		err = serveForge(ctx, *n, *listen, stdout)
	case "upload", "change":
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		c := &client{base: strings.TrimRight(*base, "/"), auth: "Bearer " + os.Getenv(*keyEnv), channel: *channel, subdir: *subdir}
		if args[0] == "upload" {
			err = c.uploadLatencies(ctx, *repeat, stdout)
		} else {
			err = c.changeLatency(ctx, *forge, stdout)
		}
	default:
		err = fmt.Errorf("unknown subcommand %q", args[0])
	}
	if err != nil {
		fmt.Fprintln(stderr, "scale:", err)
		return 1
	}
	return 0
}

// serveForge serves the test upstream until ctx ends. Each POST /_change
// adds one new package to linux-64 and prints nothing.
func serveForge(ctx context.Context, n int, listen string, stdout io.Writer) error {
	up := upstreamtest.Forge(n, 1)
	srv := upstreamtest.Start(up)
	defer srv.Close()
	var mu sync.Mutex
	changes := 0
	mux := http.NewServeMux()
	mux.HandleFunc("POST /_change", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		changes++
		p := upstreamtest.Pkg{Subdir: "linux-64", Name: "scale-change", Version: fmt.Sprintf("1.%d", changes), Build: "h0_0",
			License: "MIT", Timestamp: time.Now().Add(-time.Hour).Truncate(time.Millisecond), Depends: []string{}}
		mu.Unlock()
		srv.Add(p)
		fmt.Fprintln(w, p.Filename())
	})
	mux.HandleFunc("GET /_hits", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d %d\n", srv.HitsUnder("/linux-64/shards/"), srv.Hits("/linux-64/repodata.json"))
	})
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Through the test upstream, which counts and serves.
		r2 := r.Clone(r.Context())
		r2.URL.Scheme, r2.URL.Host, r2.RequestURI = "http", strings.TrimPrefix(srv.URL, "http://"), ""
		res, err := http.DefaultTransport.RoundTrip(r2)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		io.Copy(w, res.Body)
	}))
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "URL=http://%s\n", ln.Addr())
	if f, ok := stdout.(*os.File); ok {
		f.Sync()
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { <-ctx.Done(); hs.Close() }()
	if err := hs.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

type client struct {
	base, auth, channel, subdir string
	etag                        string // of the last repodata.json seen
	indexETag                   string // of the last shard index seen
}

func (c *client) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", c.auth)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d", path, res.StatusCode)
	}
	return b, err
}

// visible polls until the subdir's repodata.json lists file and the
// name's shard does too, each in a poller of its own (so one download does
// not delay the other's answer), and returns when each first did.
func (c *client) visible(ctx context.Context, start time.Time, name, file string) (inJSON, inShard time.Duration, err error) {
	sub := "/repo/" + c.channel + "/" + c.subdir + "/"
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			if ok, at, err := c.jsonHas(ctx, sub+"repodata.json", file); err == nil && ok {
				inJSON = at.Sub(start)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	wg.Go(func() {
		for ctx.Err() == nil {
			if ok, at, err := c.inShard(ctx, sub, name, file); err == nil && ok {
				inShard = at.Sub(start)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	wg.Wait()
	if inJSON == 0 || inShard == 0 {
		return inJSON, inShard, fmt.Errorf("%s not visible in time (repodata.json %v, shard %v)", file, inJSON, inShard)
	}
	return inJSON, inShard, nil
}

// jsonHas asks for path with the ETag last seen (a 304 costs nothing),
// and on a new document reports whether it lists file and when its
// answer began.
func (c *client) jsonHas(ctx context.Context, path, file string) (bool, time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return false, time.Time{}, err
	}
	req.Header.Set("Authorization", c.auth)
	if c.etag != "" {
		req.Header.Set("If-None-Match", c.etag)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, time.Time{}, err
	}
	at := time.Now()
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		io.Copy(io.Discard, res.Body)
		return false, at, nil
	}
	c.etag = res.Header.Get("ETag")
	b, err := io.ReadAll(res.Body)
	return bytes.Contains(b, []byte(`"`+file+`"`)), at, err
}

// inShard asks for the shard index with the ETag last seen (a 304 costs
// nothing); on a new index it finds name's shard, fetches it and looks for
// file. The time it reports is when a client could have had the shard:
// when the index's answer began, plus the shard's round trip. The client's
// own decoding of the index (100,000 names at the size) is not the
// server's latency and is left out.
func (c *client) inShard(ctx context.Context, sub, name, file string) (bool, time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+sub+"repodata_shards.msgpack.zst", nil)
	if err != nil {
		return false, time.Time{}, err
	}
	req.Header.Set("Authorization", c.auth)
	if c.indexETag != "" {
		req.Header.Set("If-None-Match", c.indexETag)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, time.Time{}, err
	}
	at := time.Now()
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		return false, at, err
	}
	c.indexETag = res.Header.Get("ETag")
	raw, err := unzstd(b)
	if err != nil {
		return false, at, err
	}
	hash, err := shardOf(raw, name)
	if err != nil || hash == nil {
		return false, at, err
	}
	t0 := time.Now()
	shard, err := c.getMsgpack(ctx, sub+"shards/"+hex.EncodeToString(hash)+".msgpack.zst")
	if err != nil {
		return false, at, err
	}
	return bytes.Contains(shard, []byte(`"`+file+`"`)), at.Add(time.Since(t0)), nil
}

// shardOf reads name's shard address from a shard index, without
// decoding the other names.
func shardOf(idx []byte, name string) ([]byte, error) {
	n, b, err := msgp.ReadMapHeaderBytes(idx)
	for ; err == nil && n > 0; n-- {
		var key []byte
		if key, b, err = msgp.ReadStringZC(b); err != nil {
			break
		}
		if string(key) != "shards" {
			b, err = msgp.Skip(b)
			continue
		}
		var m uint32
		if m, b, err = msgp.ReadMapHeaderBytes(b); err != nil {
			break
		}
		for ; m > 0; m-- {
			var k, h []byte
			if k, b, err = msgp.ReadStringZC(b); err != nil {
				return nil, err
			}
			if h, b, err = msgp.ReadBytesZC(b); err != nil {
				return nil, err
			}
			if string(k) == name {
				return h, nil
			}
		}
		return nil, nil
	}
	return nil, err
}

func unzstd(b []byte) ([]byte, error) {
	dec, err := zstd.NewReader(nil)
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	return dec.DecodeAll(b, nil)
}

// getMsgpack fetches a .msgpack.zst and returns it as JSON.
func (c *client) getMsgpack(ctx context.Context, path string) ([]byte, error) {
	b, err := c.get(ctx, path)
	if err != nil {
		return nil, err
	}
	raw, err := unzstd(b)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if _, err := msgp.UnmarshalAsJSON(&out, raw); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// uploadLatencies uploads n packages one after another and prints the
// median and the slowest of each measure: one lucky upload says little
// about a target that every upload must meet.
func (c *client) uploadLatencies(ctx context.Context, n int, stdout io.Writer) error {
	var up, js, sh []time.Duration
	for range max(n, 1) {
		u, j, s, err := c.uploadLatency(ctx)
		if err != nil {
			return err
		}
		up, js, sh = append(up, u), append(js, j), append(sh, s)
	}
	med := func(d []time.Duration) int64 { slices.Sort(d); return d[len(d)/2].Milliseconds() }
	slowest := func(d []time.Duration) int64 { return slices.Max(d).Milliseconds() }
	fmt.Fprintf(stdout, "UPLOADS=%d\nUPLOAD_MS=%d\nVISIBLE_JSON_MS=%d\nVISIBLE_SHARD_MS=%d\nVISIBLE_JSON_MAX_MS=%d\nVISIBLE_SHARD_MAX_MS=%d\n",
		len(up), med(up), med(js), med(sh), slowest(js), slowest(sh))
	return nil
}

func (c *client) uploadLatency(ctx context.Context) (uploaded, inJSON, inShard time.Duration, err error) {
	version := fmt.Sprintf("1.%d", time.Now().UnixNano())
	m := condabuild.Meta{Name: "scale-upload", Version: version, Build: "h0_0", Subdir: c.subdir, License: "MIT",
		Timestamp: time.Now().Add(-time.Minute).Truncate(time.Millisecond)}
	var pkg bytes.Buffer
	if err := condabuild.Build(&pkg, m, []condabuild.File{condabuild.BytesFile("share/scale/x", []byte(version), 0o644)}); err != nil {
		return 0, 0, 0, err
	}
	file := "scale-upload-" + version + "-h0_0.conda"
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", file)
	fw.Write(pkg.Bytes())
	mw.Close()
	c.jsonHas(ctx, "/repo/"+c.channel+"/"+c.subdir+"/repodata.json", file) // the current ETag
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/channels/"+c.channel+"/packages", &body)
	if err != nil {
		return 0, 0, 0, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", c.auth)
	start := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, 0, err
	}
	msg, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return 0, 0, 0, fmt.Errorf("upload: %d %s", res.StatusCode, msg)
	}
	uploaded = time.Since(start)
	inJSON, inShard, err = c.visible(ctx, start, "scale-upload", file)
	return uploaded, inJSON, inShard, err
}

// forgeHits returns how many shards and repodata.json documents the
// forge served.
func forgeHits(forge string) (shards, repodata int, err error) {
	res, err := http.Get(strings.TrimRight(forge, "/") + "/_hits")
	if err != nil {
		return 0, 0, err
	}
	defer res.Body.Close()
	_, err = fmt.Fscan(res.Body, &shards, &repodata)
	return shards, repodata, err
}

// syncState returns the channel's upstream state and last attempt.
func (c *client) syncState(ctx context.Context) (state, attempted string, err error) {
	b, err := c.get(ctx, "/api/channels/"+c.channel)
	if err != nil {
		return "", "", err
	}
	var ch struct {
		Upstream struct {
			Status struct {
				State       string `json:"state"`
				AttemptedAt string `json:"attempted_at"`
			} `json:"status"`
		} `json:"upstream"`
	}
	err = json.Unmarshal(b, &ch)
	return ch.Upstream.Status.State, ch.Upstream.Status.AttemptedAt, err
}

func (c *client) changeLatency(ctx context.Context, forge string, stdout io.Writer) error {
	shards0, repodata0, err := forgeHits(forge)
	if err != nil {
		return err
	}
	_, attempted0, err := c.syncState(ctx)
	if err != nil {
		return err
	}
	res, err := http.Post(strings.TrimRight(forge, "/")+"/_change", "text/plain", nil)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	file := strings.TrimSpace(string(b))
	c.subdir = "linux-64"
	c.jsonHas(ctx, "/repo/"+c.channel+"/linux-64/repodata.json", file) // the current ETag
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/channels/"+c.channel+"/sync", nil)
	req.Header.Set("Authorization", c.auth)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		return fmt.Errorf("sync: %d", res.StatusCode)
	}
	var synced time.Duration
	var wg sync.WaitGroup
	wg.Go(func() { // when the sync itself ended, polled beside the readers
		for ctx.Err() == nil {
			if st, at, err := c.syncState(ctx); err == nil && at != attempted0 && st != "syncing" {
				synced = time.Since(start)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	inJSON, inShard, err := c.visible(ctx, start, "scale-change", file)
	wg.Wait()
	if err != nil {
		return err
	}
	shards1, repodata1, err := forgeHits(forge)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "CHANGE_JSON_MS=%d\nCHANGE_SHARD_MS=%d\nCHANGE_SYNC_MS=%d\nCHANGE_SHARDS=%d\nCHANGE_REPODATA=%d\n",
		inJSON.Milliseconds(), inShard.Milliseconds(), synced.Milliseconds(), shards1-shards0, repodata1-repodata0)
	return nil
}
