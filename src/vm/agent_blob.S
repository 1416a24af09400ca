/* Embeds the guest agent (cmd/berth-agent, a static binary) into berth_vm: it becomes /init
   of the initramfs, so berth-runtime needs no file beside itself but the kernel. Its digest
   (computed by the build's cmake/digest.cmake) keys the initramfs cache. */
    .section .rodata
    .global berth_agent_start
    .global berth_agent_end
    .balign 16
berth_agent_start:
    .incbin BERTH_AGENT_PATH
berth_agent_end:
    .global berth_agent_digest
berth_agent_digest:
    .incbin BERTH_AGENT_DIGEST, 0, 64  /* its SHA-256 in hex, computed by the build */
    .section .note.GNU-stack,"",@progbits
