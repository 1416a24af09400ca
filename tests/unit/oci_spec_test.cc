#include <gtest/gtest.h>

#include "oci/spec.h"
#include "oci/state.h"

namespace berth::oci {
namespace {

TEST(Spec, ParsesTheDefaultSpec) {
  auto s = parse_spec(default_spec(false).dump());
  ASSERT_TRUE(s) << s.error().text();
  EXPECT_EQ(s->root.path, "rootfs");
  EXPECT_TRUE(s->root.readonly);
  ASSERT_TRUE(s->process);
  EXPECT_EQ(s->process->args, std::vector<std::string>{"sh"});
  EXPECT_EQ(s->process->rlimits[0].type, "RLIMIT_NOFILE");
  EXPECT_EQ(s->linux.namespaces.size(), 6u);
  EXPECT_TRUE(s->process->capabilities->bounding & (1ULL << 5));  // CAP_KILL
  EXPECT_TRUE(validate(*s));
}

TEST(Spec, ReadsADocumentInMemoryAsItsText) {
  // A spec built in memory holds whole numbers as signed integers; parsed text as unsigned.
  nlohmann::json j = default_spec(false);
  j["linux"]["resources"] = {{"cpu", {{"period", 100000}, {"quota", 50000}, {"shares", 512}}},
                             {"pids", {{"limit", 33}}}};
  j["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  auto mem = spec_from_json(j);
  ASSERT_TRUE(mem) << mem.error().text();
  auto text = parse_spec(j.dump());
  ASSERT_TRUE(text) << text.error().text();
  EXPECT_EQ(mem->linux.resources->cpu->period, 100000u);
  EXPECT_EQ(mem->linux.resources->cpu->period, text->linux.resources->cpu->period);
  EXPECT_EQ(mem->linux.resources->cpu->shares, text->linux.resources->cpu->shares);
  EXPECT_EQ(mem->process->user.uid, 1000u);
  EXPECT_EQ(mem->process->user.uid, text->process->user.uid);
  // Negative is still no unsigned number.
  j["process"]["user"]["uid"] = -1;
  EXPECT_FALSE(spec_from_json(j));
}

TEST(Spec, IgnoresUnknownPropertiesAndNames) {
  auto s = parse_spec(R"({"ociVersion":"1.2.0","root":{"path":"r"},"futureThing":{"x":1},
    "linux":{"resources":{"memory":{"limit":1048576},"pids":{"limit":10},
     "devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}]},
     "cgroupsPath":"/a/b"}})");
  ASSERT_TRUE(s) << s.error().text();
  EXPECT_EQ(*s->linux.resources->memory->limit, 1048576);
  EXPECT_EQ(*s->linux.resources->pids_limit, 10);
  EXPECT_EQ(s->linux.resources->devices.size(), 2u);
  EXPECT_EQ(s->linux.resources->devices[1].type, 'c');
  EXPECT_EQ(*s->linux.cgroups_path, "/a/b");
}

TEST(Spec, ErrorsNameTheField) {
  auto check = [](const char* text, const char* field) {
    auto s = parse_spec(text);
    ASSERT_FALSE(s) << text;
    EXPECT_NE(s.error().message().find(field), std::string::npos) << s.error().message();
    EXPECT_EQ(s.error().kind(), ErrorKind::kInvalidArgument);
  };
  check(R"({"ociVersion":"1","process":{"user":{"uid":-1}}})", "process.user.uid");
  check(R"({"ociVersion":"1","process":{"args":"sh"}})", "process.args");
  check(R"({"ociVersion":"1","mounts":[{"type":"tmpfs"}]})", "mounts[0].destination");
  check(R"({"ociVersion":"1","linux":{"namespaces":[{"type":"pid"},{"type":"pid"}]}})",
        "listed twice");
  check(R"({"ociVersion":"1","linux":{"resources":{"devices":[{"allow":true,"access":"rwx"}]}}})",
        "linux.resources.devices[0].access");
  check(R"({"ociVersion":"1","process":{"capabilities":{"effective":["CAP_NOPE"]}}})", "CAP_NOPE");
  check(R"({"ociVersion":"1","process":{"rlimits":[{"type":"RLIMIT_NOFILE","soft":1,"hard":1},
        {"type":"RLIMIT_NOFILE","soft":1,"hard":1}]}})",
        "given twice");
  check("[]", "expected a JSON object");
  check("{", "not valid JSON");
}

TEST(Spec, ValidateCatchesNonsense) {
  auto v = [](const char* text) {
    auto s = parse_spec(text);
    EXPECT_TRUE(s) << s.error().text();
    return validate(*s);
  };
  EXPECT_FALSE(v(R"({"ociVersion":"1","root":{"path":"r"},"process":{"args":["a"],"cwd":"x"}})"));
  EXPECT_FALSE(v(
      R"({"ociVersion":"1","root":{"path":"r"},"linux":{"uidMappings":[{"containerID":0,"hostID":1,"size":1}]}})"));
  EXPECT_FALSE(v(R"({"ociVersion":"1","root":{"path":"r"},"hostname":"h"})"));
  EXPECT_FALSE(
      v(R"({"ociVersion":"1","root":{"path":"r"},"linux":{"rootfsPropagation":"weird"}})"));
  EXPECT_FALSE(v(
      R"({"ociVersion":"1","root":{"path":"r"},"process":{"args":["a"],"rlimits":[{"type":"RLIMIT_CORE","soft":2,"hard":1}]}})"));
  EXPECT_TRUE(v(R"({"ociVersion":"1","root":{"path":"r"},"process":{"args":["a"]}})"));
}

TEST(Spec, CapabilityNames) {
  EXPECT_EQ(*capability_from_name("CAP_SYS_ADMIN"), 21);
  EXPECT_FALSE(capability_from_name("SYS_ADMIN"));
  EXPECT_EQ(capability_name(0), "CAP_CHOWN");
  EXPECT_EQ(rlimit_from_name("RLIMIT_NOFILE"), 7);
  EXPECT_EQ(rlimit_from_name("NOFILE"), -1);
}

TEST(State, RoundTripsAndPrintsOciState) {
  State s;
  s.id = "c1";
  s.status = Status::kRunning;
  s.pid = 42;
  s.bundle = "/b";
  s.annotations["k"] = "v";
  s.pid_start_time = 99;
  s.cgroup_path = "/berth/c1";
  auto back = parse_state(s.to_json());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->pid_start_time, 99u);
  EXPECT_EQ(back->cgroup_path, "/berth/c1");
  auto oci = nlohmann::json::parse(s.oci_json(false));
  EXPECT_EQ(oci["status"], "running");
  EXPECT_EQ(oci["pid"], 42);
  EXPECT_EQ(oci["annotations"]["k"], "v");
  s.status = Status::kStopped;
  EXPECT_EQ(nlohmann::json::parse(s.oci_json(false))["pid"], 0);
}

}  // namespace
}  // namespace berth::oci
