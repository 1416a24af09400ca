#include "image/overlay_plan.h"

namespace berth::image {
namespace {

// Characters overlayfs treats specially in a lowerdir list or the options string.
bool plain(const std::string& p) { return p.find_first_of(":,\\") == std::string::npos; }

std::string mount_data(const std::vector<std::string>& lowers, const std::string& upper,
                       const std::string& work, const OverlayWants& wants) {
  std::string d = "lowerdir=";
  for (size_t i = 0; i < lowers.size(); ++i) {
    if (i) d += ':';
    d += lowers[i];
  }
  d += ",upperdir=" + upper + ",workdir=" + work + ",index=off";
  if (wants.volatile_upper) d += ",volatile";
  return d;
}

}  // namespace

Result<OverlayPlan> plan_overlay(const std::vector<OverlayLayer>& layers, const std::string& upper,
                                 const std::string& work, const OverlayCaps& caps,
                                 const OverlayWants& wants) {
  if (layers.empty()) return fail(invalid("overlay: no layers"));
  if (layers.size() > kOverlayMaxLayers)
    return fail(make_error(ErrorKind::kUnavailable,
                           "overlay: {} layers is more than the {} "
                           "overlayfs can stack",
                           layers.size(), kOverlayMaxLayers));
  for (const auto& p : {upper, work})
    if (!plain(p)) return fail(invalid("overlay: path {:?} has ':' ',' or '\\'", p));
  OverlayPlan plan;
  // overlayfs lists the top layer first.
  std::vector<std::string> abs, shorts;
  bool abs_plain = true;
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    abs.push_back(it->path);
    abs_plain &= plain(it->path);
    shorts.push_back(caps.root_fd_path + "/l/" + it->short_name);
  }
  if (caps.lowerdir_append) {
    plan.form = OverlayPlan::Form::kAppend;
    for (const auto& a : abs) plan.params.emplace_back("lowerdir+", a);
    plan.params.emplace_back("upperdir", upper);
    plan.params.emplace_back("workdir", work);
    plan.params.emplace_back("index", "off");
    if (wants.volatile_upper) plan.params.emplace_back("volatile", "");
    return plan;
  }
  std::string d = mount_data(abs, upper, work, wants);
  if (abs_plain && d.size() < caps.page_size) {
    plan.form = OverlayPlan::Form::kAbsolute;
    plan.data = std::move(d);
    return plan;
  }
  d = mount_data(shorts, upper, work, wants);
  if (d.size() < caps.page_size && !caps.root_fd_path.empty()) {
    plan.form = OverlayPlan::Form::kShort;
    plan.data = std::move(d);
    return plan;
  }
  return fail(make_error(ErrorKind::kUnavailable,
                         "overlay: {} layers do not fit in one mount option page ({} bytes) and "
                         "this kernel has no lowerdir+",
                         layers.size(), caps.page_size));
}

}  // namespace berth::image
