#include "net/nft.h"

// Only the types and constants: the functions come from dynlib (see base/dynlib.h).
#include <nftables/libnftables.h>
// The ruleset generation is asked with a bare netlink request (libmnl), not libnftables.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <time.h>

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

Result<uint32_t> generation() {
  std::unique_ptr<mnl_socket, int (*)(mnl_socket*)> nl(mnl_socket_open(NETLINK_NETFILTER),
                                                       mnl_socket_close);
  if (!nl || mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) != 0)
    return fail(sys_error(errno, "nftables: open a netfilter netlink socket"));
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  uint32_t seq = static_cast<uint32_t>(time(nullptr));
  nlh->nlmsg_seq = seq;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_UNSPEC;
  nfg->version = NFNETLINK_V0;
  nfg->res_id = 0;
  if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0)
    return fail(sys_error(errno, "nftables: ask the ruleset generation"));
  std::optional<uint32_t> gen;
  auto cb = [](const nlmsghdr* h, void* data) -> int {
    auto* out = static_cast<std::optional<uint32_t>*>(data);
    mnl_attr_parse(
        h, sizeof(nfgenmsg),
        [](const nlattr* a, void* d) -> int {
          if (mnl_attr_get_type(a) == NFTA_GEN_ID && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
            *static_cast<std::optional<uint32_t>*>(d) = ntohl(mnl_attr_get_u32(a));
          return MNL_CB_OK;
        },
        out);
    return MNL_CB_OK;
  };
  ssize_t n = mnl_socket_recvfrom(nl.get(), buf, sizeof buf);
  if (n < 0) return fail(sys_error(errno, "nftables: read the ruleset generation"));
  if (mnl_cb_run(buf, static_cast<size_t>(n), seq, mnl_socket_get_portid(nl.get()), cb, &gen) < 0)
    return fail(sys_error(errno, "nftables: read the ruleset generation"));
  if (!gen) return fail(make_error(ErrorKind::kInternal, "nftables: no generation in the answer"));
  return *gen;
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
