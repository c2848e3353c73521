package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// readToken reads --http-token's file as ssh reads a private key: a file
// that others than its owner may read or write is refused (whoever can
// read it can act on every unit; whoever can write it can choose the
// token), and so is a token too short to resist guessing.
func readToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("%s is readable or writable by others than its owner (mode %04o); make it private: chmod 600 %s", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return "", err
	}
	token := strings.TrimSpace(string(b))
	if n := len(token); n < minTokenLen {
		return "", fmt.Errorf("%s holds a token of %d bytes; a token needs at least %d, like the output of: head -c 32 /dev/urandom | base64", path, n, minTokenLen)
	}
	return token, nil
}

// minTokenLen is the shortest --http-token kopf takes.
const minTokenLen = 16
