// The store on a temp root: import, names, reference counts, garbage collection and check.
#include "image/store.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>

#include "image/archive.h"
#include "image/support/image_support.h"

namespace berth::test {
namespace {

// A tar of a root file system holding one file (rel, content), made in tmp.
std::string tarball_with(const TempDir& tmp, const std::string& rel, const std::string& content,
                         int mode = 0644) {
  std::string src = tmp.path() + "/src";
  write_file(src + "/" + rel, content, mode);
  std::string tarball = tmp.path() + "/rootfs.tar";
  EXPECT_EQ(run({"tar", "-C", src, "-cf", tarball, "."}).exit_code, 0);
  return tarball;
}

TEST(Store, ImportTagRemoveCollectAndCheck) {
  TempDir tmp("berth-test-store");
  std::string tarball = tarball_with(tmp, "bin/tool", "tool\n", 0755);
  auto store = image::Store::open(tmp.path() + "/store");
  ASSERT_TRUE(store) << store.error().text();
  image::Store& s = **store;
  auto img = image::import_rootfs(s, tarball, "tool:v1", {{"CMD [\"/bin/tool\"]"}, ""});
  ASSERT_TRUE(img) << img.error().text();
  auto img2 = image::import_rootfs(s, tarball, "tool:v2");
  ASSERT_TRUE(img2);
  // Same layer, two images: one unpacked directory with two references.
  EXPECT_EQ(img->layers[0].diff_id, img2->layers[0].diff_id);
  EXPECT_EQ(*s.layer_refcount(img->layers[0].diff_id), 2);
  EXPECT_EQ(s.resolve("tool:v1")->manifest, img->manifest);
  EXPECT_EQ(s.resolve("docker.io/library/tool:v1")->manifest, img->manifest);
  EXPECT_EQ(s.resolve(img->config.hex().substr(0, 12))->manifest, img->manifest);
  EXPECT_FALSE(s.resolve("tool:v3"));
  ASSERT_TRUE(s.tag(*img, "other/name:x"));
  EXPECT_EQ(s.resolve("other/name:x")->names.size(), 2u);
  EXPECT_EQ(s.config(*img)->cmd, std::vector<std::string>{"/bin/tool"});

  // A snapshot keeps the image alive.
  auto snap = s.prepare_snapshot(*img, "c1");
  ASSERT_TRUE(snap) << snap.error().text();
  EXPECT_EQ(read_file(snap->rootfs + "/bin/tool"), "tool\n");
  ASSERT_TRUE(s.remove("other/name:x"));  // not the last name: fine
  auto in_use = s.remove("tool:v1");
  EXPECT_FALSE(in_use);
  ASSERT_TRUE(s.remove("tool:v1", true));  // forced: names go, the record stays for c1
  auto gc = s.gc();
  ASSERT_TRUE(gc);
  EXPECT_EQ(gc->layers, 0);
  EXPECT_TRUE(s.check()->ok());
  ASSERT_TRUE(s.remove_snapshot("c1"));
  ASSERT_TRUE(s.remove("tool:v2"));
  gc = s.gc();
  ASSERT_TRUE(gc);
  EXPECT_EQ(gc->layers, 1);
  EXPECT_GE(gc->blobs, 4);
  auto rep = s.check();
  ASSERT_TRUE(rep);
  EXPECT_TRUE(rep->ok());
  EXPECT_TRUE(s.list()->empty());
}

TEST(Store, CheckFindsDamage) {
  TempDir tmp("berth-test-store");
  std::string tarball = tarball_with(tmp, "f", "f\n");
  auto store = image::Store::open(tmp.path() + "/store");
  ASSERT_TRUE(store);
  auto img = image::import_rootfs(**store, tarball, "f:v1");
  ASSERT_TRUE(img);
  ASSERT_TRUE((*store)->check()->ok());
  // A flipped byte in the layer blob.
  std::string blob = (*store)->blobs().path(img->layers[0].blob);
  chmod(blob.c_str(), 0644);
  std::string data = read_file(blob);
  data[10] ^= 1;
  write_file(blob, data);
  auto rep = (*store)->check();
  ASSERT_TRUE(rep);
  ASSERT_EQ(rep->problems.size(), 1u);
  EXPECT_NE(rep->problems[0].find("digest mismatch"), std::string::npos);
  // A missing config blob.
  unlink((*store)->blobs().path(img->config).c_str());
  rep = (*store)->check();
  EXPECT_EQ(rep->problems.size(), 2u);
}

TEST(Store, RemovedSnapshotsAreScrubbedAndReused) {
  // A cleanly unmounted snapshot's tree is emptied and kept under snapshots/.spare/; the next
  // snapshot takes it and sees nothing of the last container. A busy one is removed instead.
  TempDir tmp("berth-test-store");
  std::string tarball = tarball_with(tmp, "etc/motd", "hi\n");
  auto store = image::Store::open(tmp.path() + "/store");
  ASSERT_TRUE(store) << store.error().text();
  image::Store& s = **store;
  auto img = image::import_rootfs(s, tarball, "t:v1");
  ASSERT_TRUE(img) << img.error().text();
  std::string snaps = tmp.path() + "/store/snapshots";
  auto names_in = [&](const std::string& dir) {
    std::vector<std::string> out;
    if (std::filesystem::exists(dir))
      for (const auto& e : std::filesystem::directory_iterator(dir))
        out.push_back(e.path().filename());
    return out;
  };
  auto spares = [&] { return names_in(snaps + "/.spare"); };
  auto trash = [&] { return names_in(snaps + "/.trash"); };

  auto a = s.prepare_snapshot(img.value(), "a",
                              {.mode = image::SnapshotMode::kOverlay, .throwaway = true});
  ASSERT_TRUE(a) << a.error().text();
  // What a container does to its root: files, a deleted image file (a whiteout), and the
  // root's own mode and attributes.
  write_file(a->rootfs + "/new/file", "secret\n");
  ASSERT_EQ(unlink((a->rootfs + "/etc/motd").c_str()), 0);
  ASSERT_EQ(chmod(a->rootfs.c_str(), 0700), 0);
  ASSERT_EQ(setxattr(a->rootfs.c_str(), "user.mark", "1", 1, 0), 0);
  ASSERT_TRUE(s.remove_snapshot("a"));
  EXPECT_FALSE(std::filesystem::exists(snaps + "/a"));
  ASSERT_EQ(spares(), std::vector<std::string>{"a"});
  // overlayfs's own work directory (work/work, with incompat/volatile in it after a volatile
  // mount) is not deleted on the way out but moved to the trash, which empty_trash() empties.
  ASSERT_EQ(trash().size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(snaps + "/.trash/" + trash()[0] + "/incompat/volatile"));
  EXPECT_TRUE(std::filesystem::is_empty(snaps + "/.spare/a/work"));
  s.empty_trash();
  EXPECT_TRUE(trash().empty());

  auto b = s.prepare_snapshot(img.value(), "b",
                              {.mode = image::SnapshotMode::kOverlay, .throwaway = true});
  ASSERT_TRUE(b) << b.error().text();
  EXPECT_TRUE(spares().empty());
  EXPECT_EQ(read_file(b->rootfs + "/etc/motd"), "hi\n");
  EXPECT_FALSE(std::filesystem::exists(b->rootfs + "/new"));
  struct stat st {};
  ASSERT_EQ(stat((snaps + "/b/upper").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  char buf[256];
  EXPECT_LT(getxattr(b->rootfs.c_str(), "user.mark", buf, sizeof buf), 0);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(snaps + "/b/upper"),
                          std::filesystem::directory_iterator{}),
            0);

  // In use (a process's fd inside it): unmounted lazily and removed, never reused.
  int busy = open(b->rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(busy, 0);
  ASSERT_TRUE(s.remove_snapshot("b"));
  close(busy);
  EXPECT_FALSE(std::filesystem::exists(snaps + "/b"));
  EXPECT_TRUE(spares().empty());
  EXPECT_EQ(read_file("/proc/self/mountinfo").find(snaps), std::string::npos);
  EXPECT_TRUE(s.check()->ok());
}

}  // namespace
TEST(Store, ContainerSnapshotsHaveTheBindTargetsBelowTheImage) {
  // A container's snapshot has /proc, /dev, /sys, /etc/hosts, /etc/hostname and
  // /etc/resolv.conf from a bottom layer: mounting and binding on them writes nothing to the
  // container's upper layer. The image's own files win; an image snapshot (`image snapshot create`)
  // has none.
  TempDir tmp("berth-test-store");
  std::string src = tmp.path() + "/src";
  write_file(src + "/etc/hosts", "127.0.0.1 image\n");
  write_file(src + "/bin/tool", "tool\n");
  std::string tarball = tmp.path() + "/rootfs.tar";
  ASSERT_EQ(run({"tar", "-C", src, "-cf", tarball, "."}).exit_code, 0);
  auto store = image::Store::open(tmp.path() + "/store");
  ASSERT_TRUE(store) << store.error().text();
  image::Store& s = **store;
  auto img = image::import_rootfs(s, tarball, "t:v1");
  ASSERT_TRUE(img) << img.error().text();

  auto c = s.prepare_snapshot(*img, "c",
                              {.mode = image::SnapshotMode::kOverlay, .container_files = true});
  ASSERT_TRUE(c) << c.error().text();
  EXPECT_EQ(read_file(c->rootfs + "/etc/hosts"), "127.0.0.1 image\n");
  EXPECT_EQ(read_file(c->rootfs + "/etc/hostname"), "");
  EXPECT_EQ(read_file(c->rootfs + "/etc/resolv.conf"), "");
  for (const char* d : {"/proc", "/dev", "/sys"})
    EXPECT_TRUE(std::filesystem::is_directory(c->rootfs + d)) << d;
  std::string upper = tmp.path() + "/store/snapshots/c/upper";
  ASSERT_EQ(run({"mount", "--bind", "/dev/null", c->rootfs + "/etc/hostname"}).exit_code, 0);
  ASSERT_EQ(umount2((c->rootfs + "/etc/hostname").c_str(), 0), 0);
  EXPECT_TRUE(std::filesystem::is_empty(upper));

  // After a reboot: mounted again on the kept upper layer, the bottom layer included.
  write_file(c->rootfs + "/kept", "kept\n");
  ASSERT_EQ(umount2(c->rootfs.c_str(), 0), 0);
  auto again = s.remount_snapshot(*img, "c", {.container_files = true});
  ASSERT_TRUE(again) << again.error().text();
  EXPECT_EQ(read_file(c->rootfs + "/kept"), "kept\n");
  EXPECT_EQ(read_file(c->rootfs + "/etc/resolv.conf"), "");

  auto i = s.prepare_snapshot(*img, "i", {.mode = image::SnapshotMode::kOverlay});
  ASSERT_TRUE(i) << i.error().text();
  EXPECT_FALSE(std::filesystem::exists(i->rootfs + "/etc/hostname"));
  // A copied snapshot is no mount point, and nothing to mount again.
  auto k = s.prepare_snapshot(*img, "k", {.mode = image::SnapshotMode::kCopy});
  ASSERT_TRUE(k) << k.error().text();
  ASSERT_TRUE(s.remount_snapshot(*img, "k"));
  EXPECT_EQ(read_file(k->rootfs + "/bin/tool"), "tool\n");
  for (const char* key : {"c", "i", "k"}) ASSERT_TRUE(s.remove_snapshot(key)) << key;
  // The layer is the store's own, not an image's: collection and check leave it be.
  ASSERT_TRUE(s.remove("t:v1"));
  ASSERT_TRUE(s.gc());
  auto rep = s.check();
  ASSERT_TRUE(rep);
  EXPECT_TRUE(rep->ok());
}

}  // namespace berth::test
