/* Exception entry stubs: push a zero error code where the CPU pushes none, push
 * the vector, save every general register and call exception_handler(frame). */

.section .text.exceptions, "ax"
.code64

.irp n, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
exception_stub_\n:
    push $0
    push $\n
    jmp exception_common
.endr

.irp n, 8,10,11,12,13,14,17,21,29,30
exception_stub_\n:
    push $\n
    jmp exception_common
.endr

exception_common:
    /* The interrupted code may have left the direction flag set; Rust
     * assumes it clear. */
    cld
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, %rdi
    and $-16, %rsp
    call exception_handler
1:  cli
    hlt
    jmp 1b

.section .rodata.exception_stubs, "a"
.balign 8
.global exception_stubs
exception_stubs:
.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad exception_stub_\n
.endr
