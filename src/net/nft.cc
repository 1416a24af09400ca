#include "net/nft.h"

// Only the types and constants: the functions come from dynlib (see base/dynlib.h).
#include <nftables/libnftables.h>

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "base/dynlib.h"

namespace berth::net::nft {

namespace {

// libnftables' functions, loaded with the library on first use (see base/dynlib.h).
struct NftApi {
  nft_ctx* (*ctx_new)(uint32_t) = nullptr;
  void (*ctx_free)(nft_ctx*) = nullptr;
  void (*ctx_output_set_flags)(nft_ctx*, unsigned int) = nullptr;
  int (*ctx_buffer_output)(nft_ctx*) = nullptr;
  int (*ctx_buffer_error)(nft_ctx*) = nullptr;
  const char* (*ctx_get_output_buffer)(nft_ctx*) = nullptr;
  const char* (*ctx_get_error_buffer)(nft_ctx*) = nullptr;
  int (*run_cmd_from_buffer)(nft_ctx*, const char*) = nullptr;
};

const Result<const NftApi*>& nft_api() {
  static const Result<const NftApi*> api = []() -> Result<const NftApi*> {
    static NftApi a;
    auto slot = [](auto& f) { return reinterpret_cast<void**>(&f); };
    BERTH_CHECK(dynlib::resolve("libnftables.so.1",
                                {{"nft_ctx_new", slot(a.ctx_new)},
                                 {"nft_ctx_free", slot(a.ctx_free)},
                                 {"nft_ctx_output_set_flags", slot(a.ctx_output_set_flags)},
                                 {"nft_ctx_buffer_output", slot(a.ctx_buffer_output)},
                                 {"nft_ctx_buffer_error", slot(a.ctx_buffer_error)},
                                 {"nft_ctx_get_output_buffer", slot(a.ctx_get_output_buffer)},
                                 {"nft_ctx_get_error_buffer", slot(a.ctx_get_error_buffer)},
                                 {"nft_run_cmd_from_buffer", slot(a.run_cmd_from_buffer)}}));
    return &a;
  }();
  return api;
}

struct CtxFree {
  void operator()(nft_ctx* c) const { (*nft_api())->ctx_free(c); }
};
using Ctx = std::unique_ptr<nft_ctx, CtxFree>;

// libnftables keeps global parser state in some versions; one caller at a time per process.
std::mutex& nft_mutex() {
  static std::mutex m;
  return m;
}

Result<Ctx> make_ctx(unsigned flags) {
  const NftApi& nft = *BERTH_TRY(nft_api());
  Ctx ctx(nft.ctx_new(NFT_CTX_DEFAULT));
  if (!ctx) return fail(make_error(ErrorKind::kUnavailable, "libnftables: cannot create context"));
  nft.ctx_output_set_flags(ctx.get(), flags);
  if (nft.ctx_buffer_output(ctx.get()) != 0 || nft.ctx_buffer_error(ctx.get()) != 0)
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
  const NftApi& nft = **nft_api();  // loaded by make_ctx
  if (nft.run_cmd_from_buffer(ctx.get(), script.c_str()) != 0) {
    return fail(make_error(ErrorKind::kSystem, "nftables: {}",
                           first_lines(nft.ctx_get_error_buffer(ctx.get()), 6)));
  }
  return {};
}

Result<std::string> list_json(const std::string& command) {
  std::lock_guard lock(nft_mutex());
  Ctx ctx = BERTH_TRY(make_ctx(NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE));
  const NftApi& nft = **nft_api();  // loaded by make_ctx
  if (nft.run_cmd_from_buffer(ctx.get(), command.c_str()) != 0) {
    return fail(make_error(ErrorKind::kSystem, "nftables {:?}: {}", command,
                           first_lines(nft.ctx_get_error_buffer(ctx.get()), 3)));
  }
  const char* out = nft.ctx_get_output_buffer(ctx.get());
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
