// berth-agent: /init of a berth VM's initramfs (see src/vm/agent/agent.h).
#include "vm/agent/agent.h"

int main() { return berth::vm::agent::main(); }
