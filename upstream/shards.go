package upstream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda"
	"github.com/klauspost/compress/zstd"
	"github.com/tinylib/msgp/msgp"
)

// Limits on what an upstream's CEP-16 documents may make us hold:
// conda-forge's linux-64 index is about 670 kB compressed and 2 MB
// decoded, its largest shards a few MB.
const (
	maxShardDownload = 64 << 20
	maxShardDecoded  = 256 << 20
	maxRecordDepth   = 16
)

// shardIndex is an upstream's repodata_shards.msgpack.zst: where its
// shards are and the sha256 of each package name's shard.
type shardIndex struct {
	shardsBase string // absolute URL, ending in "/"
	shards     map[string][32]byte
	v          gatehouse.Validator // of the index's answer
}

var zstdDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxShardDecoded))

func unzstd(b []byte) ([]byte, error) {
	out, err := zstdDecoder.DecodeAll(b, nil)
	if err != nil {
		return nil, fmt.Errorf("not valid zstd: %w", err)
	}
	return out, nil
}

// decodeShardIndex reads an index (compressed); indexURL resolves a
// relative shards_base_url.
func decodeShardIndex(zst []byte, indexURL string) (*shardIndex, error) {
	b, err := unzstd(zst)
	if err != nil {
		return nil, err
	}
	n, b, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return nil, fmt.Errorf("the shard index is not a msgpack map: %w", err)
	}
	idx := &shardIndex{shards: map[string][32]byte{}}
	base := "./shards/"
	for range n {
		var key string
		if key, b, err = msgp.ReadStringBytes(b); err != nil {
			return nil, err
		}
		switch key {
		case "info":
			var m uint32
			if m, b, err = msgp.ReadMapHeaderBytes(b); err != nil {
				return nil, err
			}
			for range m {
				var k string
				if k, b, err = msgp.ReadStringBytes(b); err != nil {
					return nil, err
				}
				if k == "shards_base_url" && msgp.NextType(b) == msgp.StrType {
					if base, b, err = msgp.ReadStringBytes(b); err != nil {
						return nil, err
					}
					continue
				}
				if b, err = msgp.Skip(b); err != nil {
					return nil, err
				}
			}
		case "shards":
			var m uint32
			if m, b, err = msgp.ReadMapHeaderBytes(b); err != nil {
				return nil, err
			}
			for range m {
				var name string
				var h []byte
				if name, b, err = msgp.ReadStringBytes(b); err != nil {
					return nil, err
				}
				if h, b, err = msgp.ReadBytesZC(b); err != nil || len(h) != 32 {
					return nil, fmt.Errorf("the shard hash of %s is not 32 bytes", conda.Quote(name))
				}
				idx.shards[name] = [32]byte(h)
			}
		default:
			if b, err = msgp.Skip(b); err != nil {
				return nil, err
			}
		}
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	ref, err := url.Parse(base)
	iu, err2 := url.Parse(indexURL)
	if err != nil || err2 != nil || (ref.Scheme != "" && ref.Scheme != "http" && ref.Scheme != "https") || ref.User != nil {
		return nil, errors.New("the shard index's shards_base_url is not an http(s) URL")
	}
	idx.shardsBase = iu.ResolveReference(ref).String()
	return idx, nil
}

// shardRecord is one record of a shard: its file name and its JSON (as
// repodata.json would hold it, digests in hex).
type shardRecord struct {
	filename string
	raw      []byte
}

// decodeShard reads a shard (compressed) into its records.
func decodeShard(zst []byte) ([]shardRecord, error) {
	b, err := unzstd(zst)
	if err != nil {
		return nil, err
	}
	n, b, err := msgp.ReadMapHeaderBytes(b)
	if err != nil {
		return nil, fmt.Errorf("the shard is not a msgpack map: %w", err)
	}
	var out []shardRecord
	for range n {
		var key string
		if key, b, err = msgp.ReadStringBytes(b); err != nil {
			return nil, err
		}
		if key != "packages" && key != "packages.conda" || msgp.NextType(b) == msgp.NilType {
			if b, err = msgp.Skip(b); err != nil {
				return nil, err
			}
			continue
		}
		var m uint32
		if m, b, err = msgp.ReadMapHeaderBytes(b); err != nil {
			return nil, err
		}
		for range m {
			var fn string
			var v any
			if fn, b, err = msgp.ReadStringBytes(b); err != nil {
				return nil, err
			}
			if v, b, err = readValue(b, 0); err != nil {
				return nil, fmt.Errorf("the record of %s: %w", conda.Quote(fn), err)
			}
			raw, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			out = append(out, shardRecord{filename: fn, raw: raw})
		}
	}
	return out, nil
}

// readValue reads one msgpack value as what encoding/json writes back:
// binary (sha256, md5) becomes hex, as repodata.json has it.
func readValue(b []byte, depth int) (any, []byte, error) {
	if depth > maxRecordDepth {
		return nil, b, errors.New("nested too deeply")
	}
	switch msgp.NextType(b) {
	case msgp.MapType:
		n, b, err := msgp.ReadMapHeaderBytes(b)
		if err != nil {
			return nil, b, err
		}
		m := make(map[string]any, n)
		for range n {
			var k string
			var v any
			if k, b, err = msgp.ReadStringBytes(b); err != nil {
				return nil, b, err
			}
			if v, b, err = readValue(b, depth+1); err != nil {
				return nil, b, err
			}
			m[k] = v
		}
		return m, b, nil
	case msgp.ArrayType:
		n, b, err := msgp.ReadArrayHeaderBytes(b)
		if err != nil {
			return nil, b, err
		}
		a := make([]any, 0, min(n, 1024))
		for range n {
			var v any
			if v, b, err = readValue(b, depth+1); err != nil {
				return nil, b, err
			}
			a = append(a, v)
		}
		return a, b, nil
	case msgp.BinType:
		v, b, err := msgp.ReadBytesZC(b)
		return hex.EncodeToString(v), b, err
	case msgp.StrType:
		return msgp.ReadStringBytes(b)
	case msgp.IntType:
		return msgp.ReadInt64Bytes(b)
	case msgp.UintType:
		return msgp.ReadUint64Bytes(b)
	case msgp.Float64Type:
		return msgp.ReadFloat64Bytes(b)
	case msgp.Float32Type:
		return msgp.ReadFloat32Bytes(b)
	case msgp.BoolType:
		return msgp.ReadBoolBytes(b)
	case msgp.NilType:
		b, err := msgp.ReadNilBytes(b)
		return nil, b, err
	}
	return nil, b, errors.New("a value of a type records do not have")
}

// get fetches an upstream URL (the credential goes only to the
// upstream's own host) with a size limit; v, when not nil, makes it
// conditional, and a 304 returns nil bytes.
func (m *Manager) get(ctx context.Context, u *gatehouse.Upstream, rawURL string, v *gatehouse.Validator) (body []byte, res *http.Response, err error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.RepodataTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, nil, err
	}
	if uu, err := url.Parse(u.URL); err == nil && uu.Host == req.URL.Host {
		token, err := m.cfg.Sealer.Open(u.ChannelID, u.Credential)
		if err != nil {
			return nil, nil, err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
	}
	req.Header.Set("User-Agent", "gatehouse-upstream")
	if v != nil && v.ETag != "" {
		req.Header.Set("If-None-Match", v.ETag)
	}
	if v != nil && v.LastModified != "" {
		req.Header.Set("If-Modified-Since", v.LastModified)
	}
	res, err = m.cfg.Client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("the upstream did not answer: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		return nil, res, nil
	}
	body, err = io.ReadAll(io.LimitReader(res.Body, maxShardDownload+1))
	if err != nil {
		return nil, res, fmt.Errorf("reading from the upstream was cut off: %w", err)
	}
	if len(body) > maxShardDownload {
		return nil, res, fmt.Errorf("the upstream sent more than %d MB", maxShardDownload>>20)
	}
	return body, res, nil
}

// nameOf is the package name of a conda file name ("" if it is not one).
func nameOf(fn string) string {
	stem, _, err := conda.ParseFilename(fn)
	if err != nil {
		return ""
	}
	i := strings.LastIndexByte(stem, '-')
	if i <= 0 {
		return ""
	}
	j := strings.LastIndexByte(stem[:i], '-')
	if j <= 0 {
		return ""
	}
	return stem[:j]
}

// shardState is what a subdir's syncs applied from the upstream's shard
// index: package name -> its shard's sha256. A name whose records were not
// all applied (a mirror's copy of a file failed, its shard was missing or
// unreadable) keeps a zero hash, so the next sync reads it again. It is
// kept in the blob store (the database is untouched by it), with a
// fingerprint of the upstream URL and filters: other filters start over.
type shardState map[string][32]byte

const stateMagic = "gatehouse-upstream-shards-1\n"

func stateKey(channelID int64, subdir string) string {
	return fmt.Sprintf("upstream-state/%d/%s/shards", channelID, subdir)
}

func fingerprint(u *gatehouse.Upstream) [32]byte {
	f, _ := json.Marshal(u.Filters)
	return sha256.Sum256(append([]byte(u.URL+"\n"), f...))
}

// loadState returns the subdir's state, nil when there is none or it was
// made for other filters.
func (m *Manager) loadState(ctx context.Context, u *gatehouse.Upstream, subdir string) (shardState, error) {
	r, err := m.cfg.Blobs.NewRangeReader(ctx, stateKey(u.ChannelID, subdir), 0, -1)
	if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, maxShardDecoded))
	if err != nil {
		return nil, err
	}
	fp := fingerprint(u)
	if !bytes.HasPrefix(b, []byte(stateMagic)) || len(b) < len(stateMagic)+32 || !bytes.Equal(b[len(stateMagic):len(stateMagic)+32], fp[:]) {
		return nil, nil
	}
	b = b[len(stateMagic)+32:]
	st := shardState{}
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n+32 {
			return nil, nil // damaged: start over
		}
		st[string(b[k:k+int(n)])] = [32]byte(b[k+int(n) : k+int(n)+32])
		b = b[k+int(n)+32:]
	}
	return st, nil
}

func (m *Manager) saveState(ctx context.Context, u *gatehouse.Upstream, subdir string, st shardState) error {
	names := make([]string, 0, len(st))
	for n := range st {
		names = append(names, n)
	}
	slices.Sort(names)
	fp := fingerprint(u)
	b := append([]byte(stateMagic), fp[:]...)
	for _, n := range names {
		h := st[n]
		b = binary.AppendUvarint(b, uint64(len(n)))
		b = append(append(b, n...), h[:]...)
	}
	return m.cfg.Blobs.Put(ctx, stateKey(u.ChannelID, subdir), bytes.NewReader(b), "")
}
