package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Pages are walked the way a person reads them: by the words on buttons,
// links and labels, so that a test breaks when what the user sees changes.

// xpathString quotes s for an XPath expression.
func xpathString(s string) string { return fmt.Sprintf("%q", s) }

// ClickLabel clicks the link, button or disclosure whose visible text is
// text, and waits for the navigation it starts, if any.
func (b *Browser) ClickLabel(text string) {
	b.t.Helper()
	sel := `//*[self::a or self::button or self::summary][normalize-space(.)=` + xpathString(text) + `]`
	// A click that opens a disclosure loads nothing: wait less for it.
	b.clickAndWait(sel, chromedp.BySearch, 2*time.Second)
}

// clickAndWait clicks an element and waits up to wait for the page load
// it starts.
func (b *Browser) clickAndWait(sel string, by chromedp.QueryOption, wait time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		done := make(chan struct{}, 1)
		lctx, lcancel := context.WithCancel(ctx)
		defer lcancel()
		chromedp.ListenTarget(lctx, func(ev any) {
			switch ev.(type) {
			case *page.EventLoadEventFired, *page.EventFrameStoppedLoading:
				select {
				case done <- struct{}{}:
				default:
				}
			}
		})
		if err := chromedp.Click(sel, by, chromedp.NodeVisible).Do(ctx); err != nil {
			return err
		}
		select {
		case <-done:
		case <-time.After(wait):
		}
		return nil
	}))
	if err != nil {
		b.t.Fatalf("browser: click %s: %v (at %s)", sel, err, b.Location())
	}
	b.waitReady()
}

// waitReady waits up to five seconds for the page to finish loading: a
// load event seen after a click may be the one of the page before.
func (b *Browser) waitReady() {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var state string
		ctx, cancel := context.WithTimeout(b.ctx, time.Second)
		err := chromedp.Run(ctx, chromedp.Evaluate(`document.documentElement ? document.readyState : "loading"`, &state))
		cancel()
		if err == nil && state == "complete" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// labelled is the XPath of the form control a <label> with text names.
func labelled(text string) string {
	return `//*[@id=//label[normalize-space(.)=` + xpathString(text) + `]/@for]`
}

// FillLabel types value into the input or text area whose label reads
// text. The old value is emptied by script, not by chromedp.Clear, which
// fails on an empty text area (it has no text node to clear).
func (b *Browser) FillLabel(text, value string) {
	b.t.Helper()
	sel := labelled(text)
	var found bool
	b.run(chromedp.WaitVisible(sel, chromedp.BySearch), chromedp.Evaluate(fmt.Sprintf(`(() => {
		const label = [...document.querySelectorAll("label")].find(l => l.textContent.trim() === %q);
		const field = label && document.getElementById(label.htmlFor);
		if (field) field.value = "";
		return !!field;
	})()`, text), &found), chromedp.SendKeys(sel, value, chromedp.BySearch))
	if !found {
		b.t.Fatalf("browser: no field labelled %q (at %s)", text, b.Location())
	}
}

// SelectLabel chooses, in the select whose label reads text, the option
// whose visible text contains option.
func (b *Browser) SelectLabel(text, option string) {
	b.t.Helper()
	var ok bool
	b.run(chromedp.Evaluate(fmt.Sprintf(`(() => {
		const label = [...document.querySelectorAll("label")].find(l => l.textContent.trim() === %q);
		const sel = label && document.getElementById(label.htmlFor);
		const opt = sel && [...sel.options].find(o => o.textContent.includes(%q));
		if (!opt) return false;
		sel.value = opt.value;
		sel.dispatchEvent(new Event("change", {bubbles: true}));
		return true;
	})()`, text, option), &ok))
	if !ok {
		b.t.Fatalf("browser: no select labelled %q with an option %q (at %s)", text, option, b.Location())
	}
}

// CheckLabel checks the radio button or checkbox whose label reads text.
func (b *Browser) CheckLabel(text string) {
	b.t.Helper()
	sel := `//label[normalize-space(.)=` + xpathString(text) + `]//input`
	b.run(chromedp.Click(sel, chromedp.BySearch, chromedp.NodeVisible))
}

// Field is the value shown for a term of a description list: the text of
// its <dd>, or of the <code> in it (a value with a copy button).
func (b *Browser) Field(term string) string {
	b.t.Helper()
	var v string
	b.run(chromedp.Evaluate(fmt.Sprintf(`(() => {
		const dt = [...document.querySelectorAll("dt")].find(d => d.textContent.trim() === %q);
		const dd = dt && dt.nextElementSibling;
		if (!dd) return "";
		const code = dd.querySelector("code");
		return (code || dd).textContent.trim();
	})()`, term), &v))
	return v
}

// Viewport sets the page's size in CSS pixels, as a phone's (390 wide)
// or a desktop's.
func (b *Browser) Viewport(width, height int64) {
	b.t.Helper()
	b.run(chromedp.EmulateViewport(width, height))
}
