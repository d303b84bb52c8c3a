package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// browser is a headless Chromium driven over the DevTools protocol: the
// Web UI keeps a history long-poll open on a running workflow's page, so
// `chromium --dump-dom` never finds the page idle; a page is read by
// evaluating document.body.innerText until it shows what is expected.
type browser struct {
	cmd  *exec.Cmd
	ws   *websocket.Conn
	mu   sync.Mutex
	next int
}

// chromiumBinary finds Debian's chromium (scripts/install-deps.sh): a
// missing one skips the test locally and fails it in CI.
func chromiumBinary(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found: scripts/install-deps.sh installs it (apt-get install -y --no-install-recommends chromium)")
	}
	t.Skip("chromium not found: apt-get install -y --no-install-recommends chromium")
	return ""
}

var devtoolsLine = regexp.MustCompile(`DevTools listening on (ws://[^\s]+)`)

// startBrowser starts a headless Chromium with a fresh profile and
// attaches to its first page; it is killed on cleanup.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	bin := chromiumBinary(t)
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
		"--remote-debugging-port=0", "--remote-allow-origins=*", "--user-data-dir="+t.TempDir(), "about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	b := &browser{cmd: cmd}
	t.Cleanup(b.close)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := devtoolsLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	var browserWS string
	select {
	case browserWS = <-found:
	case <-time.After(30 * time.Second):
		t.Fatal("chromium did not print its DevTools address within 30 s")
	}
	host := strings.TrimPrefix(browserWS, "ws://")
	host = host[:strings.Index(host, "/")]
	pageWS, err := firstPage("http://" + host + "/json/list")
	if err != nil {
		t.Fatal(err)
	}
	if b.ws, err = websocket.Dial(pageWS, "", "http://"+host+"/"); err != nil {
		t.Fatalf("attach to chromium's page: %v", err)
	}
	b.ws.MaxPayloadBytes = 64 << 20
	return b
}

func firstPage(listURL string) (string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(listURL)
		if err == nil {
			var targets []struct {
				Type string `json:"type"`
				WS   string `json:"webSocketDebuggerUrl"`
			}
			err = json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
			for _, tg := range targets {
				if tg.Type == "page" && tg.WS != "" {
					return tg.WS, nil
				}
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no page in chromium's %s: %v", listURL, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (b *browser) close() {
	if b.ws != nil {
		b.ws.Close()
	}
	if b.cmd.Process != nil {
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		_ = b.cmd.Wait()
	}
}

// call sends one DevTools command and returns its result, skipping the
// events that arrive meanwhile.
func (b *browser) call(method string, params any, result any) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next++
	id := b.next
	if err := websocket.JSON.Send(b.ws, map[string]any{"id": id, "method": method, "params": params}); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	_ = b.ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		var msg struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := websocket.JSON.Receive(b.ws, &msg); err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		if msg.ID != id {
			continue
		}
		if msg.Error != nil {
			return fmt.Errorf("%s: %s", method, msg.Error.Message)
		}
		if result == nil {
			return nil
		}
		return json.Unmarshal(msg.Result, result)
	}
}

func (b *browser) navigate(t *testing.T, url string) {
	t.Helper()
	if err := b.call("Page.navigate", map[string]any{"url": url}, nil); err != nil {
		t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression in the page and returns its
// value as a string.
func (b *browser) eval(expr string) (string, error) {
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := b.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &res); err != nil {
		return "", err
	}
	if res.Exception != nil {
		return "", errors.New("javascript: " + res.Exception.Text)
	}
	s, _ := res.Result.Value.(string)
	return s, nil
}

// text is what the page shows: document.body.innerText, and that of its
// frames (the Web UI renders markdown in one), "" before it has a body.
func (b *browser) text() string {
	s, _ := b.eval(`(() => {
		let t = document.body ? document.body.innerText : "";
		for (const f of document.querySelectorAll("iframe")) {
			try { t += "\n" + ((f.contentDocument && f.contentDocument.body) ? f.contentDocument.body.innerText : ""); } catch (e) {}
			t += "\n" + (f.getAttribute("srcdoc") || "");
		}
		return t;
	})()`)
	return s
}

// waitText waits until the page shows every one of want, and returns the
// text; it fails the test with what the page showed last.
func (b *browser) waitText(t *testing.T, timeout time.Duration, want ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last string
	for {
		last = b.text()
		missing := ""
		for _, w := range want {
			if !strings.Contains(last, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return last
		}
		select {
		case <-ctx.Done():
			t.Fatalf("after %s the page does not show %q; it shows:\n%s", timeout, missing, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// openTab clicks the page element (a tab, a button, a link) whose text is
// label.
func (b *browser) openTab(t *testing.T, label string) {
	t.Helper()
	got, err := b.eval(`(() => {
		const el = [...document.querySelectorAll('a, button, [role=tab], summary')].find(e => e.innerText.trim() === ` + strconv.Quote(label) + `);
		if (!el) { return "missing"; }
		el.click();
		return "clicked";
	})()`)
	if err != nil || got != "clicked" {
		t.Fatalf("click %q: %s %v; the page shows:\n%s", label, got, err, b.text())
	}
}
