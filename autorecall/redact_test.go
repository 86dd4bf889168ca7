package autorecall

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
)

// pemKeys are real private keys in the PEM forms openssl writes: PKCS#1
// RSA ("RSA PRIVATE KEY"), SEC 1 EC ("EC PRIVATE KEY", whose first body
// line holds the whole private scalar) and PKCS#8 ("PRIVATE KEY").
func pemKeys(t *testing.T) map[string]string {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	edDER, err := x509.MarshalPKCS8PrivateKey(edKey)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"rsa":   string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})),
		"ec":    string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})),
		"pkcs8": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edDER})),
	}
}

// bodyLines are a PEM block's base64 lines.
func bodyLines(block string) []string {
	var out []string
	for _, l := range strings.Split(block, "\n") {
		if l != "" && !strings.HasPrefix(l, "-----") {
			out = append(out, l)
		}
	}
	return out
}

// TestRedactHidesTheWholePEMBlock: a private key pasted into text (an
// alert's summary, a command, an audit note) is redacted from its BEGIN
// line through its END line, not the BEGIN line alone; cut off before its
// END line (an excerpt, a summary cut to length), to the end of the text.
// The text around it stays.
func TestRedactHidesTheWholePEMBlock(t *testing.T) {
	r := NewRedactor(nil)
	for name, key := range pemKeys(t) {
		body := bodyLines(key)
		cases := map[string]string{
			"whole":         "before " + key + " after",
			"crlf":          "before " + strings.ReplaceAll(key, "\n", "\r\n") + "after",
			"cut off":       "before " + key[:len(key)*2/3],
			"on one line":   "before " + strings.ReplaceAll(key, "\n", " ") + " after",
			"twice":         key + "between\n" + key,
			"zero-width in": "before " + strings.Replace(key, "BEGIN", "BE\u200bGIN", 1) + " after",
		}
		for shape, text := range cases {
			got := r.Redact(text)
			for _, l := range body {
				if len(l) >= 8 && strings.Contains(got, l[:min(len(l), 24)]) {
					t.Errorf("%s key, %s: a body line survived redaction:\n%s", name, shape, got)
					break
				}
			}
			if !strings.HasPrefix(got, "before ") && shape != "twice" || !strings.Contains(got, Redacted) {
				t.Errorf("%s key, %s: Redact = %q", name, shape, got)
			}
			if strings.HasSuffix(text, " after") && !strings.HasSuffix(got, " after") {
				t.Errorf("%s key, %s: the text after the key went too: %q", name, shape, got)
			}
		}
	}
	if got := r.Redact("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQ\n-----END PUBLIC KEY-----"); strings.Contains(got, Redacted) {
		t.Errorf("a public key was redacted: %q", got)
	}
}
