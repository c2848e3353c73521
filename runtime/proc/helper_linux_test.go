package proc_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kopf/kopf/runtime/proc"
	"golang.org/x/sys/unix"
)

// helperEnv, set to 1, makes the test binary run as a helper process: its
// arguments are steps of a small script (see helper) instead of tests.
const helperEnv = "KOPF_PROC_HELPER"

func init() {
	if os.Getenv(helperEnv) == "1" {
		// Keep the main goroutine on the main thread, so that no goroutine
		// that locks its thread and exits runs there: the runtime cannot end
		// the main thread, and the Pdeathsig test needs those threads to end.
		runtime.LockOSThread()
	}
}

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(helper(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// testOptions gives each Host of the tests, and of their helpers, a
// cgroup name of its own: the tests of other packages may run at the same
// time, below the same cgroup.
func testOptions() proc.Options {
	b := make([]byte, 6)
	rand.Read(b)
	return proc.Options{Name: "kopf-test-" + hex.EncodeToString(b)}
}

// helper runs the steps in args and returns the exit code:
//
//	exit N          exit with code N
//	sleep D         sleep for the duration D
//	say S / err S   write the line S to stdout / stderr
//	cat             copy stdin to stdout
//	raw S / rawerr S  write S, without newline, to stdout / stderr
//	long N          write a line of N 'x's to stdout
//	pid NAME        write "NAME <pid>" to stdout
//	env NAME        write the value of the environment variable NAME
//	burn D          spin on the CPU for the duration D
//	hold N          allocate N MiB and touch every page, kept until the exit
//	ignoreterm      ignore SIGTERM
//	onusr1          catch SIGUSR1, for waitusr1
//	waitusr1        wait for a SIGUSR1
//	spawn M N S...  start the N steps S as a child, not waited for; M is
//	                "group" (same process group) or "setsid" (new session)
//	daemon N        a mini kopf: see miniDaemon
//	init            a mini init in a new PID namespace: see miniInit
//
// held is memory the hold step keeps, so the collector does not free it.
var held []byte

func helper(args []string) int {
	next := func() string {
		if len(args) == 0 {
			fmt.Fprintln(os.Stderr, "helper: missing argument")
			os.Exit(2)
		}
		a := args[0]
		args = args[1:]
		return a
	}
	num := func() int {
		n, err := strconv.Atoi(next())
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(2)
		}
		return n
	}
	var usr1 chan os.Signal
	for len(args) > 0 {
		switch step := next(); step {
		case "exit":
			return num()
		case "sleep":
			d, err := time.ParseDuration(next())
			if err != nil {
				fmt.Fprintln(os.Stderr, "helper:", err)
				return 2
			}
			time.Sleep(d)
		case "burn":
			d, err := time.ParseDuration(next())
			if err != nil {
				fmt.Fprintln(os.Stderr, "helper:", err)
				return 2
			}
			for end := time.Now().Add(d); time.Now().Before(end); {
			}
		case "hold":
			held = make([]byte, num()<<20)
			for i := 0; i < len(held); i += 4096 {
				held[i] = 1
			}
		case "say":
			fmt.Println(next())
		case "cat": // copy stdin to stdout
			io.Copy(os.Stdout, os.Stdin)
		case "err":
			fmt.Fprintln(os.Stderr, next())
		case "raw":
			os.Stdout.WriteString(next())
		case "rawerr":
			os.Stderr.WriteString(next())
		case "long":
			fmt.Println(strings.Repeat("x", num()))
		case "pid":
			fmt.Println(next(), os.Getpid())
		case "env":
			fmt.Println(os.Getenv(next()))
		case "ignoreterm":
			signal.Ignore(syscall.SIGTERM)
		case "onusr1":
			usr1 = make(chan os.Signal, 1)
			signal.Notify(usr1, syscall.SIGUSR1)
		case "waitusr1":
			<-usr1
		case "spawn":
			mode, n := next(), num()
			if n > len(args) {
				fmt.Fprintln(os.Stderr, "helper: spawn: too few steps")
				return 2
			}
			if err := spawn(mode == "setsid", args[:n]); err != nil {
				fmt.Fprintln(os.Stderr, "helper: spawn:", err)
				return 2
			}
			args = args[n:]
		case "daemon":
			return miniDaemon(num())
		case "init":
			return miniInit()
		default:
			fmt.Fprintf(os.Stderr, "helper: unknown step %q\n", step)
			return 2
		}
	}
	return 0
}

// spawn starts the test binary as a helper running steps, with this
// process's stdio, and does not wait for it.
func spawn(setsid bool, steps []string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	p, err := os.StartProcess(exe, append([]string{exe}, steps...), &os.ProcAttr{
		Env:   os.Environ(),
		Files: []*os.File{os.Stdin, os.Stdout, os.Stderr},
		Sys:   &syscall.SysProcAttr{Setsid: setsid},
	})
	if err != nil {
		return err
	}
	return p.Release()
}

// miniDaemon is a kopf that starts long-sleeping children through a Host,
// one from its main goroutine and n from goroutines that lock their OS
// thread and end without unlocking it, which ends the thread. It also
// starts a control child the naive way: os.StartProcess with Pdeathsig from
// such a goroutine. It prints
//
//	children <pid>...   the Host's children
//	tids <tid>...       the threads of the goroutines that called Start
//	control <pid>       the control child
//	ready
//
// and then sleeps until it is killed.
func miniDaemon(n int) int {
	h, err := proc.NewHost(testOptions())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sleeper := proc.Spec{Argv: []string{exe, "sleep", "60s"}, Env: os.Environ()}
	type started struct {
		pid, tid int
		err      error
	}
	res := make(chan started)
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with us
		p, err := os.StartProcess(exe, sleeper.Argv, &os.ProcAttr{
			Env:   sleeper.Env,
			Files: []*os.File{devnull, devnull, devnull},
			Sys:   &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
		})
		if err != nil {
			res <- started{err: err}
			return
		}
		p.Release()
		res <- started{pid: p.Pid, tid: unix.Gettid()}
	}()
	control := <-res
	if control.err != nil {
		fmt.Fprintln(os.Stderr, control.err)
		return 1
	}
	for range n {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread ends with us
			p, err := h.Start(sleeper)
			if err != nil {
				res <- started{err: err}
				return
			}
			res <- started{pid: p.Pid(), tid: unix.Gettid()}
		}()
	}
	p, err := h.Start(sleeper)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	pids, tids := []string{strconv.Itoa(p.Pid())}, []string{strconv.Itoa(control.tid)}
	for range n {
		s := <-res
		if s.err != nil {
			fmt.Fprintln(os.Stderr, s.err)
			return 1
		}
		pids, tids = append(pids, strconv.Itoa(s.pid)), append(tids, strconv.Itoa(s.tid))
	}
	fmt.Println("children", strings.Join(pids, " "))
	fmt.Println("tids", strings.Join(tids, " "))
	fmt.Println("control", control.pid)
	fmt.Println("ready")
	time.Sleep(time.Minute) // the test kills us long before
	return 1
}

// miniInit runs as PID 1 of a new PID and mount namespace. It mounts a
// fresh /proc, starts through a Host a child that spawns a grandchild and
// exits at once with code 5 (the grandchild sleeps 300ms, then exits),
// and prints
//
//	pid <its own pid>
//	exit <code> <signal>        the child's Exit
//	grandchild <pid> reaped     or "... zombie" if still a zombie after 10s
//	zombies <pid>...            every zombie left in the namespace
//
// It exits with 77 when it cannot mount /proc.
func miniInit() int {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fmt.Println("skip: make / private:", err)
		return 77
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		fmt.Println("skip: mount /proc:", err)
		return 77
	}
	fmt.Println("pid", os.Getpid())
	h, err := proc.NewHost(testOptions())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer h.Close() // and its cgroup with it
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	grandchild := make(chan int, 1)
	p, err := h.Start(proc.Spec{
		Argv:          []string{exe, "spawn", "group", "4", "pid", "grandchild", "sleep", "300ms", "exit", "5"},
		Env:           os.Environ(),
		KeepLeftovers: true, // the grandchild is left to the Host's reaping as an orphan
		Output: func(stream, line string) {
			if pid, ok := strings.CutPrefix(line, "grandchild "); ok {
				n, _ := strconv.Atoi(pid)
				grandchild <- n
			}
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	e := <-p.Done()
	fmt.Println("exit", e.Code, int(e.Signal))
	var g int
	select {
	case g = <-grandchild:
	case <-time.After(10 * time.Second):
		fmt.Fprintln(os.Stderr, "the grandchild printed no pid")
		return 1
	}
	verdict := "zombie"
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(fmt.Sprint("/proc/", g)); err != nil {
			verdict = "reaped"
			break
		}
	}
	fmt.Println("grandchild", g, verdict)
	fmt.Println("zombies", strings.Join(zombies(), " "))
	return 0
}

// zombies lists the pids of all zombies in /proc.
func zombies() []string {
	d, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range d {
		if pid, err := strconv.Atoi(e.Name()); err == nil && state(pid) == 'Z' {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out
}

// state is the state letter of /proc/<pid>/stat, or 0 when there is no
// such process.
func state(pid int) byte {
	b, err := os.ReadFile(fmt.Sprint("/proc/", pid, "/stat"))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}
