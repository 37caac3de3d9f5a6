package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServesPayloadUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-size", "200"}, pw) }()
	url, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("read url: %v", err)
	}
	url = strings.TrimSpace(url)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("url %q: want a loopback URL", url)
	}
	for range 3 { // keep-alive: the same connection serves them all
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || len(body) != 200 || body[0] != '{' || body[199] != '}' {
			t.Fatalf("status %d, %d bytes %q, err %v: want 200 and a 200-byte JSON document", resp.StatusCode, len(body), body, err)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}

func TestRejectsTinySize(t *testing.T) {
	err := run(context.Background(), []string{"-size", "3"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-size 3") {
		t.Fatalf("err %v: want one naming -size 3", err)
	}
}
