// Volumes, cp, and published ports on the store's own bridge.
#include <unistd.h>

#include <fstream>

#include "engine/engine_fixture.h"

namespace berth::test {
namespace {

using Storage = EngineTest;

TEST_F(Storage, NamedVolumeOutlivesItsContainer) {
  EXPECT_EQ(trim(ok({"volume", "create", "data"})), "data");
  ok({"run", "--network", "none", "--name", "writer", "-v", "data:/data", "busybox", "sh", "-c",
      "echo kept > /data/f"});
  ok({"rm", "writer"});
  EXPECT_EQ(ok({"run", "--rm", "--network", "none", "-v", "data:/data:ro", "busybox", "sh", "-c",
                "cat /data/f; touch /data/g 2>/dev/null || echo ro"}),
            "kept\nro\n");
  auto ls = nlohmann::json::parse(ok({"volume", "ls", "--format", "json"}));
  ASSERT_EQ(ls.size(), 1u);
  EXPECT_EQ(ls[0]["Name"], "data");
  auto vi = nlohmann::json::parse(ok({"volume", "inspect", "data"}));
  std::string mp = vi[0]["Mountpoint"];
  EXPECT_EQ(read_file(mp + "/f"), "kept\n");
  // In use: cannot be removed.
  ok({"run", "-d", "--network", "none", "--name", "user", "-v", "data:/data", "busybox", "sleep",
      "300"});
  CmdResult busy = berth({"volume", "rm", "data"});
  EXPECT_NE(busy.exit_code, 0);
  EXPECT_NE(busy.err.find("data"), std::string::npos) << busy.err;
  ok({"rm", "-f", "user"});
  ok({"volume", "rm", "data"});
  EXPECT_EQ(trim(ok({"volume", "ls", "-q"})), "");
}

TEST_F(Storage, NewVolumeIsFilledFromTheImagePath) {
  // /etc of the image holds passwd and group: a fresh volume there starts with them.
  ok({"run", "--rm", "--network", "none", "-v", "etcvol:/etc", "busybox", "true"});
  auto vi = nlohmann::json::parse(ok({"volume", "inspect", "etcvol"}));
  std::string mp = vi[0]["Mountpoint"];
  EXPECT_NE(read_file(mp + "/passwd").find("root:x:0:0"), std::string::npos);
  // Anonymous volumes go with rm -v; named ones stay; prune removes the unused.
  ok({"run", "--network", "none", "--name", "anon", "-v", "/scratch", "busybox", "true"});
  auto before = nlohmann::json::parse(ok({"volume", "ls", "--format", "json"}));
  EXPECT_EQ(before.size(), 2u);
  ok({"rm", "-v", "anon"});
  auto after = nlohmann::json::parse(ok({"volume", "ls", "--format", "json"}));
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0]["Name"], "etcvol");
  ok({"volume", "prune", "-f"});
  EXPECT_EQ(trim(ok({"volume", "ls", "-q"})), "");
}

TEST_F(Storage, CopyBothWays) {
  ok({"run", "-d", "--network", "none", "--name", "box", "busybox", "sh", "-c",
      "mkdir -p /srv/d && echo inside > /srv/d/a && ln -s /etc/passwd /srv/d/link && "
      "exec sleep 300"});
  ASSERT_TRUE(eventually([&] {
    return berth({"exec", "box", "test", "-f", "/srv/d/a"}).exit_code == 0;
  }));
  std::string dest = root() + "/out";
  ok({"cp", "box:/srv/d", dest});
  EXPECT_EQ(read_file(dest + "/a"), "inside\n");
  char target[256] = {};
  ASSERT_GT(readlink((dest + "/link").c_str(), target, sizeof target - 1), 0);
  EXPECT_STREQ(target, "/etc/passwd");  // copied as a link, never followed on the host
  std::ofstream(root() + "/in.txt") << "from host\n";
  ok({"cp", root() + "/in.txt", "box:/tmp/"});
  EXPECT_EQ(ok({"exec", "box", "cat", "/tmp/in.txt"}), "from host\n");
  // A path that escapes through a symlink stays in the container.
  ok({"exec", "box", "ln", "-s", "/", "/tmp/up"});
  CmdResult esc = berth({"cp", "box:/tmp/up/../../etc/hostname", root() + "/h"});
  if (esc.exit_code == 0) {
    EXPECT_NE(read_file(root() + "/h"), read_file("/etc/hostname"));
  }
  CmdResult missing = berth({"cp", "box:/no/such", root() + "/x"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("/no/such"), std::string::npos) << missing.err;
}

TEST_F(Storage, ExportWritesTheChangedRootfsWithoutVolumes) {
  ok({"run", "--network", "none", "--name", "ex", "-v", "exvol:/vol", "busybox", "sh", "-c",
      "echo changed > /etc/changed && echo in-volume > /vol/v && ln /etc/changed /etc/hard && "
      "rm /bin/vi"});
  std::string tar = root() + "/ex.tar";
  ok({"export", "-o", tar, "ex"});
  CmdResult list = run({"tar", "-tvf", tar});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find(" etc/changed"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find(" etc/hard link to etc/changed"), std::string::npos);
  EXPECT_NE(list.out.find(" bin/sh -> busybox"), std::string::npos);
  EXPECT_EQ(list.out.find(" bin/vi "), std::string::npos) << "a deleted file is not exported";
  EXPECT_EQ(list.out.find("vol/v"), std::string::npos) << "volumes are not part of it";
  CmdResult content = run({"tar", "-xOf", tar, "etc/changed"});
  EXPECT_EQ(content.out, "changed\n");
  // To stdout as well; an unknown container is a clear error and leaves no file.
  CmdResult piped = sh(berth_cmdline() + " export ex | tar -tf - | grep -c etc/changed");
  EXPECT_EQ(piped.out, "1\n");
  CmdResult bad = berth({"export", "-o", root() + "/nope.tar", "nope"});
  EXPECT_EQ(bad.exit_code, 125);
  EXPECT_FALSE(file_exists(root() + "/nope.tar"));
  EXPECT_FALSE(file_exists(root() + "/nope.tar.berth-tmp"));
}

TEST_F(Storage, PublishedPortServesTheHost) {
  // The store's own default bridge (a subnet of its own); a port from the ephemeral range.
  int port = 20000 + (getpid() % 20000);
  std::string www = root() + "/www";
  mkdir(www.c_str(), 0755);
  std::ofstream(www + "/index.html") << "served by berth\n";
  ok({"run", "-d", "--name", "httpd", "-p", "127.0.0.1:" + std::to_string(port) + ":80", "-v",
      www + ":/www:ro", "busybox", "httpd", "-f", "-p", "80", "-h", "/www"});
  EXPECT_EQ(trim(ok({"port", "httpd"})), "80/tcp -> 127.0.0.1:" + std::to_string(port));
  CmdResult got;
  EXPECT_TRUE(eventually([&] {
    got =
        run({"busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:" + std::to_string(port) + "/"});
    return got.out == "served by berth\n";
  })) << got.out
      << got.err;
  auto net = inspect("httpd")["NetworkSettings"]["Networks"];
  ASSERT_EQ(net.size(), 1u) << net.dump();
  // The container has an address and a default route; --network none has only lo.
  EXPECT_NE(ok({"exec", "httpd", "ip", "route"}).find("default via"), std::string::npos);
  EXPECT_EQ(ok({"run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net"}),
            "lo\n");
}

}  // namespace
}  // namespace berth::test
