// berth-exec: the last step of every container process, run from a sealed memfd.
//
// The container init is a fork of berth-runtime. If it executed the user's program itself,
// /proc/self/exe of the container process would be the host's berth-runtime binary until that
// exec, and a hostile image could reach it (the runc CVE-2019-5736 class). So the init, after
// all its setup, executes this tiny freestanding program from a memfd instead; from then on
// nothing in the container refers to the host binary. It:
//   1. waits for `start` by reading one byte from the exec fifo (fd argv[1], -1: no wait),
//   2. marks fd argv[4] (-1: none) close-on-exec: whoever waits for end of file on its other
//      end learns that the user's program, not just this helper, is running,
//   3. loads a seccomp BPF program from fd argv[2] (-1: none) with flags argv[3],
//   4. execs argv[5] with argv[6..] and the environment it was given.
// No libc: raw system calls only, so it is a few KB and starts in microseconds.

typedef unsigned long u64;
typedef long s64;

#if defined(__x86_64__)
#define SYS_read 0
#define SYS_write 1
#define SYS_close 3
#define SYS_fstat 5
#define SYS_execve 59
#define SYS_fcntl 72
#define SYS_exit_group 231
#define SYS_seccomp 317
static s64 sc3(s64 n, s64 a, s64 b, s64 c) {
  s64 r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}
#else
#error "berth-exec: add the system call numbers of this architecture"
#endif

#define EINTR 4
#define ENOENT 2

struct sock_filter {
  unsigned short code;
  unsigned char jt, jf;
  unsigned int k;
};
struct sock_fprog {
  unsigned short len;
  struct sock_filter* filter;
};

static struct sock_filter filter_buf[4096];

static u64 slen(const char* s) {
  u64 n = 0;
  while (s[n]) n++;
  return n;
}

static long to_long(const char* s) {
  long v = 0, sign = 1;
  if (*s == '-') {
    sign = -1;
    s++;
  }
  while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return v * sign;
}

static void put(const char* s) { sc3(SYS_write, 2, (s64)s, (s64)slen(s)); }

static const char* err_text(s64 e) {
  switch (e) {
    case 1:
      return "Operation not permitted";
    case 2:
      return "No such file or directory";
    case 7:
      return "Argument list too long";
    case 8:
      return "Exec format error";
    case 12:
      return "Cannot allocate memory";
    case 13:
      return "Permission denied";
    case 20:
      return "Not a directory";
    case 21:
      return "Is a directory";
    case 26:
      return "Text file busy";
    case 40:
      return "Too many levels of symbolic links";
    default:
      return "error";
  }
}

static void die(const char* what, const char* obj, s64 err, int code) {
  put("berth-runtime: ");
  put(what);
  if (obj) {
    put(" ");
    put(obj);
  }
  put(": ");
  put(err_text(err));
  put("\n");
  sc3(SYS_exit_group, code, 0, 0);
  for (;;) {
  }
}

__attribute__((used)) static void helper_main(long argc, char** argv, char** envp) {
  if (argc < 7) die("exec helper", "(usage)", 22, 125);
  long fifo = to_long(argv[1]);
  long sfd = to_long(argv[2]);
  long sflags = to_long(argv[3]);
  long hold = to_long(argv[4]);
  if (fifo >= 0) {
    char b;
    s64 r;
    do {
      r = sc3(SYS_read, fifo, (s64)&b, 1);
    } while (r == -EINTR);
    if (r != 1) die("wait for start", 0, r < 0 ? -r : 5, 125);
    sc3(SYS_close, fifo, 0, 0);
  }
  // Before the filter goes in: a profile may forbid fcntl.
  if (hold >= 0) sc3(SYS_fcntl, hold, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */);
  if (sfd >= 0) {
    u64 got = 0;
    for (;;) {
      s64 r = sc3(SYS_read, sfd, (s64)((char*)filter_buf + got), sizeof(filter_buf) - got);
      if (r == -EINTR) continue;
      if (r < 0) die("read seccomp filter", 0, -r, 125);
      if (r == 0) break;
      got += (u64)r;
    }
    sc3(SYS_close, sfd, 0, 0);
    struct sock_fprog prog = {(unsigned short)(got / sizeof(struct sock_filter)), filter_buf};
    s64 r = sc3(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, sflags, (s64)&prog);
    if (r < 0) die("load seccomp filter", 0, -r, 125);
  }
  s64 r = sc3(SYS_execve, (s64)argv[5], (s64)(argv + 6), (s64)envp);
  die("exec", argv[5], -r, (-r == ENOENT) ? 127 : 126);
}

__asm__(
    ".text\n"
    ".global _start\n"
    "_start:\n"
    "  xor %rbp, %rbp\n"
    "  mov (%rsp), %rdi\n"           // argc
    "  lea 8(%rsp), %rsi\n"          // argv
    "  lea 16(%rsp,%rdi,8), %rdx\n"  // envp = argv + argc + 1
    "  and $-16, %rsp\n"
    "  call helper_main\n"
    "  hlt\n");
