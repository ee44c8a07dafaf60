package publisher

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layerEntry is one file, directory or symlink of a layer.
type layerEntry struct {
	name     string // path in the image, without the leading slash
	src      string // file on disk, for regular files
	mode     int64
	typ      byte
	linkname string
	size     int64
	uid, gid int
	from     string // the import it came from, for messages
}

// importLayer builds the layer holding s's imports for platform p, or nil when nothing is
// imported. The tar is reproducible: entries sorted by path, parent directories included, every
// time set to created, ownership numeric (uid/gid from the import, default 0), no user names.
func (bf *BuildFile) importLayer(s *ImageSpec, p v1.Platform, created time.Time) (v1.Layer, error) {
	entries := map[string]*layerEntry{}
	for i, im := range s.Import {
		if !im.forPlatform(p) {
			continue
		}
		src := bf.resolveImportPath(platformPath(im.Path, p))
		dest := platformPath(im.Dest, p)
		what := fmt.Sprintf("import %d (%s)", i, src)
		if err := addImport(entries, im, src, dest, what); err != nil {
			return nil, err
		}
	}
	if len(entries) == 0 {
		return nil, nil
	}
	// Parent directories, so that the layer extracts the same everywhere.
	for name := range entries {
		for dir := path.Dir(name); dir != "." && dir != "/"; dir = path.Dir(dir) {
			if _, ok := entries[dir]; !ok {
				entries[dir] = &layerEntry{name: dir, typ: tar.TypeDir, mode: 0o755}
			}
		}
	}
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	sort.Strings(names)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		e := entries[n]
		h := &tar.Header{
			Typeflag: e.typ,
			Name:     e.name,
			Linkname: e.linkname,
			Mode:     e.mode,
			Uid:      e.uid,
			Gid:      e.gid,
			ModTime:  created,
		}
		if e.typ == tar.TypeDir {
			h.Name += "/"
		}
		if e.typ == tar.TypeReg {
			h.Size = e.size
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("%s: writing %s: %w", e.from, e.name, err)
		}
		if e.typ == tar.TypeReg {
			if err := copyFile(tw, e); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("writing layer: %w", err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, fmt.Errorf("making layer: %w", err)
	}
	return l, nil
}

func copyFile(w io.Writer, e *layerEntry) error {
	f, err := os.Open(e.src)
	if err != nil {
		return fmt.Errorf("%s: %w", e.from, err)
	}
	defer f.Close()
	n, err := io.Copy(w, io.LimitReader(f, e.size))
	if err != nil {
		return fmt.Errorf("%s: reading %s: %w", e.from, e.src, err)
	}
	if n != e.size {
		return fmt.Errorf("%s: %s changed size while it was read", e.from, e.src)
	}
	return nil
}

// addImport adds the file or directory tree at src to entries under dest.
func addImport(entries map[string]*layerEntry, im Import, src, dest, what string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if im.Hash != "" {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s: hash: is given but the path is not a regular file", what)
		}
		if err := checkHash(src, im.Hash); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	add := func(target, file string, fi fs.FileInfo) error {
		name := strings.TrimPrefix(path.Clean("/"+target), "/")
		if name == "" {
			return nil // the root itself
		}
		e := &layerEntry{name: name, src: file, uid: im.UID, gid: im.GID, from: what}
		switch m := fi.Mode(); {
		case m.IsRegular():
			e.typ, e.size, e.mode = tar.TypeReg, fi.Size(), int64(m.Perm())
			if im.Mode != nil {
				e.mode = int64(*im.Mode)
			}
		case m.IsDir():
			e.typ, e.mode = tar.TypeDir, int64(m.Perm())
		case m&fs.ModeSymlink != 0:
			link, err := os.Readlink(file)
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			e.typ, e.linkname, e.mode = tar.TypeSymlink, link, 0o777
		default:
			return fmt.Errorf("%s: %s is a %s; only files, directories and symlinks can be imported", what, file, m.Type())
		}
		if prev, ok := entries[name]; ok && (prev.typ != tar.TypeDir || e.typ != tar.TypeDir) {
			return fmt.Errorf("%s: /%s is also written by %s; give each file one source", what, name, prev.from)
		}
		entries[name] = e
		return nil
	}
	if !fi.IsDir() {
		target := dest
		if strings.HasSuffix(dest, "/") {
			target = path.Join(dest, filepath.Base(src))
		}
		return add(target, src, fi)
	}
	return filepath.WalkDir(src, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		rel, err := filepath.Rel(src, file)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return add(path.Join(dest, filepath.ToSlash(rel)), file, info)
	})
}

func checkHash(file, want string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("hashing: %w", err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if !strings.EqualFold(strings.TrimPrefix(want, "sha256:"), got) {
		return fmt.Errorf("sha256 is %s, but hash: says %s", got, want)
	}
	return nil
}
