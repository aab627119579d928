package load

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The seed's ammo, copied byte for byte from shared/seed/original-repo/backend/ytank_ammo/:
// LF line ends, sizes counted with CRLF.
const (
	seedGet  = "testdata/seed/ammo_get_100.txt"
	seedPost = "testdata/seed/ammo_post_100.txt"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSeedAmmoGet(t *testing.T) {
	reqs, err := ReadPhantomAmmo(seedGet, readFile(t, seedGet))
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 100 {
		t.Fatalf("%d requests, want 100", len(reqs))
	}
	for i, r := range reqs {
		if r.Method != "GET" || r.Path != "/notes/" || r.Tag != "Normal_Requests" || len(r.Body) != 0 {
			t.Fatalf("request %d = %s %s tag %q body %q", i, r.Method, r.Path, r.Tag, r.Body)
		}
		if r.Header.Get("User-Agent") != "tank" || r.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("request %d headers = %v", i, r.Header)
		}
		if _, ok := r.Header["Host"]; ok {
			t.Fatalf("request %d keeps the seed's Host header: it must be the target's", i)
		}
	}
}

func TestSeedAmmoPost(t *testing.T) {
	data := readFile(t, seedPost)
	reqs, err := ReadPhantomAmmo(seedPost, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 100 {
		t.Fatalf("%d requests, want 100", len(reqs))
	}
	// The Content-Length of each request, in file order, read straight from the file.
	var lengths []int
	for _, m := range regexp.MustCompile(`(?m)^Content-Length: (\d+)\r?$`).FindAllStringSubmatch(string(data), -1) {
		n, _ := strconv.Atoi(m[1])
		lengths = append(lengths, n)
	}
	if len(lengths) != 100 {
		t.Fatalf("%d Content-Length headers in the file, want 100", len(lengths))
	}
	for i, r := range reqs {
		if r.Method != "POST" || r.Path != "/notes/" || r.Tag != "Normal_Requests" {
			t.Fatalf("request %d = %s %s tag %q", i, r.Method, r.Path, r.Tag)
		}
		if len(r.Body) != lengths[i] {
			t.Errorf("request %d: body of %d bytes, Content-Length %d", i, len(r.Body), lengths[i])
		}
		var note struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(r.Body, &note); err != nil || note.Text == "" {
			t.Errorf("request %d: body %q is not a note: %v", i, r.Body, err)
		}
	}
}

// crlfAmmo builds phantom ammo the way Tank's docs do: "%d %s\n%s" with CRLF requests.
func crlfAmmo(reqs ...[2]string) string {
	var b strings.Builder
	for _, r := range reqs {
		fmt.Fprintf(&b, "%d %s\n%s\r\n", len(r[1]), r[0], r[1])
	}
	return b.String()
}

func TestPhantomAmmoCRLF(t *testing.T) {
	get := "GET /notes/?skip=0&take=10 HTTP/1.1\r\nHost: 10.0.0.1:8080\r\nUser-Agent: pghac\r\n\r\n"
	post := "POST /notes/ HTTP/1.1\r\nHost: 10.0.0.1:8080\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"text\":\"hi\"}"
	data := "\n\n" + crlfAmmo([2]string{"get", get}, [2]string{"post", post}) + "\r\n\r\n" + crlfAmmo([2]string{"", get}) + "0\n" + crlfAmmo([2]string{"after-the-end", get})
	reqs, err := ReadPhantomAmmo("ammo.txt", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 (a size-0 chunk ends the ammo)", len(reqs))
	}
	if r := reqs[0]; r.Tag != "get" || r.Method != "GET" || r.Path != "/notes/?skip=0&take=10" || r.Header.Get("User-Agent") != "pghac" {
		t.Errorf("first request = %+v", r)
	}
	if r := reqs[1]; r.Tag != "post" || r.Method != "POST" || string(r.Body) != `{"text":"hi"}` || r.Header.Get("Content-Length") != "" {
		t.Errorf("second request = %+v", r)
	}
	if reqs[2].Tag != "" {
		t.Errorf("untagged request has tag %q", reqs[2].Tag)
	}
}

func TestBundleAmmo(t *testing.T) {
	// What pghac emits for the sandbox (CRLF, tags get and post) must read as it is.
	path := filepath.Join("..", "..", "deploy", "sandbox", "loadtest", "mixed", "ammo.txt")
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skip("no emitted bundle in this tree")
	}
	if err != nil {
		t.Fatal(err)
	}
	reqs, err := ReadPhantomAmmo(path, data)
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]int{}
	for _, r := range reqs {
		tags[r.Tag]++
		if r.Tag == "post" && !json.Valid(r.Body) {
			t.Errorf("post body %q is not JSON", r.Body)
		}
	}
	if tags["get"] == 0 || tags["post"] == 0 || len(tags) != 2 {
		t.Errorf("tags = %v, want get and post", tags)
	}
}

func TestPhantomAmmoErrors(t *testing.T) {
	get := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	tests := []struct {
		name, data, want string
	}{
		{"size past the end", "500 big\n" + get, fmt.Sprintf("ammo.txt:1 (byte 0): request of 500 bytes is larger than the rest of the file (%d bytes)", len(get))},
		{"size too small", fmt.Sprintf("%d a\n%s\n%d b\n%s", len(get)-5, get, len(get), get), fmt.Sprintf("ammo.txt:1 (byte 0): request of %d bytes does not end where the next chunk header", len(get)-5)},
		{"second chunk wrong", crlfAmmo([2]string{"a", get}) + "40 b\n" + get + "tail of something\n", "ammo.txt:6 (byte "},
		{"bad header", "GET / HTTP/1.1\r\n\r\n", `ammo.txt:1 (byte 0): chunk header "GET / HTTP/1.1": want "<size> [tag]"`},
		{"not a request", crlfAmmo([2]string{"x", "HELLO\r\n\r\n"}), `ammo.txt:1 (byte 0): request "HELLO": not an HTTP request`},
		{"body without length", crlfAmmo([2]string{"x", "POST / HTTP/1.1\r\nHost: x\r\n\r\n{\"a\":1}"}), "7 bytes of body but no Content-Length header"},
		{"short body", crlfAmmo([2]string{"x", "POST / HTTP/1.1\r\nContent-Length: 20\r\n\r\n{\"a\":1}"}), "body: unexpected EOF (Content-Length 20)"},
		{"empty", "\n\n", "ammo.txt: no requests in the ammo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadPhantomAmmo("ammo.txt", []byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestURIAmmo(t *testing.T) {
	// The example of Tank's tutorial and Yandex Cloud's payloads/uri.md.
	data := "[Connection: close]\n[Host: target.example.com]\n[Cookie: None]\n/?drg tag1\n/\n/buy tag2\n[Cookie: test]\n/buy/?rt=0&station_to=7&station_from=9\n"
	reqs, err := ReadURIAmmo("uri.txt", []byte(data), http.Header{"User-Agent": {"tank"}, "Cookie": {"default"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ path, tag, cookie string }{
		{"/?drg", "tag1", "None"}, {"/", "", "None"}, {"/buy", "tag2", "None"}, {"/buy/?rt=0&station_to=7&station_from=9", "", "test"},
	}
	if len(reqs) != len(want) {
		t.Fatalf("%d requests, want %d", len(reqs), len(want))
	}
	for i, w := range want {
		r := reqs[i]
		if r.Method != "GET" || r.Path != w.path || r.Tag != w.tag || r.Header.Get("Cookie") != w.cookie ||
			r.Header.Get("Connection") != "close" || r.Header.Get("User-Agent") != "tank" || r.Header.Get("Host") != "" {
			t.Errorf("request %d = %+v, want %+v", i, r, w)
		}
	}
	if _, err := ReadURIAmmo("uri.txt", []byte("[Broken header]\n/\n"), nil); err == nil || !strings.Contains(err.Error(), "uri.txt:1 (byte 0): header") {
		t.Errorf("bad header: error = %v", err)
	}
	if _, err := ReadURIAmmo("uri.txt", []byte("[A: b]\nnot-a-path\n"), nil); err == nil || !strings.Contains(err.Error(), "uri.txt:2 (byte 7)") {
		t.Errorf("bad uri: error = %v", err)
	}
}

func TestURIPostAmmo(t *testing.T) {
	// The example of Yandex Cloud's payloads/uripost.md.
	data := "[Host: example.com]\n[User-Agent: Tank]\n" +
		"5 /route/?rll=50.262025%2C53.276083~50.056015%2C53.495561&origin=1&simplify=1\nclass\n" +
		"6 /route/?rll=50.262025%2C53.276083~50.056015%2C53.495561&origin=1&simplify=1\nhello!\n" +
		"7 /route/?rll=37.565147%2C55.695758~37.412796%2C55.691454&origin=1&simplify=1 tagged\nuripost\n" +
		"0 /empty\n"
	reqs, err := ReadURIPostAmmo("post.txt", []byte(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	bodies := []string{"class", "hello!", "uripost", ""}
	if len(reqs) != len(bodies) {
		t.Fatalf("%d requests, want %d", len(reqs), len(bodies))
	}
	for i, b := range bodies {
		if reqs[i].Method != "POST" || string(reqs[i].Body) != b || reqs[i].Header.Get("User-Agent") != "Tank" {
			t.Errorf("request %d = %+v, want body %q", i, reqs[i], b)
		}
	}
	if reqs[2].Tag != "tagged" || reqs[3].Path != "/empty" {
		t.Errorf("tag %q, path %q", reqs[2].Tag, reqs[3].Path)
	}
	if _, err := ReadURIPostAmmo("post.txt", []byte("[A: b]\n50 /x\nshort\n"), nil); err == nil || !strings.Contains(err.Error(), "post.txt:2 (byte 7): body of 50 bytes is larger than the rest of the file (6 bytes)") {
		t.Errorf("short body: error = %v", err)
	}
	if _, err := ReadURIPostAmmo("post.txt", []byte("five /x\n"), nil); err == nil || !strings.Contains(err.Error(), `chunk header "five /x"`) {
		t.Errorf("bad header: error = %v", err)
	}
}

func TestAccessAmmo(t *testing.T) {
	data := `10.0.0.1 - - [10/Oct/2024:13:55:36 +0000] "GET /notes/?take=5 HTTP/1.1" 200 2326 "-" "curl"
10.0.0.1 - - [10/Oct/2024:13:55:37 +0000] "POST /notes/ HTTP/1.1" 201 10 "-" "curl"
garbage
`
	reqs, skipped, err := ReadAccessAmmo("access.log", []byte(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 1 || reqs[0].Path != "/notes/?take=5" || skipped != 2 {
		t.Errorf("requests %+v, skipped %d", reqs, skipped)
	}
}
