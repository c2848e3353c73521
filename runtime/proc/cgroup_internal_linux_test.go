package proc

import "testing"

func TestCgroupName(t *testing.T) {
	for _, tc := range []struct{ label, name string }{
		{"job-backup", "job-backup@7"},
		{"proc-web.1", "proc-web.1@7"},
		{"job-a b/c@d%e", "job-a%20b%2Fc%40d%25e@7"},
		{".hidden", "%2Ehidden@7"},
		{"", "run@7"},
		{"job-ç", "job-%C3%A7@7"},
	} {
		if got := cgroupName(tc.label, 7); got != tc.name {
			t.Errorf("cgroupName(%q) = %q; want %q", tc.label, got, tc.name)
		}
		want := tc.label
		if want == "" {
			want = "run"
		}
		if got, ok := parseCgroupName(tc.name); !ok || got != want {
			t.Errorf("parseCgroupName(%q) = %q, %v; want %q", tc.name, got, ok, want)
		}
	}
	long := make([]byte, 300)
	for i := range long {
		long[i] = 'x'
	}
	name := cgroupName(string(long), 1)
	if len(name) > 255 {
		t.Errorf("a long label makes a name of %d bytes; a file name has at most 255", len(name))
	}
	if _, ok := parseCgroupName(name); ok {
		t.Errorf("the name of a cut label reads back")
	}
	for _, bad := range []string{"kopf", "job-x@", "job-x@a", "job-%4@1", "job-%zz@1"} {
		if got, ok := parseCgroupName(bad); ok {
			t.Errorf("parseCgroupName(%q) = %q; want not one of kopf's", bad, got)
		}
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/sys/fs/cgroup`:      "/sys/fs/cgroup",
		`/mnt/a\040b`:         "/mnt/a b",
		`/mnt/tab\011and\134`: "/mnt/tab\tand\\",
		`/mnt/trailing\04`:    `/mnt/trailing\04`,
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestWithin(t *testing.T) {
	for _, tc := range []struct {
		path, dir, rel string
		ok             bool
	}{
		{"/a/b", "/", "a/b", true},
		{"/", "/", "", true},
		{"/a/b", "/a", "b", true},
		{"/a", "/a", "", true},
		{"/ab", "/a", "", false},
	} {
		if rel, ok := within(tc.path, tc.dir); rel != tc.rel || ok != tc.ok {
			t.Errorf("within(%q, %q) = %q, %v; want %q, %v", tc.path, tc.dir, rel, ok, tc.rel, tc.ok)
		}
	}
}
