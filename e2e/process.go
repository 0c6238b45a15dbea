package e2e

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Kill kills the server with SIGKILL, as a crash or the OOM killer would,
// and waits for it to be gone. The harness then treats it as stopped; the
// log and data are searched for secrets as at a normal stop.
func (s *Server) Kill() {
	s.t.Helper()
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	s.mu.Unlock()
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
	s.checkSecrets()
}

// PID is the server's process ID.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// PeakRSS returns the most resident memory the running server has used so
// far, in bytes (VmHWM of /proc/<pid>/status, Linux), or 0 when unknown.
func (s *Server) PeakRSS() int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(s.PID()) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
