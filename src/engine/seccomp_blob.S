/* Embeds src/engine/data/seccomp_default.json (berth's default seccomp profile). */
    .section .rodata
    .global berth_seccomp_default_start
    .global berth_seccomp_default_end
berth_seccomp_default_start:
    .incbin BERTH_SECCOMP_PROFILE
berth_seccomp_default_end:
    .section .note.GNU-stack,"",@progbits
