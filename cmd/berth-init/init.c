// berth-init: the tiny init of `berth run --init` (mounted at /dev/init). It runs the command
// as its child, forwards every signal it gets to it, reaps every zombie (it is PID 1), and
// exits with the command's status. Freestanding (raw system calls), a few KB.
//   usage: /dev/init -- COMMAND [ARGS...]

typedef long s64;
typedef unsigned long u64;

#define SYS_write 1
#define SYS_rt_sigaction 13
#define SYS_rt_sigprocmask 14
#define SYS_fork 57
#define SYS_execve 59
#define SYS_exit_group 231
#define SYS_wait4 61
#define SYS_kill 62
#define SYS_rt_sigtimedwait 128

static s64 sc4(s64 n, s64 a, s64 b, s64 c, s64 d) {
  s64 r;
  register s64 r10 __asm__("r10") = d;
  __asm__ volatile("syscall"
                   : "=a"(r)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
                   : "rcx", "r11", "memory");
  return r;
}

static void out(const char* s) {
  u64 n = 0;
  while (s[n]) n++;
  sc4(SYS_write, 2, (s64)s, (s64)n, 0);
}

static void quit(int code) {
  sc4(SYS_exit_group, code, 0, 0, 0);
  for (;;) {
  }
}

// execve with the PATH search of execvp: a name without '/' is tried in each PATH entry
// (the environment's, else the usual default). Returns the most telling error.
static s64 exec_path(const char* file, char** argv, char** envp) {
  const char* p = file;
  while (*p && *p != '/') p++;
  if (*p == '/') return sc4(SYS_execve, (s64)file, (s64)argv, (s64)envp, 0);
  const char* path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (char** e = envp; *e; e++) {
    const char* v = *e;
    if (v[0] == 'P' && v[1] == 'A' && v[2] == 'T' && v[3] == 'H' && v[4] == '=') path = v + 5;
  }
  s64 err = -2;  // ENOENT
  char buf[4096];
  while (1) {
    u64 n = 0;
    while (path[n] && path[n] != ':') n++;
    u64 f = 0;
    while (file[f]) f++;
    if (n + 1 + f + 1 <= sizeof buf) {
      u64 k = 0;
      for (u64 i = 0; i < n; i++) buf[k++] = path[i];
      if (n == 0) buf[k++] = '.';
      buf[k++] = '/';
      for (u64 i = 0; i <= f; i++) buf[k++] = file[i];
      s64 r = sc4(SYS_execve, (s64)buf, (s64)argv, (s64)envp, 0);
      if (r != -2 && r != -20 /* ENOTDIR */) err = r;  // EACCES and others win over ENOENT
    }
    if (!path[n]) break;
    path += n + 1;
  }
  return err;
}

__attribute__((used)) static void init_main(long argc, char** argv, char** envp) {
  int first = 1;
  if (argc > 1 && argv[1][0] == '-' && argv[1][1] == '-' && argv[1][2] == 0) first = 2;
  if (first >= argc) {
    out("berth-init: usage: /dev/init -- COMMAND [ARGS...]\n");
    quit(125);
  }
  u64 all = ~0UL, none = 0;
  sc4(SYS_rt_sigprocmask, 0 /* SIG_BLOCK */, (s64)&all, 0, 8);
  s64 child = sc4(SYS_fork, 0, 0, 0, 0);
  if (child == 0) {
    sc4(SYS_rt_sigprocmask, 2 /* SIG_SETMASK */, (s64)&none, 0, 8);
    s64 r = exec_path(argv[first], argv + first, envp);
    out("berth-init: exec ");
    out(argv[first]);
    out(" failed\n");
    quit(r == -2 ? 127 : 126);
  }
  if (child < 0) quit(125);
  for (;;) {
    char info[128];
    s64 sig = sc4(SYS_rt_sigtimedwait, (s64)&all, (s64)info, 0, 8);
    if (sig < 0) continue;
    if (sig != 17 /* SIGCHLD */) {
      sc4(SYS_kill, child, sig, 0, 0);
      continue;
    }
    for (;;) {
      int status = 0;
      s64 pid = sc4(SYS_wait4, -1, (s64)&status, 1 /* WNOHANG */, 0);
      if (pid <= 0) break;
      if (pid == child) {
        if ((status & 0x7f) == 0) quit((status >> 8) & 0xff);
        quit(128 + (status & 0x7f));
      }
    }
  }
}

__asm__(
    ".text\n"
    ".global _start\n"
    "_start:\n"
    "  xor %rbp, %rbp\n"
    "  mov (%rsp), %rdi\n"
    "  lea 8(%rsp), %rsi\n"
    "  lea 16(%rsp,%rdi,8), %rdx\n"
    "  and $-16, %rsp\n"
    "  call init_main\n"
    "  hlt\n");
