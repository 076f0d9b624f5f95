/* RISC-V entry (Linux Documentation/arch/riscv/boot.rst, the SBI "next stage"
 * hand-over): OpenSBI's fw_dynamic jumps to the payload at its link address
 * (0x80200000 on QEMU `virt`) in S-mode with a0 = hart id, a1 = physical
 * address of the device tree, satp = 0 and interrupts disabled.
 *
 * The image is a static ELF linked where it runs. Here we switch interrupts
 * off for good, turn the FPU on (sstatus.FS: Rust and EFI applications use the
 * F/D registers), set up the boot stack and the trap stack, zero .bss and call
 * arch_start(hartid, dtb). */

.equ SSTATUS_FS_INITIAL, 1 << 13

.section .text.entry, "ax"
.global _start
_start:
    csrw    sie, zero
    /* Bare: S-mode addresses are physical. */
    csrw    satp, zero
    sfence.vma
    li      t0, SSTATUS_FS_INITIAL
    csrs    sstatus, t0
    csrw    fcsr, zero

    /* Keep the hart id and the device tree address. */
    mv      s0, a0
    mv      s1, a1

    la      sp, boot_stack_top
    /* The trap entry swaps sp with sscratch: traps run on their own stack. */
    la      t0, exception_stack_top
    csrw    sscratch, t0

    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:
    mv      a0, s0
    mv      a1, s1
    li      ra, 0
    /* A zero frame pointer ends the chain. */
    li      s0, 0
    call    arch_start
3:  wfi
    j       3b

/* The stacks: ../boot_stacks.s, appended to this file. */
