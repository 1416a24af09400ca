#include "image/overlay_plan.h"

#include <gtest/gtest.h>

namespace berth::image {
namespace {

std::vector<OverlayLayer> layers(int n, const std::string& root = "/var/lib/berth") {
  std::vector<OverlayLayer> out;
  for (int i = 0; i < n; ++i) {
    std::string hex = std::string(60, 'a') + fmt::format("{:04d}", i);
    out.push_back({root + "/layers/" + hex, hex.substr(0, 12)});
  }
  return out;
}

TEST(OverlayPlan, AppendFormListsTopLayerFirstWithoutLimit) {
  OverlayCaps caps;
  auto p = plan_overlay(layers(300), "/u", "/w", caps);
  ASSERT_TRUE(p) << p.error().text();
  EXPECT_EQ(p->form, OverlayPlan::Form::kAppend);
  ASSERT_EQ(p->params.size(), 303u);
  EXPECT_EQ(p->params[0].first, "lowerdir+");
  EXPECT_NE(p->params[0].second.find("0299"), std::string::npos);  // top first
  EXPECT_NE(p->params[299].second.find("0000"), std::string::npos);
  EXPECT_EQ(p->params[300], (std::pair<std::string, std::string>{"upperdir", "/u"}));
}

TEST(OverlayPlan, LegacyFormsFitThePage) {
  OverlayCaps caps;
  caps.lowerdir_append = false;
  caps.root_fd_path = "/proc/self/fd/9";
  auto few = plan_overlay(layers(3), "/u", "/w", caps);
  ASSERT_TRUE(few);
  EXPECT_EQ(few->form, OverlayPlan::Form::kAbsolute);
  EXPECT_EQ(few->data.rfind("lowerdir=/var/lib/berth/layers/", 0), 0u);
  EXPECT_NE(few->data.find(",upperdir=/u,workdir=/w"), std::string::npos);

  auto many = plan_overlay(layers(120), "/u", "/w", caps);
  ASSERT_TRUE(many) << many.error().text();
  EXPECT_EQ(many->form, OverlayPlan::Form::kShort);
  EXPECT_LT(many->data.size(), 4096u);
  EXPECT_EQ(many->data.rfind("lowerdir=/proc/self/fd/9/l/", 0), 0u);

  auto too_many = plan_overlay(layers(200), "/u", "/w", caps);
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().kind(), ErrorKind::kUnavailable);
}

TEST(OverlayPlan, VolatileOnlyWhenAskedInEveryForm) {
  OverlayCaps caps;
  auto plain = plan_overlay(layers(2), "/u", "/w", caps);
  ASSERT_TRUE(plain);
  for (const auto& [k, v] : plain->params) EXPECT_NE(k, "volatile");
  auto vol = plan_overlay(layers(2), "/u", "/w", caps, {.volatile_upper = true});
  ASSERT_TRUE(vol);
  EXPECT_EQ(vol->params.back(), (std::pair<std::string, std::string>{"volatile", ""}));

  caps.lowerdir_append = false;
  auto legacy = plan_overlay(layers(2), "/u", "/w", caps, {.volatile_upper = true});
  ASSERT_TRUE(legacy);
  EXPECT_NE(legacy->data.find(",index=off,volatile"), std::string::npos);
  auto legacy_plain = plan_overlay(layers(2), "/u", "/w", caps);
  ASSERT_TRUE(legacy_plain);
  EXPECT_EQ(legacy_plain->data.find("volatile"), std::string::npos);
}

TEST(OverlayPlan, RejectsBadInput) {
  OverlayCaps caps;
  EXPECT_FALSE(plan_overlay({}, "/u", "/w", caps));
  EXPECT_FALSE(plan_overlay(layers(1), "/u,x", "/w", caps));
  EXPECT_FALSE(plan_overlay(layers(501), "/u", "/w", caps));
  caps.lowerdir_append = false;
  caps.root_fd_path = "/proc/self/fd/3";
  auto colon = plan_overlay({{"/a:b", "x"}}, "/u", "/w", caps);
  ASSERT_TRUE(colon);  // the absolute path has ':' so the short links are used
  EXPECT_EQ(colon->form, OverlayPlan::Form::kShort);
}

}  // namespace
}  // namespace berth::image
