#include "net/nft.h"

// Only the types and constants: the functions come from dynlib (see base/dynlib.h).
#include <nftables/libnftables.h>
// The ruleset generation is asked with a bare netlink request (libnl-3), not libnftables.
#include <arpa/inet.h>
#include <endian.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/dynlib.h"
#include "net/netlink.h"

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
  if (!dynlib::loadable()) {  // the static berth: libnftables runs in berth-dynamic
    BERTH_CHECK(dynlib::run_dynamic({"network", "nft-helper", "run"}, script));
    return {};
  }
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
  if (!dynlib::loadable())
    return dynlib::run_dynamic({"network", "nft-helper", "list", command}, "");
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

namespace {

// The u64, u32 and string attributes of one answer message, by type.
struct Attrs {
  std::map<uint16_t, uint64_t> u64;
  std::map<uint16_t, std::string> str;
  std::map<uint16_t, uint32_t> u32;
};

Attrs attrs_of(const nlmsghdr* h) {
  Attrs out;
  nlattr* a;
  int rem;
  nlmsg_for_each_attr(a, const_cast<nlmsghdr*>(h), sizeof(nfgenmsg), rem) {
    auto type = static_cast<uint16_t>(nla_type(a));
    int len = nla_len(a);
    if (len == 8)
      out.u64[type] = be64toh(nla_get_u64(a));
    else if (len == 4)
      out.u32[type] = ntohl(nla_get_u32(a));
    if (len > 0 && static_cast<const char*>(nla_data(a))[len - 1] == '\0')
      out.str[type] = static_cast<const char*>(nla_data(a));
  }
  return out;
}

// One nf_tables request over a bare netlink socket; on_msg sees every answer's attributes
// (a dump's many). `table`: NFTA_*_TABLE attribute (type `attr`).
Result<void> nft_request(uint16_t msg, uint16_t flags, uint8_t family, uint16_t attr,
                         const std::string& table, const std::function<void(const Attrs&)>& on_msg,
                         std::string_view what) {
  nl::Sock s = BERTH_TRY(nl::connect(NETLINK_NETFILTER));
  nfgenmsg nfg{};
  nfg.nfgen_family = family;
  nfg.version = NFNETLINK_V0;
  nfg.res_id = 0;
  nl::Msg m = BERTH_TRY(nl::message(static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | msg), flags,
                                    &nfg, sizeof nfg));
  if (!table.empty()) nla_put_string(m.get(), attr, table.c_str());
  return nl::exchange(
      s.get(), m.get(), [&](const nlmsghdr* h) { on_msg(attrs_of(h)); },
      fmt::format("nftables: {}", what));
}

}  // namespace

Result<uint32_t> generation() {
  std::optional<uint32_t> gen;
  BERTH_CHECK(nft_request(
      NFT_MSG_GETGEN, 0, AF_UNSPEC, 0, "",
      [&](const Attrs& a) {
        if (auto it = a.u32.find(NFTA_GEN_ID); it != a.u32.end()) gen = it->second;
      },
      "the ruleset generation"));
  if (!gen) return fail(make_error(ErrorKind::kInternal, "nftables: no generation in the answer"));
  return *gen;
}

Result<std::string> table_fingerprint(const std::string& name) {
  std::optional<uint64_t> handle;
  auto got_table = nft_request(
      NFT_MSG_GETTABLE, 0, NFPROTO_IPV4, NFTA_TABLE_NAME, name,
      [&](const Attrs& a) {
        if (auto it = a.u64.find(NFTA_TABLE_HANDLE); it != a.u64.end()) handle = it->second;
      },
      "table " + name);
  if (!got_table) {
    if (got_table.error().sys_errno() == ENOENT) return std::string();
    return fail(std::move(got_table.error()));
  }
  if (!handle) return std::string();
  std::vector<std::string> rules;
  BERTH_CHECK(nft_request(
      NFT_MSG_GETRULE, NLM_F_DUMP, NFPROTO_IPV4, NFTA_RULE_TABLE, name,
      [&](const Attrs& a) {
        auto h = a.u64.find(NFTA_RULE_HANDLE);
        auto c = a.str.find(NFTA_RULE_CHAIN);
        if (h != a.u64.end())
          rules.push_back(fmt::format("{}:{}", c != a.str.end() ? c->second : "", h->second));
      },
      "the rules of table " + name));
  std::sort(rules.begin(), rules.end());
  std::string out = fmt::format("table {}", *handle);
  for (const auto& r : rules) out += " " + r;
  return out;
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
