package fetch

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/perfkit/perfkit/bench"
)

// maxPEMBytes bounds a certificate, key or CA file: a system CA bundle is
// a few hundred KiB, and a path such as /dev/zero must not be read forever.
const maxPEMBytes = 16 << 20

// newTLSConfig builds the client's TLS settings: a client certificate (cert,
// with its key from keyPath or from the cert file itself), the CAs servers
// are verified with (caPath; none: the system's), and insecure. Each file
// is read and checked now, so a bad path or file is an error naming it
// before anything runs. Paths are quoted in errors: see pathErr.
func newTLSConfig(certPath, keyPath, caPath string, insecure bool) (*tls.Config, error) {
	cfg := &tls.Config{InsecureSkipVerify: insecure} //nolint:gosec // the user asked for it
	switch {
	case keyPath != "" && certPath == "":
		return nil, fmt.Errorf("param key %q given without cert: give the client certificate too", keyPath)
	case caPath != "" && insecure:
		return nil, errors.New("params cacert and insecure both given: cacert verifies servers with its CAs, insecure skips verification; give one")
	}
	if certPath != "" {
		cert, err := loadClientCert(certPath, keyPath)
		if err != nil {
			return nil, fmt.Errorf("param cert: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if caPath != "" {
		pool, err := loadCAs(caPath)
		if err != nil {
			return nil, fmt.Errorf("param cacert: %w", err)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// loadClientCert reads a certificate and its private key (from keyPath, or
// from the certificate's file when keyPath is empty).
func loadClientCert(certPath, keyPath string) (tls.Certificate, error) {
	certPEM, err := readPEM("client certificate", certPath)
	if err != nil {
		return tls.Certificate{}, err
	}
	if !hasBlock(certPEM, "CERTIFICATE") {
		return tls.Certificate{}, fmt.Errorf("client certificate %q: no PEM certificate in it (want -----BEGIN CERTIFICATE-----)", certPath)
	}
	keyPEM, keyFrom := certPEM, certPath
	if keyPath != "" {
		if keyPEM, err = readPEM("client key", keyPath); err != nil {
			return tls.Certificate{}, err
		}
		keyFrom = keyPath
	}
	if !hasBlock(keyPEM, "PRIVATE KEY") {
		if keyPath == "" {
			return tls.Certificate{}, fmt.Errorf("client certificate %q holds no private key: give its key file as key", certPath)
		}
		return tls.Certificate{}, fmt.Errorf("client key %q: no PEM private key in it (want -----BEGIN ... PRIVATE KEY-----)", keyPath)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("client certificate %q with key %q: %s", certPath, keyFrom, strings.TrimPrefix(err.Error(), "tls: "))
	}
	return cert, nil
}

// loadCAs reads a bundle of PEM CA certificates.
func loadCAs(path string) (*x509.CertPool, error) {
	b, err := readPEM("CA bundle", path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("CA bundle %q: no PEM certificate in it (want -----BEGIN CERTIFICATE-----)", path)
	}
	return pool, nil
}

// readPEM reads a PEM file of at most maxPEMBytes; what names it in errors.
func readPEM(what, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", what, path, pathErr(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPEMBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", what, path, pathErr(err))
	}
	if len(b) > maxPEMBytes {
		return nil, fmt.Errorf("%s %q: larger than %s, more than any PEM file should be", what, path, bench.FormatBytes(maxPEMBytes))
	}
	return b, nil
}

// hasBlock reports whether b holds a PEM block whose type ends with typ
// ("PRIVATE KEY" matches RSA, EC and PKCS#8 keys).
func hasBlock(b []byte, typ string) bool {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return false
		}
		if strings.HasSuffix(blk.Type, typ) {
			return true
		}
	}
}

// serverTLS returns cfg for a connection to host (a URL's host[:port]):
// the name the server's certificate is checked against, and sent as SNI,
// is the URL's host even when connect-to or unix-socket send the
// connection elsewhere.
func serverTLS(cfg *tls.Config, hostport string, alpn []string) *tls.Config {
	c := cfg.Clone()
	c.ServerName = hostOnly(hostport)
	c.NextProtos = alpn
	return c
}
