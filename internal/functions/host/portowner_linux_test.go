package host

import (
	"net"
	"os"
	"os/exec"
	"testing"
)

func TestPortOwner(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if owned, known := portOwner(os.Getpid(), port); !known || !owned {
		t.Errorf("this process's listener: owned %v known %v", owned, known)
	}
	other := exec.Command("sleep", "5")
	if err := other.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	defer func() { other.Process.Kill(); other.Wait() }()
	if owned, known := portOwner(other.Process.Pid, port); !known || owned {
		t.Errorf("another process's listener: owned %v known %v, want known and not owned", owned, known)
	}
	free, _ := freePort()
	if _, known := portOwner(os.Getpid(), free); known {
		t.Errorf("a port nobody listens on is known")
	}
}
