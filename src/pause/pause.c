/* kn-pause: holds a pod's namespaces, like Kubernetes' pause container.
 *
 * It does nothing but wait: SIGINT/SIGTERM end it, SIGCHLD reaps any child that ends up
 * parented to it. kn-lab starts it already inside the pod's network namespace with fresh UTS
 * and IPC namespaces; containers join those through /proc/<pid>/ns. Static (no shared
 * libraries to map), so that each pod costs well under 1 MB of memory.
 *
 * The three signals are blocked and taken one at a time with rt_sigtimedwait: no handler runs,
 * nothing can interrupt anything. With KN_PAUSE_NOLIBC (x86-64 and arm64, set by CMake) it is
 * built without libc, on its own _start and raw system calls: a lab starts one per pod, and
 * glibc's start-up asks the CPU for its cache sizes with cpuid, each an exit to the hypervisor
 * in a VM: 0.5 ms of CPU per pod, a sixth of `up`'s for 200 pods (bench/README). Elsewhere
 * glibc's syscall() makes the calls. */
#include <asm/signal.h>
#include <asm/unistd.h>
#include <linux/wait.h>

#if KN_PAUSE_NOLIBC && defined(__x86_64__)
static long sys4(long n, long a, long b, long c, long d) {
  register long r10 __asm__("r10") = d;
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
  return ret;
}
__asm__(".text\n.globl _start\n_start:\n\txor %ebp, %ebp\n\tand $-16, %rsp\n\tcall kn_pause_main\n\thlt\n");
#elif KN_PAUSE_NOLIBC && defined(__aarch64__)
static long sys4(long n, long a, long b, long c, long d) {
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
  return x0;
}
__asm__(".text\n.globl _start\n_start:\n\tmov x29, #0\n\tmov x30, #0\n\tbl kn_pause_main\n");
#elif KN_PAUSE_NOLIBC
#error "KN_PAUSE_NOLIBC: no system call stub for this architecture"
#else
#include <unistd.h> /* syscall() */
static long sys4(long n, long a, long b, long c, long d) { return syscall(n, a, b, c, d); }
#endif

/* The kernel's signal set: 64 signals in unsigned longs (so right on 32-bit big-endian too). */
#define BITS (8 * sizeof(unsigned long))
typedef struct {
  unsigned long word[64 / BITS];
} sigset64;

static void add(sigset64* set, int sig) { set->word[(sig - 1) / BITS] |= 1UL << ((sig - 1) % BITS); }

__attribute__((used, noreturn)) void kn_pause_main(void) {
  sigset64 set;
  for (unsigned i = 0; i < 64 / BITS; ++i) set.word[i] = 0;
  add(&set, SIGINT);
  add(&set, SIGTERM);
  add(&set, SIGCHLD);
  sys4(__NR_rt_sigprocmask, SIG_BLOCK, (long)&set, 0, sizeof set);
  for (;;) {
    long sig = sys4(__NR_rt_sigtimedwait, (long)&set, 0, 0, sizeof set);
    if (sig == SIGINT || sig == SIGTERM) sys4(__NR_exit_group, 0, 0, 0, 0);
    if (sig == SIGCHLD)
      while (sys4(__NR_wait4, -1, 0, WNOHANG, 0) > 0) {
      }
  }
}

#if !KN_PAUSE_NOLIBC
int main(void) { kn_pause_main(); }
#endif
