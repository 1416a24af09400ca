#include "net/nft.h"

#include <nftables/libnftables.h>

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

namespace berth::net::nft {

namespace {

struct CtxFree {
  void operator()(nft_ctx* c) const { nft_ctx_free(c); }
};
using Ctx = std::unique_ptr<nft_ctx, CtxFree>;

// libnftables keeps global parser state in some versions; one caller at a time per process.
std::mutex& nft_mutex() {
  static std::mutex m;
  return m;
}

Result<Ctx> make_ctx(unsigned flags) {
  Ctx ctx(nft_ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) return fail(make_error(ErrorKind::kUnavailable, "libnftables: cannot create context"));
  nft_ctx_output_set_flags(ctx.get(), flags);
  if (nft_ctx_buffer_output(ctx.get()) != 0 || nft_ctx_buffer_error(ctx.get()) != 0)
    return fail(make_error(ErrorKind::kInternal, "libnftables: cannot buffer output"));
  return ctx;
}

std::string first_lines(const char* s, int max_lines) {
  std::string out;
  int lines = 0;
  for (const char* p = s ? s : ""; *p && lines < max_lines; ++p) {
    if (*p == '\n') {
      ++lines;
      out += lines < max_lines ? "; " : "";
      continue;
    }
    out += *p;
  }
  return out;
}

}  // namespace

Result<void> run(const std::string& script) {
  std::lock_guard lock(nft_mutex());
  Ctx ctx = BERTH_TRY(make_ctx(0));
  if (nft_run_cmd_from_buffer(ctx.get(), script.c_str()) != 0) {
    return fail(make_error(ErrorKind::kSystem, "nftables: {}",
                           first_lines(nft_ctx_get_error_buffer(ctx.get()), 6)));
  }
  return {};
}

Result<std::string> list_json(const std::string& command) {
  std::lock_guard lock(nft_mutex());
  Ctx ctx = BERTH_TRY(make_ctx(NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE));
  if (nft_run_cmd_from_buffer(ctx.get(), command.c_str()) != 0) {
    return fail(make_error(ErrorKind::kSystem, "nftables {:?}: {}", command,
                           first_lines(nft_ctx_get_error_buffer(ctx.get()), 3)));
  }
  const char* out = nft_ctx_get_output_buffer(ctx.get());
  return std::string(out ? out : "");
}

Result<bool> table_exists(const std::string& name) {
  std::string text = BERTH_TRY(list_json("list tables ip"));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.contains("nftables"))
    return fail(make_error(ErrorKind::kInternal, "nftables: unreadable JSON listing"));
  for (const auto& item : j["nftables"])
    if (item.contains("table") && item["table"].value("name", "") == name) return true;
  return false;
}

}  // namespace berth::net::nft
