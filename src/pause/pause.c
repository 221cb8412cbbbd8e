/* kn-pause: holds a pod's namespaces, like Kubernetes' pause container.
 *
 * It does nothing but wait: SIGINT/SIGTERM end it, SIGCHLD reaps any child that ends up
 * parented to it. kn-lab starts it already inside the pod's network namespace with fresh UTS
 * and IPC namespaces; containers join those through /proc/<pid>/ns. Built static (no shared
 * libraries to map) so that each pod costs well under 1 MB of memory. */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_term(int sig) {
  (void)sig;
  _exit(0);
}

static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_term;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sa.sa_handler = on_child;
  sa.sa_flags = SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  for (;;) pause();
}
