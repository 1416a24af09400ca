/* Embeds the guest agent (cmd/berth-agent, a static binary) into berth_vm: it becomes /init
   of the initramfs, so berth-runtime needs no file beside itself but the kernel. */
    .section .rodata
    .global berth_agent_start
    .global berth_agent_end
    .balign 16
berth_agent_start:
    .incbin BERTH_AGENT_PATH
berth_agent_end:
    .section .note.GNU-stack,"",@progbits
