package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"
)

// commands are the known commands, in the order messages list them.
var commands = []Command{CmdStatus, CmdTrigger, CmdStart, CmdStop, CmdRestart, CmdReload, CmdNext, CmdCluster, CmdClaims, CmdHandoff}

// commandList is the known commands for a message: "status, trigger, …".
func commandList() string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}

// Bounds of Request.N for next.
const (
	defaultN = 10
	maxN     = 10000
)

// parseRequest reads one request line (its newline included or not) and
// checks it, so that a Handler sees only requests it can carry out. The
// error's text is what the client is told.
func parseRequest(line []byte) (Request, error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	req, err := decodeRequest(line)
	if err != nil {
		return Request{}, err
	}
	if err := check(&req); err != nil {
		return Request{}, err
	}
	return req, nil
}

// decodeRequest decodes line as one JSON object with no field Request
// lacks and nothing after it.
func decodeRequest(line []byte) (Request, error) {
	start := len(line) - len(bytes.TrimLeft(line, " \t\r\n"))
	switch {
	case start == len(line):
		return Request{}, errors.New(`request: empty line; expected a JSON object such as {"cmd":"status"}`)
	case line[start] != '{':
		return Request{}, fmt.Errorf("request: invalid JSON at column %d: expected an object, beginning with {", column(line, start))
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var req Request
	if err := dec.Decode(&req); err != nil {
		return Request{}, jsonError(line, err)
	}
	end := int(dec.InputOffset())
	if rest := bytes.TrimLeft(line[end:], " \t\r\n"); len(rest) > 0 {
		return Request{}, fmt.Errorf("request: invalid JSON at column %d: more after the object; send one request per line", column(line, len(line)-len(rest)))
	}
	return req, nil
}

// jsonError says in words what encoding/json found wrong in line, with a
// column where json gives an offset.
func jsonError(line []byte, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		// Offset counts the bytes read, the bad one included.
		return fmt.Errorf("request: invalid JSON at column %d: %s", column(line, int(syntax.Offset)-1), syntax.Error())
	case errors.As(err, &typ):
		return fmt.Errorf("request: wrong type at column %d: %s", column(line, valueStart(line, typ)), typeMismatch(typ))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("request: invalid JSON at column %d: the line ends inside the object", column(line, len(line)))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json gives no offset here.
		return fmt.Errorf("request: %s; a request has the fields cmd, name, args and n", strings.TrimPrefix(err.Error(), "json: "))
	}
	return fmt.Errorf("request: invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// valueStart is the offset in line of the value e is about. encoding/json
// gives the offset just past a string or a number, and just past the
// opening bracket of an array or an object.
func valueStart(line []byte, e *json.UnmarshalTypeError) int {
	end := min(int(e.Offset), len(line))
	switch {
	case e.Value == "array" || e.Value == "object":
		return end - 1
	case e.Value == "string":
		// Back from the closing quote to the opening one: the first quote
		// that an even number of backslashes precedes.
		for i := end - 2; i >= 0; i-- {
			if line[i] != '"' {
				continue
			}
			n := 0
			for n < i && line[i-1-n] == '\\' {
				n++
			}
			if n%2 == 0 {
				return i
			}
		}
		return end - 1
	}
	i := end // a number, true, false: back to what precedes a value
	for i > 0 && strings.IndexByte(" \t\r\n:,[", line[i-1]) < 0 {
		i--
	}
	return i
}

// typeMismatch describes a field of the wrong type.
func typeMismatch(e *json.UnmarshalTypeError) string {
	got := e.Value // "string", "number", "number 1.5", "array", "object", "bool"
	switch got {
	case "string", "number", "array", "object":
		got = article(got) + " " + got
	case "bool":
		got = "true or false"
	default:
		got = strings.TrimPrefix(got, "number ")
	}
	want := map[string]string{"cmd": "a string", "name": "a string", "args": "an array of strings", "n": "a whole number"}[e.Field]
	if want == "" {
		return fmt.Sprintf("cannot use %s for %q", got, e.Field)
	}
	if e.Field == "args" && e.Type.Kind() == reflect.String {
		got = "an array holding " + got // an entry is wrong, not args itself
	}
	return fmt.Sprintf("%q must be %s, not %s", e.Field, want, got)
}

func article(noun string) string {
	if strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an"
	}
	return "a"
}

// column is the 1-based column, in runes, of the byte at offset in line.
func column(line []byte, offset int) int {
	offset = max(0, min(offset, len(line)))
	return utf8.RuneCount(line[:offset]) + 1
}

// check refuses a request that names no known command or that carries
// fields its command does not take, and sets N's default.
func check(req *Request) error {
	switch req.Cmd {
	case CmdTrigger, CmdStart, CmdStop, CmdRestart, CmdNext, CmdClaims, CmdHandoff:
		if req.Name == "" {
			return fmt.Errorf("%q needs a name", req.Cmd)
		}
	case CmdStatus, CmdReload, CmdCluster:
		if req.Name != "" {
			return fmt.Errorf("%q takes no name", req.Cmd)
		}
	case "":
		return fmt.Errorf(`request has no "cmd"; expected one of %s`, commandList())
	default:
		return fmt.Errorf("unknown command %q; expected one of %s", req.Cmd, commandList())
	}
	switch {
	case req.Cmd == CmdHandoff && len(req.Args) > 1:
		return fmt.Errorf("%q takes at most one arg, the member to hand the unit to", req.Cmd)
	case len(req.Args) > 0 && req.Cmd != CmdTrigger && req.Cmd != CmdHandoff:
		return fmt.Errorf("%q takes no args; only trigger and handoff do", req.Cmd)
	}
	if req.Cmd != CmdNext && req.Cmd != CmdClaims {
		if req.N != 0 {
			return fmt.Errorf("%q takes no n; only next and claims do", req.Cmd)
		}
		return nil
	}
	if req.N < 0 || req.N > maxN {
		return fmt.Errorf(`"n" must be between 1 and %d, not %d`, maxN, req.N)
	}
	if req.N == 0 {
		req.N = defaultN
	}
	return nil
}
