// probe: a small static program that runs inside test containers and reports what it sees
// (crun's tests/init.c, youki's runtimetest). One word per check; output is plain lines the
// integration tests compare.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static int fds(void) {
  // Every open fd but the one reading the directory.
  DIR* d = opendir("/proc/self/fd");
  if (!d) {
    perror("opendir /proc/self/fd");
    return 1;
  }
  int self = dirfd(d);
  struct dirent* e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd == self) continue;
    char p[64], t[4096];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(p, t, sizeof t - 1);
    t[n < 0 ? 0 : n] = 0;
    printf("%d %s\n", fd, t);
  }
  closedir(d);
  return 0;
}

static int open_exe(const char* pid) {
  char p[64];
  snprintf(p, sizeof p, "/proc/%s/exe", pid);
  int fd = open(p, O_PATH);
  if (fd < 0) {
    printf("denied %s\n", strerror(errno));
    return 0;
  }
  char t[4096];
  snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(p, t, sizeof t - 1);
  t[n < 0 ? 0 : n] = 0;
  printf("opened %s\n", t);
  return 0;
}

static int rlimit(const char* name) {
  struct {
    const char* n;
    int r;
  } table[] = {{"NOFILE", RLIMIT_NOFILE},
               {"NPROC", RLIMIT_NPROC},
               {"CORE", RLIMIT_CORE},
               {"STACK", RLIMIT_STACK},
               {"MEMLOCK", RLIMIT_MEMLOCK}};
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    if (strcmp(table[i].n, name) == 0) {
      struct rlimit rl;
      getrlimit(table[i].r, &rl);
      printf("%llu %llu\n", (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
      return 0;
    }
  }
  return 2;
}

static int ids(void) {
  gid_t g[64];
  int n = getgroups(64, g);
  mode_t m = umask(0);
  printf("uid=%d gid=%d umask=%04o groups=", getuid(), getgid(), m);
  for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", g[i]);
  printf("\n");
  return 0;
}

static volatile sig_atomic_t got;
static void on_sig(int s) { got = s; }

// Waits for a signal and prints it (kill tests). Prints "ready" first.
static int wait_signal(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sig;
  for (int s = 1; s < 32; s++)
    if (s != SIGKILL && s != SIGSTOP) sigaction(s, &sa, NULL);
  printf("ready\n");
  fflush(stdout);
  while (!got) pause();
  printf("signal %d\n", (int)got);
  return 0;
}

static int try_syscall(const char* name) {
  long r = -1;
  if (strcmp(name, "getcwd") == 0) {
    char b[256];
    r = syscall(SYS_getcwd, b, sizeof b);
  } else if (strcmp(name, "mkdir") == 0) {
    r = syscall(SYS_mkdir, "/tmp/probe-mkdir", 0755);
  } else if (strcmp(name, "uname") == 0) {
    struct utsname u;
    r = syscall(SYS_uname, &u);
  } else if (strcmp(name, "chmod") == 0) {
    r = syscall(SYS_chmod, "/", 0755);
  } else {
    return 2;
  }
  printf("%s %s\n", r < 0 ? "errno" : "ok", r < 0 ? strerrorname_np(errno) : "0");
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr,
            "usage: probe fds|exe PID|cwd|rlimit NAME|ids|wait-signal|syscall NAME|exit N\n");
    return 2;
  }
  const char* c = argv[1];
  if (!strcmp(c, "fds")) return fds();
  if (!strcmp(c, "exe") && argc > 2) return open_exe(argv[2]);
  if (!strcmp(c, "cwd")) {
    char b[4096];
    printf("%s\n", getcwd(b, sizeof b) ? b : strerror(errno));
    return 0;
  }
  if (!strcmp(c, "rlimit") && argc > 2) return rlimit(argv[2]);
  if (!strcmp(c, "ids")) return ids();
  if (!strcmp(c, "wait-signal")) return wait_signal();
  if (!strcmp(c, "syscall") && argc > 2) return try_syscall(argv[2]);
  if (!strcmp(c, "exit") && argc > 2) return atoi(argv[2]);
  return 2;
}
