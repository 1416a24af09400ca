// Stand-ins, in the static `berth` only, for the glibc functions that a static program can
// use only through glibc's shared libraries (NSS modules, the dynamic loader): the linker
// warns about each one a static link pulls in. Nothing in the static berth calls them: name
// resolution (registries) and shared libraries (libcurl, libnftables) are berth-dynamic's
// (base/dynlib.h). They are referenced only from library code berth does not use: SQLite's
// extension loading, and libnl-3's address and protocol-name helpers. Should one be called
// after all, it fails plainly instead of loading shared code into a static process.
// dlopen is replaced with the linker's --wrap (CMakeLists.txt): glibc's own static code
// always links its dlopen, so a second definition would not keep the warning away.
#include <errno.h>
#include <netdb.h>

extern "C" {

void* __wrap_dlopen(const char*, int) { return nullptr; }

int getaddrinfo(const char*, const char*, const addrinfo*, addrinfo** res) {
  if (res) *res = nullptr;
  errno = ENOSYS;
  return EAI_SYSTEM;
}
void freeaddrinfo(addrinfo*) {}
protoent* getprotobyname(const char*) { return nullptr; }
protoent* getprotobynumber(int) { return nullptr; }

}  // extern "C"
