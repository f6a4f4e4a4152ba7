package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The server binary links no load generator: the generator is the
// tessera-bench binary, and nothing the server imports may pull its
// packages back in (an operator deploys `tessera`, and should get nothing
// that can flood an endpoint).
func TestServerBinaryLinksNoBench(t *testing.T) {
	const module = "github.com/tessera-id/tessera"
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps: %v\n%s", err, stderr)
	}
	deps := strings.Fields(string(out))
	// The list is the real one: the server's own packages are in it.
	if !slices.Contains(deps, module+"/server") || !slices.Contains(deps, module+"/cmd/tessera") {
		t.Fatalf("go list -deps ./cmd/tessera lacks the server itself:\n%s", out)
	}
	for _, p := range deps {
		if p == module+"/bench" || strings.HasPrefix(p, module+"/bench/") || p == module+"/cmd/tessera-bench" {
			t.Errorf("./cmd/tessera links %s: the load generator belongs to ./cmd/tessera-bench only", p)
		}
	}
}
