package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeBuildsTheBinaryFirst follows README.md as a newcomer does: every
// command after the first `go run` calls a `tessera` binary, so a step that
// builds it must come before the first such command, and the build line, run
// as written (into a temporary directory), must make a binary that answers.
// The README must also say how to trust the development CA, or why the
// browser warns.
func TestReadmeBuildsTheBinaryFirst(t *testing.T) {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	lines := strings.Split(readme, "\n")
	inCode := false
	build, firstUse := -1, -1
	buildLine := ""
	bare := regexp.MustCompile(`^(\./bin/)?tessera\s`)
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			inCode = !inCode
			continue
		}
		if !inCode {
			continue
		}
		if build < 0 && (strings.HasPrefix(trimmed, "go install ./cmd/tessera") || strings.HasPrefix(trimmed, "go build -o bin/tessera ./cmd/tessera")) {
			build = i
		}
		if strings.HasPrefix(trimmed, "go build -o bin/tessera ./cmd/tessera") {
			buildLine = trimmed
		}
		if firstUse < 0 && bare.MatchString(trimmed) {
			firstUse = i
		}
	}
	if build < 0 || firstUse < 0 || build > firstUse {
		t.Fatalf("README: the build step (line %d) must come before the first tessera command (line %d)", build+1, firstUse+1)
	}
	if buildLine == "" {
		t.Fatal("README names no `go build -o bin/tessera ./cmd/tessera` line")
	}

	// The build line as written, but into a temporary bin/.
	args := strings.Fields(strings.SplitN(buildLine, "#", 2)[0])
	out := filepath.Join(t.TempDir(), "bin", "tessera")
	for i, a := range args {
		if a == "bin/tessera" {
			args[i] = out
		}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = "../.."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", buildLine, err, b)
	}
	if b, err := exec.Command(out, "version").CombinedOutput(); err != nil || !strings.Contains(string(b), "tessera") {
		t.Fatalf("the built binary's version: %v\n%s", err, b)
	}

	// Trusting the development CA: the file, and what the browser says
	// until it is trusted.
	at := strings.Index(readme, "### Trust the CA")
	if at < 0 {
		t.Fatal("README has no 'Trust the CA' section")
	}
	trust := readme[at:]
	for _, want := range []string{"tessera-data/ca.pem", "NET::ERR_CERT_AUTHORITY_INVALID", "update-ca-certificates", "certutil"} {
		if !strings.Contains(trust, want) {
			t.Errorf("README's 'Trust the CA' section does not mention %s", want)
		}
	}
}
