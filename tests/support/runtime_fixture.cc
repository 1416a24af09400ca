#include "support/runtime_fixture.h"

#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace berth::test {

void RuntimeTest::TearDown() {
  // Containers still recorded are force-deleted by ~Runtime; what is left after that leaks.
  CmdResult list = rt({"list", "-q"});
  std::istringstream ids(list.out);
  std::string id;
  while (std::getline(ids, id))
    if (!id.empty()) rt({"delete", "--force", id});
  reap_orphans();
  std::vector<std::string> found = leaks(rt.root());
  for (const auto& l : leaks("/bt-" + std::to_string(getpid()) + "-")) found.push_back(l);
  EXPECT_TRUE(found.empty()) << "left behind:\n"
                             << [&] {
                                  std::string s;
                                  for (auto& f : found) s += f + "\n";
                                  return s;
                                }();
}

std::string RuntimeTest::run_ok(Bundle& b) {
  CmdResult r = rt.run_bundle(b);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

CmdResult RuntimeTest::create_detached(Bundle& b, const std::string& id,
                                       const std::vector<std::string>& extra) {
  b.write();
  std::string cmd =
      std::string(BERTH_RUNTIME_BIN) + " --root " + rt.root() + " create --bundle " + b.dir();
  for (const auto& e : extra) cmd += " " + e;
  cmd += " " + id + " >" + b.dir() + "/out 2>" + b.dir() + "/err";
  CmdResult r = sh(cmd);
  r.err += read_file(b.dir() + "/err");
  return r;
}

std::string RuntimeTest::state_status(const std::string& id) {
  reap_orphans();
  CmdResult r = rt({"state", id});
  if (r.exit_code != 0) return "error: " + r.err;
  return nlohmann::json::parse(r.out)["status"].get<std::string>();
}

std::string RuntimeTest::wait_for_output(const std::string& file, const std::string& text,
                                         int timeout_ms) {
  std::string s;
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    s = read_file(file);
    if (s.find(text) != std::string::npos) return s;
    timespec ts{0, 10 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  return s;
}

}  // namespace berth::test
