package qrterm

import (
	"bytes"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, "https://localhost:8443/demo/device?user_code=BCDF-GHJK"); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	width := len([]rune(lines[0]))
	if width < 25 || len(lines) < width/2 {
		t.Fatalf("QR code of %d lines x %d columns is too small", len(lines), width)
	}
	for i, l := range lines {
		if len([]rune(l)) != width {
			t.Fatalf("line %d has %d columns, want %d", i, len([]rune(l)), width)
		}
	}
}
