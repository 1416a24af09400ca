// berth-monitor CONFIG READY_FD: the per-container monitor of a detached container (see
// src/engine/monitor.h). Started by berth, double-forked, in its own session.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "base/file.h"
#include "base/log.h"
#include "base/path.h"
#include "base/strings.h"
#include "engine/engine_exit.h"
#include "engine/monitor.h"

int main(int argc, char** argv) {
  using namespace berth;
  if (argc != 3) {
    fprintf(stderr, "usage: berth-monitor CONFIG READY_FD\n");
    return 2;
  }
  int ready = static_cast<int>(parse_int(argv[2]).value_or(-1));
  auto say = [&](const std::string& s) {
    if (ready < 0) return;
    (void)!::write(ready, s.data(), s.size());
    ::close(ready);
    ready = -1;
  };
  auto text = file::read(argv[1]);
  if (!text) {
    say("error 125 " + text.error().text());
    return 1;
  }
  auto cfg = engine::parse_monitor_config(*text);
  if (!cfg) {
    say("error 125 " + cfg.error().text());
    return 1;
  }
  // Exec'd processes and health checks whose parent is gone come back to us to be reaped.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  (void)file::write_atomic(path::join(cfg->monitor_dir, "pid"), std::to_string(getpid()), 0644,
                           false);
  log::set_program("berth-monitor");
  engine::MonitorIo io;
  io.started = [&](const Result<void>& r) {
    if (r) {
      say("ok\n");
    } else {
      say(fmt::format("error {} {}", engine::exit_code_for(r.error()), r.error().text()));
    }
  };
  auto code = engine::run_monitor(*cfg, io);
  return code ? 0 : 1;
}
