package main

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// The binary refuses look-alike usernames and invisible characters in
// display names: it exits non-zero and says why on stderr.
func TestCLIRefusesConfusableNames(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	runJSON(t, dir, "", "tenant", "create", "contoso")
	runJSON(t, dir, "", "user", "create", "--tenant", "contoso", "--username", "demo")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "create", "--tenant", "contoso", "--username", "dеmo"}, // Cyrillic е
			`username "dеmo": "dеmo" mixes letters of the Latin and Cyrillic scripts (U+0435 'е' is Cyrillic)`},
		{[]string{"user", "create", "--tenant", "contoso", "--username", "ＤＥＭＯ"},
			`username "ＤＥＭＯ" is the same as "demo", and a user named "demo" already exists in tenant contoso`},
		{[]string{"user", "create", "--tenant", "contoso", "--username", "carol", "--name", "Carol\u202e"},
			`contains U+202E, a bidirectional text control`},
		{[]string{"app", "register", "--tenant", "contoso", "--name", "Fi\u200bles"},
			`contains U+200B, a zero-width character`},
	} {
		cmd := exec.Command(tesseraBinary(t), append([]string{"--data-dir", dir}, tc.args...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() == 0 {
			t.Errorf("tessera %s: %v; want a non-zero exit", strings.Join(tc.args, " "), err)
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("tessera %s: stderr %q lacks %q", strings.Join(tc.args, " "), stderr.String(), tc.want)
		}
	}
}
