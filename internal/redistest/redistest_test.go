package redistest

import "testing"

func TestStartAndKill(t *testing.T) {
	s := Start(t)
	if err := ping(s.Addr); err != nil {
		t.Fatal(err)
	}
	if s.cmd == nil {
		t.Skip("external server: not killing it")
	}
	s.Kill()
	if ping(s.Addr) == nil {
		t.Fatal("still answering after Kill")
	}
	s.Kill()
}
