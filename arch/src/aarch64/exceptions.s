/* The EL1 exception vector table (Arm ARM DDI 0487, D1.10.2): 16 entries of
 * 0x80 bytes, 2 KiB aligned. Exceptions arrive on SP_EL1 (the exception stack);
 * each entry saves the registers and calls aarch64_exception(frame), which
 * reports and stops. Frame: x0-x30, SP_EL0, kind (34 slots, 16-byte aligned). */

.macro vector kind
.balign 0x80
    sub     sp, sp, #(34 * 8)
    stp     x0, x1, [sp, #0]
    mov     x0, #\kind
    b       exception_common
.endm

.section .text.exceptions, "ax"
.balign 0x800
.global exception_vectors
exception_vectors:
    vector 0
    vector 1
    vector 2
    vector 3
    vector 4
    vector 5
    vector 6
    vector 7
    vector 8
    vector 9
    vector 10
    vector 11
    vector 12
    vector 13
    vector 14
    vector 15

exception_common:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x1, sp_el0
    stp     x30, x1, [sp, #240]
    str     x0, [sp, #256]
    mov     x0, sp
    bl      aarch64_exception
1:  wfi
    b       1b
