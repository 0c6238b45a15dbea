package loginflow

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"time"
)

// CanOpenBrowser says whether a browser can be shown to the person here,
// and why not: not in an SSH session, nor on a Unix without a display.
// getenv reads the environment; goos is runtime.GOOS or its stand-in.
func CanOpenBrowser(getenv func(string) string, goos string) (bool, string) {
	if getenv("SSH_CONNECTION") != "" || getenv("SSH_TTY") != "" {
		return false, "this is an SSH session"
	}
	switch goos {
	case "darwin", "windows":
		return true, ""
	}
	if getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == "" {
		return false, "no graphical display: DISPLAY and WAYLAND_DISPLAY are unset"
	}
	return true, ""
}

// openBrowser opens u in the person's browser.
func (f *Flow) openBrowser(ctx context.Context, u string) error {
	if f.OpenBrowser != nil {
		return f.OpenBrowser(ctx, u)
	}
	var name string
	var args []string
	goos := f.GOOS
	if goos == "" {
		goos = runtime.GOOS
	}
	switch goos {
	case "darwin":
		name, args = "open", []string{u}
	case "windows":
		name, args = "rundll32", []string{"url.dll,FileProtocolHandler", u}
	default:
		name, args = "xdg-open", []string{u}
	}
	cmd := exec.Command(name, args...) // no shell: the URL is one argument
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	case <-time.After(5 * time.Second):
		return nil // still running: a browser is starting in the foreground
	}
}
