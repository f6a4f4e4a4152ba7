package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func execute(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCommand(streams{out: &out, err: &errOut})
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

// report renders saved --json results as the table of docs/benchmarks.md.
func TestReportRendersSavedResults(t *testing.T) {
	file := filepath.Join(t.TempDir(), "r.json")
	result := `{"scenario":"client_credentials","store":"sqlite","alg":"ES256","concurrency":16,"requests":1000,"errors":{},
		"seconds":1,"requests_per_second":1000,"latency_ms":{"p50":1,"p90":2,"p99":3,"max":4},"signatures_per_response":1,
		"machine":{"cores":2,"cpu":"test","go":"go","os":"linux/amd64"}}`
	if err := os.WriteFile(file, []byte(result), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := execute(t, "report", file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "| client_credentials | sqlite | ES256 | 16 |") || !strings.Contains(out, "Machine: 2 cores") {
		t.Errorf("report:\n%s", out)
	}
	// Store round trips come only from results saved while the server
	// counted them: without any, no column for them.
	if strings.Contains(out, "round trips") {
		t.Errorf("a round-trip column without round trips:\n%s", out)
	}
	var cells []int
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "|") {
			cells = append(cells, strings.Count(line, "|"))
		}
	}
	if len(cells) != 3 || cells[0] != cells[1] || cells[1] != cells[2] {
		t.Errorf("header, rule and row have %v cell borders:\n%s", cells, out)
	}
}

// A mistyped subcommand fails with a suggestion instead of starting a
// load run with it as a stray argument.
func TestUnknownSubcommand(t *testing.T) {
	_, err := execute(t, "reprot", "r.json")
	if err == nil || !strings.Contains(err.Error(), `unknown command "reprot" for "tessera-bench"`) || !strings.Contains(err.Error(), "Did you mean this?\n\treport") {
		t.Errorf("tessera-bench reprot: %v", err)
	}
}
