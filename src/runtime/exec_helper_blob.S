/* Embeds the berth-exec helper binary (built from exec_helper.c) into libberth. */
    .section .rodata
    .global berth_exec_helper_start
    .global berth_exec_helper_end
    .balign 16
berth_exec_helper_start:
    .incbin BERTH_HELPER_PATH
berth_exec_helper_end:
    .section .note.GNU-stack,"",@progbits
