/* arm64 Linux Image entry (Documentation/arch/arm64/booting.rst): the VMM loads
 * the image at a 2 MiB aligned address + text_offset and jumps to its first byte
 * with the MMU off, x0 = physical address of the device tree, x1-x3 = 0. QEMU
 * `virt -kernel` and Cloud Hypervisor both boot it this way.
 *
 * The image is linked at 0 as a position-independent executable: here we apply
 * its R_AARCH64_RELATIVE relocations for wherever it was loaded, drop from EL2
 * to EL1 if needed, zero .bss and call arch_start(dtb) on our own stack. */

/* reg = the address of symbol, anywhere within 4 GiB of this code (Linux's
 * adr_l: the page by ADRP, the offset in it by ADD). */
.macro adr_l reg, symbol
    adrp    \reg, \symbol
    add     \reg, \reg, :lo12:\symbol
.endm

.section .text.head, "ax"
.global _start
_start:
    b       aarch64_entry               /* code0 */
    .long   0                           /* code1 */
    .quad   0                           /* text_offset: from the 2 MiB boundary */
    .quad   __image_size                /* image_size, .bss included */
    .quad   0xa                         /* flags: little endian, 4K pages, anywhere */
    .quad   0                           /* res2 */
    .quad   0                           /* res3 */
    .quad   0                           /* res4 */
    .ascii  "ARM\x64"                   /* magic */
    .long   0                           /* res5: no PE header */

.section .text.entry, "ax"
aarch64_entry:
    mov     x19, x0                     /* keep the device tree address */

    /* R_AARCH64_RELATIVE (1027): *(base + offset) = base + addend */
    adr_l   x20, __image_start
    adr_l   x1, __rela_start
    adr_l   x2, __rela_end
1:  cmp     x1, x2
    b.hs    3f
    ldp     x3, x4, [x1], #16           /* r_offset, r_info */
    ldr     x5, [x1], #8                /* r_addend */
    and     x4, x4, #0xffffffff
    cmp     x4, #1027
    b.ne    1b
    add     x5, x5, x20
    str     x5, [x20, x3]
    b       1b
3:
    mrs     x0, CurrentEL
    lsr     x0, x0, #2
    cmp     x0, #2
    b.ne    at_el1

    /* EL2: run EL1 in AArch64 (HCR_EL2.RW) with no traps of its timer
     * (CNTHCTL_EL2.EL1PCTEN|EL1PCEN), FP/SIMD or system registers. */
    mov     x0, #(1 << 31)
    msr     hcr_el2, x0
    mrs     x0, cnthctl_el2
    orr     x0, x0, #3
    msr     cnthctl_el2, x0
    msr     cntvoff_el2, xzr
    mov     x0, #0x33ff
    msr     cptr_el2, x0
    msr     hstr_el2, xzr
    ldr     x0, =0x30d00800             /* SCTLR_EL1 RES1 bits, MMU and caches off */
    msr     sctlr_el1, x0
    mov     x0, #0x3c5                  /* EL1h, DAIF masked */
    msr     spsr_el2, x0
    adr     x0, at_el1
    msr     elr_el2, x0
    eret

at_el1:
    /* FP/SIMD on at EL1 and EL0 (CPACR_EL1.FPEN): Rust code and EFI
     * applications use the vector registers. */
    mov     x0, #(3 << 20)
    msr     cpacr_el1, x0
    isb

    /* Exceptions run on their own stack (SP_EL1); the firmware on SP_EL0, so
     * that a stack overflow into the guard page can still be reported. */
    adr_l   x0, exception_stack_top
    mov     sp, x0
    msr     spsel, #0
    adr_l   x0, boot_stack_top
    mov     sp, x0

    adr_l   x0, __bss_start
    adr_l   x1, __bss_end
4:  cmp     x0, x1
    b.hs    5f
    stp     xzr, xzr, [x0], #16
    b       4b
5:
    mov     x0, x19
    mov     x29, xzr
    mov     x30, xzr
    bl      arch_start
6:  wfi
    b       6b

/* The boot stack's guard page; ../boot_stacks.s, appended to this file,
   puts the stacks right after it. */
.section .bss.boot_stack, "aw", @nobits
.balign 4096
.global boot_stack_guard
boot_stack_guard:
    .skip 4096
