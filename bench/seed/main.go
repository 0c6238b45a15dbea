// Command seed fills a running Gatehouse with a benchmark channel: it creates
// an API key with HTTP Basic admin credentials, a private channel, N small
// distinct .conda packages in noarch (with realistic index.json records) and
// one package of about 1 MB of incompressible bytes. It prints shell
// assignments for bench/run.sh:
//
//	GATEHOUSE_KEY='gk-...'
//	BENCH_CHANNEL='bench'
//	BENCH_SUBDIR='noarch'
//	BENCH_BIG_FILE='bench-big-1.0.0-h0a1b2c3_0.conda'
//	BENCH_SMALL_FILE='ararar-0.9.2-h0cb9a25_2.conda'
//	BENCH_PACKAGES='10001'
//
// Progress and errors go to stderr. The admin password is read from the
// environment variable named by -password-env, so it never shows in ps.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/conda"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	url, user, passwordEnv, channel, keyName string
	n, workers, bigSize                      int
	timeout                                  time.Duration
}

// Main runs the seeder and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.url, "url", "", "Gatehouse base URL, such as http://127.0.0.1:8080 (required)")
	fs.StringVar(&c.user, "user", "admin", "user whose password creates the key")
	fs.StringVar(&c.passwordEnv, "password-env", "GATEHOUSE_INITIAL_ADMIN_PASSWORD", "environment variable holding that user's password")
	fs.StringVar(&c.channel, "channel", "bench", "channel to create (private) and fill")
	fs.StringVar(&c.keyName, "key-name", "bench", "name of the API key to create (replaces an existing one of that name)")
	fs.IntVar(&c.n, "n", 10_000, "number of small packages")
	fs.IntVar(&c.workers, "workers", 8, "parallel uploads")
	fs.IntVar(&c.bigSize, "big-size", 1<<20, "payload bytes of the large package")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if c.url == "" || c.n < 0 || c.workers < 1 || c.bigSize < 1 {
		fmt.Fprintln(stderr, "seed: -url is required; -n must be ≥ 0, -workers and -big-size ≥ 1")
		return 2
	}
	c.url = strings.TrimRight(c.url, "/")
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := seed(ctx, c, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "seed:", err)
		return 1
	}
	return 0
}

func seed(ctx context.Context, c config, stdout, stderr io.Writer) error {
	password := os.Getenv(c.passwordEnv)
	if password == "" {
		return fmt.Errorf("the environment variable %s is empty; set it to the password of %q", c.passwordEnv, c.user)
	}
	big := bigSpec(c.bigSize, 1)
	bigFile, err := buildConda(&big)
	if err != nil {
		return fmt.Errorf("building %s: %w", big.Filename(), err)
	}
	// Check our own packages with the server's reader first, so a bug here
	// reads as one clear message instead of 10,000 refused uploads.
	first := smallSpec(0)
	for _, s := range []*spec{&first, &big} {
		b, err := buildConda(s)
		if err != nil {
			return err
		}
		p, err := conda.Inspect(bytes.NewReader(b), int64(len(b)), s.Filename(), conda.DefaultLimits())
		if err == nil {
			err = p.Index.Validate(time.Now())
		}
		if err != nil {
			return fmt.Errorf("the seeder built an invalid package %s: %w", s.Filename(), err)
		}
	}

	cl := &client{base: c.url, http: &http.Client{
		Timeout:   2 * time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: c.workers, DisableCompression: true},
	}}
	expires := time.Now().UTC().Add(30 * 24 * time.Hour).Truncate(time.Second).Format(time.RFC3339)
	var created struct {
		Key string `json:"key"`
	}
	err = cl.do(ctx, http.MethodPost, "/api/keys", basic(c.user, password),
		map[string]any{"name": c.keyName, "scopes": []string{"user", "channels"}, "expires_at": expires},
		&created, http.StatusCreated)
	if err != nil {
		return fmt.Errorf("creating the API key: %w", err)
	}
	if !strings.HasPrefix(created.Key, "gk-") {
		return errors.New("creating the API key: the answer holds no gk- key")
	}
	cl.auth = "Bearer " + created.Key
	err = cl.do(ctx, http.MethodPost, "/api/channels", cl.auth,
		map[string]any{"name": c.channel, "visibility": "private"}, nil, http.StatusCreated, http.StatusConflict)
	if err != nil {
		return fmt.Errorf("creating the channel %q: %w", c.channel, err)
	}

	start := time.Now()
	if _, err := cl.upload(ctx, c.channel, big.Filename(), bigFile); err != nil {
		return err
	}
	uploaded, existed, err := uploadAll(ctx, cl, c, stderr)
	if err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(stderr, "seed: %d packages uploaded, %d already there, in %s (%.0f uploads/s)\n",
		uploaded+1, existed, el.Round(time.Millisecond), float64(uploaded+existed+1)/el.Seconds())
	small := ""
	if c.n > 0 {
		small = first.Filename()
	}
	fmt.Fprintf(stdout, "GATEHOUSE_KEY='%s'\nBENCH_CHANNEL='%s'\nBENCH_SUBDIR='noarch'\nBENCH_BIG_FILE='%s'\nBENCH_SMALL_FILE='%s'\nBENCH_PACKAGES='%d'\n",
		created.Key, c.channel, big.Filename(), small, c.n+1)
	return nil
}

// uploadAll builds and uploads the small packages with c.workers uploaders.
// The first error stops everything.
func uploadAll(ctx context.Context, cl *client, c config, stderr io.Writer) (uploaded, existed int64, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	var done atomic.Int64
	start := time.Now()
	for range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				s := smallSpec(i)
				b, err := buildConda(&s)
				var isNew bool
				if err == nil {
					isNew, err = cl.upload(ctx, c.channel, s.Filename(), b)
				}
				if err != nil {
					cancel(fmt.Errorf("package %d (%s): %w", i, s.Filename(), err))
					return
				}
				if isNew {
					atomic.AddInt64(&uploaded, 1)
				} else {
					atomic.AddInt64(&existed, 1)
				}
				if d := done.Add(1); d%1000 == 0 {
					fmt.Fprintf(stderr, "seed: %d/%d (%.0f/s)\n", d, c.n, float64(d)/time.Since(start).Seconds())
				}
			}
		}()
	}
feed:
	for i := range c.n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return uploaded, existed, err
	}
	return uploaded, existed, nil
}

// client speaks the few API calls the seeder needs.
type client struct {
	base string
	auth string // Authorization header value for channel calls
	http *http.Client
}

func basic(user, password string) string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(user, password)
	return r.Header.Get("Authorization")
}

// do sends a JSON request and decodes the answer into out when its status
// is one of want.
func (c *client) do(ctx context.Context, method, path, auth string, in, out any, want ...int) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", auth)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	for _, w := range want {
		if resp.StatusCode == w {
			if out != nil && w < 300 {
				return json.Unmarshal(data, out)
			}
			return nil
		}
	}
	return statusError(method, path, resp, data)
}

// upload posts one package file; it reports whether the package is new (201)
// rather than already in the channel (409), and retries 429 and 503 a few
// times after the server's Retry-After.
func (c *client) upload(ctx context.Context, channel, filename string, data []byte) (bool, error) {
	path := "/api/channels/" + channel + "/packages"
	for attempt := 1; ; attempt++ {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, err := mw.CreateFormFile("file", filename)
		if err != nil {
			return false, err
		}
		_, _ = fw.Write(data)
		if err := mw.Close(); err != nil {
			return false, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, &body)
		if err != nil {
			return false, err
		}
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", c.auth)
		resp, err := c.http.Do(req)
		if err != nil {
			return false, err
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusCreated:
			return true, nil
		case http.StatusConflict:
			return false, nil
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			if attempt < 6 {
				wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
				select {
				case <-time.After(time.Duration(max(wait, 1)) * time.Second):
					continue
				case <-ctx.Done():
					return false, context.Cause(ctx)
				}
			}
		}
		return false, statusError(http.MethodPost, path, resp, msg)
	}
}

func statusError(method, path string, resp *http.Response, body []byte) error {
	var e struct {
		Code, Message, Reason string
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(e.Code+" "+e.Reason+" "+e.Message))
	}
	if len(body) > 300 {
		body = body[:300]
	}
	return fmt.Errorf("%s %s: %s: %q", method, path, resp.Status, body)
}
