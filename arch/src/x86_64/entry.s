/* PVH entry (Xen's HVM direct boot ABI, also used by QEMU and Cloud Hypervisor):
 * 32-bit protected mode, paging off, flat segments, %ebx = physical address of
 * struct hvm_start_info. We zero .bss, identity-map the first 4 GiB with 2 MiB
 * pages, enter long mode and call arch_start(start_info) on our own stack. */

.section .note.pvh, "a"
.balign 4
    .long 4                     /* n_namesz: "Xen\0" */
    .long 4                     /* n_descsz: 32-bit entry address */
    .long 18                    /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long pvh_entry

/* The exception stacks (the TSS's interrupt stack table): every exception
 * runs on one the interrupted code cannot have used up or corrupted, the
 * double fault on its own. Each, like the boot stack, has a guard page below. */
.section .bss.boot_stack, "aw", @nobits
.balign 4096
.global exception_stack_guard
exception_stack_guard:
    .skip 4096
    .skip 16 * 1024
.global exception_stack_top
exception_stack_top:
.global double_fault_stack_guard
double_fault_stack_guard:
    .skip 4096
    .skip 16 * 1024
.global double_fault_stack_top
double_fault_stack_top:
.global boot_stack_guard
boot_stack_guard:
    .skip 4096
.global boot_stack_bottom
boot_stack_bottom:
    /* 64 KiB: enough to bring the machine up. The image (and so this stack)
     * sits at 1 MiB, and a small VM's Linux needs the kernel's PE image below
     * 16 MiB next to it (loaders/src/linux/stub_memory.rs): every KiB here is
     * one the kernel does not get there. Once the memory map exists the
     * firmware moves to a 256 KiB stack at the top of RAM (stack.rs), where
     * the boot manager and the applications run. */
    .skip 64 * 1024
.global boot_stack_top
boot_stack_top:

.section .bss.boot_page_tables, "aw", @nobits
.balign 4096
.global boot_pml4
boot_pml4:
    .skip 4096
.global boot_pdpt
boot_pdpt:
    .skip 4096
.global boot_pd
boot_pd:
    .skip 4 * 4096

.section .rodata.boot_gdt, "a"
.balign 16
boot_gdt:
    .quad 0                     /* null */
    .quad 0x00af9a000000ffff    /* 0x08: 64-bit code */
    .quad 0x00cf92000000ffff    /* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
    .word boot_gdt_end - boot_gdt - 1
    .quad boot_gdt

.section .text.pvh_entry, "ax"
.code32
.global pvh_entry
pvh_entry:
    cli
    cld
    mov %ebx, %esi              /* keep the start info pointer */

    /* zero .bss (page tables and stack included) */
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb

    /* PML4[0] -> PDPT; PDPT[0..4] -> PD[0..4]; each PD maps 1 GiB in 2 MiB pages */
    mov $boot_pdpt, %eax
    or $0x3, %eax               /* present | writable */
    mov %eax, boot_pml4

    mov $boot_pd, %eax
    or $0x3, %eax
    xor %ecx, %ecx
1:  mov %eax, boot_pdpt(, %ecx, 8)
    add $4096, %eax
    inc %ecx
    cmp $4, %ecx
    jne 1b

    xor %ecx, %ecx              /* page index 0..2047 */
2:  mov %ecx, %eax
    shl $21, %eax               /* low 32 bits of the 2 MiB page address */
    or $0x83, %eax              /* present | writable | page size */
    mov %eax, boot_pd(, %ecx, 8)
    mov %ecx, %eax
    shr $11, %eax               /* bits 32.. of the address: index / 2048 */
    mov %eax, boot_pd + 4(, %ecx, 8)
    inc %ecx
    cmp $2048, %ecx
    jne 2b

    /* CR4: PAE | OSFXSR | OSXMMEXCPT */
    mov %cr4, %eax
    or $((1 << 5) | (1 << 9) | (1 << 10)), %eax
    mov %eax, %cr4

    /* XSAVE and AVX state for the EFI applications (OpenSSL in shim and GRUB
     * checks CPUID.OSXSAVE and XCR0 before it uses AVX), as UEFI firmware on
     * x86_64 leaves them: when CPUID.1:ECX.XSAVE is set, CR4.OSXSAVE and XCR0
     * = x87 | SSE | AVX, keeping only the bits CPUID.(0xD,0):EAX reports. The
     * firmware itself is built soft-float and never touches SSE or AVX
     * registers, so its exception and interrupt handlers need not save them:
     * an application's vector state survives them untouched. */
    mov $1, %eax
    cpuid
    bt $26, %ecx                /* XSAVE */
    jnc 4f
    mov %cr4, %eax
    or $(1 << 18), %eax         /* OSXSAVE */
    mov %eax, %cr4
    mov $0xd, %eax
    xor %ecx, %ecx
    cpuid                       /* EAX: the XCR0 bits the CPU supports */
    and $0x7, %eax              /* x87 | SSE | AVX */
    xor %edx, %edx
    xor %ecx, %ecx              /* XCR0 */
    xsetbv
4:
    mov $boot_pml4, %eax
    mov %eax, %cr3

    /* EFER: LME | NXE */
    mov $0xc0000080, %ecx
    rdmsr
    or $((1 << 8) | (1 << 11)), %eax
    wrmsr

    /* CR0: PG | PE | MP, clear EM (x87 emulation) and TS */
    mov %cr0, %eax
    or $((1 << 31) | (1 << 0) | (1 << 1)), %eax
    and $~((1 << 2) | (1 << 3)), %eax
    mov %eax, %cr0

    lgdt boot_gdt_ptr
    ljmp $0x08, $long_mode_entry

.code64
long_mode_entry:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ax, %ax
    mov %ax, %fs
    mov %ax, %gs

    mov $boot_stack_top, %rsp
    xor %ebp, %ebp
    fninit
    mov %esi, %edi              /* first argument: start info address (zero-extended) */
    call arch_start
3:  hlt
    jmp 3b
