package main

import (
	"fmt"
	"io"
	"log/slog"
)

// newLogHandler is serve's log: JSON lines for a log pipeline, the
// default outside --dev, or key=value text for a person reading a
// terminal, the default with --dev.
func newLogHandler(w io.Writer, format, level string, dev bool) (slog.Handler, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	if format == "" {
		format = "json"
		if dev {
			format = "text"
		}
	}
	switch format {
	case "json":
		return slog.NewJSONHandler(w, opts), nil
	case "text":
		return slog.NewTextHandler(w, opts), nil
	}
	return nil, fmt.Errorf("--log-format %q: use json or text", format)
}
