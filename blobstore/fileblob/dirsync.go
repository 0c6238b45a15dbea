package fileblob

import (
	"os"
	"path/filepath"
	"sync"
)

// A new object's name is durable once the directory holding it is synced,
// and that directory's own name once every directory above it, up to the
// root, has been synced after it existed. Syncing the whole chain on every
// write cost a third of a small upload's blob time, though the directories
// above the leaf rarely change. So the store remembers the directories whose
// chain it has synced since it opened; a write into one of them syncs the
// leaf alone. A directory it has not seen (created by this write, by a
// concurrent one whose sync may not have finished, by another process, or
// already there at start) gets the whole chain once.

// maxDurableDirs bounds the memory of synced directories: past it the set
// starts again, which costs a chain sync per directory and nothing else.
const maxDurableDirs = 1 << 16

// durableDirs is the set of directories whose chain up to the root is
// known to be synced.
type durableDirs struct {
	mu   sync.Mutex
	dirs map[string]struct{}
}

func (d *durableDirs) has(dir string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.dirs[dir]
	return ok
}

func (d *durableDirs) add(dir string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dirs == nil || len(d.dirs) >= maxDurableDirs {
		d.dirs = make(map[string]struct{})
	}
	d.dirs[dir] = struct{}{}
}

// makeDir makes sure dir, under the store's root, exists. It reports
// whether dir was already there and known durable, in which case only the
// leaf needs a sync once the object is renamed into it.
func (s *Store) makeDir(dir string) (known bool, err error) {
	if s.durable.has(dir) {
		fi, err := os.Stat(dir)
		if err == nil && fi.IsDir() {
			return true, nil
		}
		// Removed behind our back: create it again, and sync its chain.
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return false, err
	}
	return false, nil
}

// syncNewName makes the name of an object just renamed into dir durable:
// the leaf alone if makeDir knew dir, else every directory up to the root,
// after which dir is known.
func (s *Store) syncNewName(dir string, known bool) error {
	if known {
		return syncDir(dir)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if err := syncDir(d); err != nil {
			return err
		}
		if d == s.dir || len(d) <= len(s.dir) {
			break
		}
	}
	s.durable.add(dir)
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
