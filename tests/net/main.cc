// The net integration tests' main. The binary is also the DNS responder program of the
// networks the tests make (Config::dns_helper = this binary + "network dns-serve"), as the
// berth binary is in production.
#include <gtest/gtest.h>

#include <cstring>

#include "net/dns_server.h"

int main(int argc, char** argv) {
  if (argc >= 3 && strcmp(argv[1], "network") == 0 && strcmp(argv[2], "dns-serve") == 0)
    return berth::net::dns_server_main(std::vector<std::string>(argv + 3, argv + argc));
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
