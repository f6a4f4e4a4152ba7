// Package qrterm draws a QR code in a terminal with Unicode half blocks,
// two modules per character cell, so a phone can open a device-code
// verification URL without typing it.
package qrterm

import (
	"fmt"
	"io"
	"strings"

	"rsc.io/qr"
)

// Write draws text as a QR code (medium error correction) with a quiet
// zone, light modules as blocks so it reads on dark terminals.
func Write(w io.Writer, text string) error {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return fmt.Errorf("qrterm: %w", err)
	}
	const quiet = 2
	size := code.Size
	dark := func(x, y int) bool {
		if x < 0 || y < 0 || x >= size || y >= size {
			return false
		}
		return code.Black(x, y)
	}
	var b strings.Builder
	for y := -quiet; y < size+quiet; y += 2 {
		for x := -quiet; x < size+quiet; x++ {
			top, bottom := !dark(x, y), !dark(x, y+1)
			switch {
			case top && bottom:
				b.WriteRune('█')
			case top:
				b.WriteRune('▀')
			case bottom:
				b.WriteRune('▄')
			default:
				b.WriteRune(' ')
			}
		}
		b.WriteByte('\n')
	}
	_, err = io.WriteString(w, b.String())
	return err
}
