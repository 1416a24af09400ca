#include "net/nft.h"

// Only the types and constants: the functions come from dynlib (see base/dynlib.h).
#include <nftables/libnftables.h>
// The ruleset generation is asked with a bare netlink request (libmnl), not libnftables.
#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

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

namespace {

// One nf_tables request over a bare netlink socket (libmnl); `on_msg` sees every answer
// message (a dump's many, up to NLMSG_DONE). `table`: NFTA_*_TABLE attribute (type `attr`).
Result<void> nft_request(uint16_t msg, uint16_t flags, uint8_t family, uint16_t attr,
                         const std::string& table, mnl_cb_t on_msg, void* data,
                         std::string_view what) {
  std::unique_ptr<mnl_socket, int (*)(mnl_socket*)> nl(mnl_socket_open(NETLINK_NETFILTER),
                                                       mnl_socket_close);
  if (!nl || mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) != 0)
    return fail(sys_error(errno, "nftables: open a netfilter netlink socket"));
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | msg);
  nlh->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  uint32_t seq = static_cast<uint32_t>(time(nullptr));
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = family;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  if (!table.empty()) mnl_attr_put_strz(nlh, attr, table.c_str());
  if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0)
    return fail(sys_error(errno, "nftables: ask {}", what));
  uint32_t port = mnl_socket_get_portid(nl.get());
  while (true) {
    ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
    if (n < 0) return fail(sys_error(errno, "nftables: read {}", what));
    int r = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq, port, on_msg, data);
    if (r < 0) return fail(sys_error(errno, "nftables: read {}", what));
    if (r == MNL_CB_STOP || !(flags & NLM_F_DUMP)) return {};
  }
}

// The u64, u32 and string attributes of one answer message, by type.
struct Attrs {
  std::map<uint16_t, uint64_t> u64;
  std::map<uint16_t, std::string> str;
  std::map<uint16_t, uint32_t> u32;
};

Attrs attrs_of(const nlmsghdr* h) {
  Attrs out;
  mnl_attr_parse(
      h, sizeof(nfgenmsg),
      [](const nlattr* a, void* d) -> int {
        auto* o = static_cast<Attrs*>(d);
        auto type = mnl_attr_get_type(a);
        if (mnl_attr_validate(a, MNL_TYPE_U64) == 0)
          o->u64[type] = be64toh(mnl_attr_get_u64(a));
        else if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
          o->u32[type] = ntohl(mnl_attr_get_u32(a));
        if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) o->str[type] = mnl_attr_get_str(a);
        return MNL_CB_OK;
      },
      &out);
  return out;
}

}  // namespace

Result<uint32_t> generation() {
  std::optional<uint32_t> gen;
  BERTH_CHECK(nft_request(
      NFT_MSG_GETGEN, 0, AF_UNSPEC, 0, "",
      [](const nlmsghdr* h, void* d) -> int {
        Attrs a = attrs_of(h);
        if (a.u32.contains(NFTA_GEN_ID))
          *static_cast<std::optional<uint32_t>*>(d) = a.u32[NFTA_GEN_ID];
        return MNL_CB_OK;
      },
      &gen, "the ruleset generation"));
  if (!gen) return fail(make_error(ErrorKind::kInternal, "nftables: no generation in the answer"));
  return *gen;
}

Result<std::string> table_fingerprint(const std::string& name) {
  std::optional<uint64_t> handle;
  auto got_table = nft_request(
      NFT_MSG_GETTABLE, 0, NFPROTO_IPV4, NFTA_TABLE_NAME, name,
      [](const nlmsghdr* h, void* d) -> int {
        Attrs a = attrs_of(h);
        if (a.u64.contains(NFTA_TABLE_HANDLE))
          *static_cast<std::optional<uint64_t>*>(d) = a.u64[NFTA_TABLE_HANDLE];
        return MNL_CB_OK;
      },
      &handle, "table " + name);
  if (!got_table) {
    if (got_table.error().sys_errno() == ENOENT) return std::string();
    return fail(std::move(got_table.error()));
  }
  if (!handle) return std::string();
  std::vector<std::string> rules;
  BERTH_CHECK(nft_request(
      NFT_MSG_GETRULE, NLM_F_DUMP, NFPROTO_IPV4, NFTA_RULE_TABLE, name,
      [](const nlmsghdr* h, void* d) -> int {
        Attrs a = attrs_of(h);
        if (a.u64.contains(NFTA_RULE_HANDLE))
          static_cast<std::vector<std::string>*>(d)->push_back(
              fmt::format("{}:{}", a.str[NFTA_RULE_CHAIN], a.u64[NFTA_RULE_HANDLE]));
        return MNL_CB_OK;
      },
      &rules, "the rules of table " + name));
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
