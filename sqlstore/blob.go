package sqlstore

import "fmt"

// dbBlob scans a BLOB or BYTEA column into a slice of its own (the
// driver's buffer is reused); an empty value becomes nil, on either
// backend.
type dbBlob []byte

func (b *dbBlob) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*b = nil
	case []byte:
		if len(v) == 0 {
			*b = nil
		} else {
			*b = append([]byte(nil), v...)
		}
	case string:
		if v == "" {
			*b = nil
		} else {
			*b = []byte(v)
		}
	default:
		return fmt.Errorf("sqlstore: cannot read bytes from %T", src)
	}
	return nil
}

// blobArg is b as a parameter for a NOT NULL BLOB/BYTEA column: drivers
// send a nil slice as NULL.
func blobArg(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
