package repodata

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse"
	"github.com/gatehouse-dev/gatehouse/conda/repofmt"
)

// outputs are the three files of one revision being written, each through
// a buffer, counting offsets.
type outputs struct {
	f   [numEnc]*os.File
	w   [numEnc]*bufio.Writer
	off [numEnc]int64
}

func createOutputs(base string) (*outputs, error) {
	o := &outputs{}
	for enc := range numEnc {
		f, err := os.OpenFile(base+encSuffix[enc]+".tmp", os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o600)
		if err != nil {
			o.abort()
			return nil, err
		}
		o.f[enc], o.w[enc] = f, bufio.NewWriterSize(f, 256<<10)
	}
	return o, nil
}

// write appends b to encoding enc's file and returns where it lies.
func (o *outputs) write(enc int, b []byte) (span, error) {
	s := span{o.off[enc], int64(len(b))}
	_, err := o.w[enc].Write(b)
	o.off[enc] += s.N
	return s, err
}

// copyFrom appends n bytes of src from off to encoding enc's file,
// through copy_file_range when both are files on one file system.
func (o *outputs) copyFrom(enc int, src *os.File, sp span) (span, error) {
	out := span{o.off[enc], sp.N}
	if err := o.w[enc].Flush(); err != nil {
		return out, err
	}
	if _, err := src.Seek(sp.Off, io.SeekStart); err != nil {
		return out, err
	}
	n, err := o.f[enc].ReadFrom(io.LimitReader(src, sp.N))
	if err == nil && n != sp.N {
		err = fmt.Errorf("copied %d of %d bytes from the previous index", n, sp.N)
	}
	o.off[enc] += n
	return out, err
}

// commit flushes and closes the files and gives them their final names.
func (o *outputs) commit(base string) error {
	var errs []error
	for enc := range numEnc {
		errs = append(errs, o.w[enc].Flush(), o.f[enc].Close())
	}
	if err := errors.Join(errs...); err != nil {
		o.remove(base)
		return err
	}
	for enc := range numEnc {
		if err := os.Rename(base+encSuffix[enc]+".tmp", base+encSuffix[enc]); err != nil {
			o.remove(base)
			return err
		}
	}
	return nil
}

func (o *outputs) abort() {
	for enc := range numEnc {
		if o.f[enc] != nil {
			o.f[enc].Close()
			os.Remove(o.f[enc].Name())
		}
	}
}

func (o *outputs) remove(base string) {
	o.abort()
	for enc := range numEnc {
		os.Remove(base + encSuffix[enc] + ".tmp")
	}
}

// writeShard stores a shard under its address unless it is there.
func writeShard(dir string, r *rendered) error {
	path := shardPath(dir, r.hash)
	if _, err := os.Stat(path); err == nil {
		os.Chtimes(path, time.Now(), time.Now()) // in use again: not collected
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, r.shard, 0o600); err != nil {
		os.Remove(tmp) // a full disk leaves no partial file behind
		return err
	}
	return os.Rename(tmp, path)
}

func shardPath(dir string, h [32]byte) string {
	return filepath.Join(dir, "shards", fmt.Sprintf("%x.msgpack.zst", h[:]))
}

// loadName reads one name's packages of a subdir from the store.
func loadName(ctx context.Context, store gatehouse.IndexStore, channelID int64, subdir, name string) ([]repofmt.Entry, error) {
	var entries []repofmt.Entry
	err := store.EachPackage(ctx, channelID, subdir, name, func(p *gatehouse.Package) error {
		entries = append(entries, repofmt.Entry{Filename: p.Filename, Record: slices.Clone(p.Record)})
		return nil
	})
	return entries, err
}

// writeSegment appends a rendered segment's fragments in the form its
// position needs.
func (o *outputs) writeSegment(seg *segment, r *rendered, first [numSec]bool, sec int) error {
	body := r.frag[sec]
	if len(body) == 0 {
		seg.Part[sec] = [numEnc]span{}
		return nil
	}
	if !first[sec] {
		body = append([]byte{','}, body...)
	}
	for enc := range numEnc {
		sp, err := o.write(enc, encode(enc, body))
		if err != nil {
			return err
		}
		seg.Part[sec][enc] = sp
	}
	seg.First[sec] = first[sec]
	return nil
}
