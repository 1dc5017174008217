/* Reset and exception entry of the self-test image on QEMU's Xtensa "sim" machine (lx106 core,
 * call0 ABI). The machine starts at 0x50000000 (its system ROM) whatever the ELF entry says, so
 * the .reset section, linked there, jumps to xt_start in system RAM (0x60000000), where the
 * rest of the image lives. Every exception vector goes to xt_fault, which reports the cause
 * through semihosting and ends the run (a crash fails the test at once instead of hanging). */

    .section .reset, "ax"
    .global xt_reset
    .align 4
xt_reset:
    j       1f
    .align 4
2:  .word   xt_start                /* l32r reads literals below the instruction */
1:  l32r    a2, 2b
    jx      a2

/* Vector offsets from VECBASE of the lx106 configuration: debug 0x10, NMI 0x20, kernel
 * exception 0x30, user exception 0x50, double exception 0x70. */
    .section .vectors, "ax"
    .align  256
    .global xt_vectors
xt_vectors:
    .org    xt_vectors + 0x10
    j       xt_fault_entry
    .org    xt_vectors + 0x20
    j       xt_fault_entry
    .org    xt_vectors + 0x30
    j       xt_fault_entry
    .org    xt_vectors + 0x50
    j       xt_fault_entry
    .org    xt_vectors + 0x70
    j       xt_fault_entry
    .literal_position               /* movi's literals (assembled with -mtext-section-literals) */
    .align  4
xt_fault_entry:
    movi    a1, __stack_top         /* the faulting code's stack may be what broke */
    call0   xt_fault

    .text
    .literal_position
    .global xt_start
    .align  4
xt_start:
    movi    a1, __stack_top
    movi    a2, xt_vectors
    wsr.vecbase a2
    rsync
    call0   xt_main                 /* never returns */
3:  j       3b
