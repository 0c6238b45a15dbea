package client

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"path"
	"strings"
)

// UploadOptions tune one upload.
type UploadOptions struct {
	// Replace overwrites a package file of the same name.
	Replace bool
	// Progress, when set, is called as the file is sent with the bytes
	// sent so far and the total (-1 when unknown).
	Progress func(sent, total int64)
}

// Upload streams one package file to channel as multipart/form-data, never
// holding it in memory. filename is the name the file is uploaded under
// (only its last element is sent); size is its length in bytes, or -1 if
// unknown (the body is then chunked). The request asks for 100-continue,
// so a refused upload (no right to write, too large) sends no body.
func (c *Client) Upload(ctx context.Context, channel, filename string, r io.Reader, size int64, opts UploadOptions) (*Package, error) {
	ctx, cancel := context.WithTimeout(ctx, c.uploadTimeout)
	defer cancel()

	name := path.Base(strings.ReplaceAll(filename, "\\", "/"))
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if _, err := mw.CreateFormFile("file", name); err != nil {
		return nil, err
	}
	head := append([]byte(nil), buf.Bytes()...)
	buf.Reset()
	if err := mw.Close(); err != nil {
		return nil, err
	}
	tail := append([]byte(nil), buf.Bytes()...)

	body := io.MultiReader(bytes.NewReader(head), &progressReader{r: r, total: size, fn: opts.Progress}, bytes.NewReader(tail))
	p := "/api/channels/" + seg(channel) + "/packages"
	if opts.Replace {
		p += "?replace=true"
	}
	req, err := c.newRequest(ctx, http.MethodPost, p, body, "")
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Expect", "100-continue")
	if size >= 0 {
		req.ContentLength = int64(len(head)) + size + int64(len(tail))
	} else {
		req.ContentLength = -1
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	defer resp.Body.Close()
	var out Package
	if err := c.decode(resp, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// progressReader reports the bytes read through it.
type progressReader struct {
	r     io.Reader
	sent  int64
	total int64
	fn    func(sent, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.sent += int64(n)
		if p.fn != nil {
			p.fn(p.sent, p.total)
		}
	}
	return n, err
}
