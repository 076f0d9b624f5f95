/* The boot stack (512 KiB) and the exception stack (16 KiB) of the
   device-tree machines (aarch64, riscv64), in .bss.boot_stack, which
   layout.ld keeps. Directives only, the same for every ISA; each
   architecture's mod.rs appends this file to its entry.s (aarch64's ends
   with the boot stack's guard page, which must come right before). */
.section .bss.boot_stack, "aw", @nobits
.balign 4096
.global boot_stack_bottom
boot_stack_bottom:
    .skip 512 * 1024
.global boot_stack_top
boot_stack_top:
.global exception_stack_bottom
exception_stack_bottom:
    .skip 16 * 1024
.global exception_stack_top
exception_stack_top:
