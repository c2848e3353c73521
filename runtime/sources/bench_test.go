package sources

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkRescan measures what one burst of file activity costs the
// daemon: reading every source again, with nothing or one file changed,
// for a services directory of 200 files and a scripts directory of 50.
func BenchmarkRescan(b *testing.B) {
	root := b.TempDir()
	svc, scripts := filepath.Join(root, "services"), filepath.Join(root, "scripts")
	os.MkdirAll(svc, 0o755)
	os.MkdirAll(scripts, 0o755)
	for i := range 200 {
		os.WriteFile(filepath.Join(svc, fmt.Sprintf("s%03d.json", i)),
			[]byte(fmt.Sprintf(`{"cmd": "exec server --id %d", "scheduling": "every 5m offset %dm"}`, i, i%5)), 0o644)
	}
	for i := range 50 {
		os.WriteFile(filepath.Join(scripts, fmt.Sprintf("p%02d", i)), make([]byte, 64<<10), 0o755)
	}
	set := New(Spec{Services: []string{svc}, Scripts: []string{scripts}}, nil)
	if _, err := set.Load(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Run("unchanged", func(b *testing.B) {
		for b.Loop() {
			set.Rescan(context.Background())
		}
	})
	b.Run("one file changed", func(b *testing.B) {
		path := filepath.Join(svc, "s000.json")
		i := 0
		for b.Loop() {
			i++
			os.WriteFile(path, []byte(fmt.Sprintf(`{"cmd": "exec server --gen %d"}`, i)), 0o644)
			set.Rescan(context.Background())
		}
	})
}
