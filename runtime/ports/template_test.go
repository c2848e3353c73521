package ports

import (
	"slices"
	"testing"
)

func TestExpand(t *testing.T) {
	ports := map[string]int{"http": 42816, "health": 42817, "admin-ui": 9000}
	tests := []struct {
		in, want string
	}{
		{"./run_nginx.sh -port {{ports[http]}}", "./run_nginx.sh -port 42816"},
		{"{{ports[http]}},{{ports[health]}},{{ports[http]}}", "42816,42817,42816"},
		{"http://127.0.0.1:{{ports[health]}}/health", "http://127.0.0.1:42817/health"},
		{"--ui={{ports[admin-ui]}}", "--ui=9000"},
		{"no references", "no references"},
		{"", ""},
		{"{{thermos.ports[http]}} {{.Name}} {{ports}} {{ports[http]", "{{thermos.ports[http]}} {{.Name}} {{ports}} {{ports[http]"},
		{"{{ports[http]}}}", "42816}"},
		{"{{{ports[http]}}", "{42816"},
		{"{{ports[{{ports[http]}}", "{{ports[42816"},
		{"{{ports[a{b]}} {{ports[http]}}", "{{ports[a{b]}} 42816"},
		{"{{ports[http] }}", "{{ports[http] }}"},
		{"ünïcode {{ports[http]}} ü", "ünïcode 42816 ü"},
	}
	for _, tt := range tests {
		got, err := Expand(tt.in, ports)
		if err != nil || got != tt.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestExpandUnknown(t *testing.T) {
	ports := map[string]int{"http": 42816}
	tests := []struct {
		in, want string
	}{
		{"-port {{ports[https]}}", `{{ports[https]}}: no port named "https"`},
		{"{{ports[http]}} {{ports[HTTP]}}", `{{ports[HTTP]}}: no port named "HTTP"`},
		{"{{ports[]}}", `{{ports[]}}: no port named ""`},
		{"{{ports[ http ]}}", `{{ports[ http ]}}: no port named " http "`},
	}
	for _, tt := range tests {
		got, err := Expand(tt.in, ports)
		if err == nil {
			t.Errorf("Expand(%q) = %q, want an error", tt.in, got)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Expand(%q) error = %q, want %q", tt.in, err, tt.want)
		}
	}
	if got, err := Expand("{{ports[http]}}", nil); err == nil {
		t.Errorf("Expand() with no ports = %q, want an error", got)
	}
}

func TestEnv(t *testing.T) {
	got := Env(map[string]int{"http": 42816, "admin-ui": 9000, "health": 42817, "Mixed_case-x": 1})
	want := []string{
		"KOPF_PORT_ADMIN_UI=9000",
		"KOPF_PORT_HEALTH=42817",
		"KOPF_PORT_HTTP=42816",
		"KOPF_PORT_MIXED_CASE_X=1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Env() = %q, want %q", got, want)
	}
	if got := Env(nil); len(got) != 0 {
		t.Errorf("Env(nil) = %q, want none", got)
	}
}
