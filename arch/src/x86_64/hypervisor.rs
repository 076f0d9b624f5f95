//! CPUID's hypervisor leaves: CPUID.1:ECX bit 31 says a hypervisor is present,
//! and leaf 0x40000000 then gives the highest hypervisor leaf in EAX and the
//! hypervisor's 12-byte signature in EBX, ECX, EDX ("KVMKVMKVM\0\0\0" for KVM,
//! Linux `Documentation/virt/kvm/x86/cpuid.rst`; "TCGTCGTCGTCG" for QEMU's TCG).

/// The first hypervisor leaf.
pub const SIGNATURE_LEAF: u32 = 0x4000_0000;

/// The signature in EBX, ECX, EDX order, as the bytes it spells.
pub fn signature_bytes(ebx: u32, ecx: u32, edx: u32) -> [u8; 12] {
    let mut signature = [0u8; 12];
    signature[..4].copy_from_slice(&ebx.to_le_bytes());
    signature[4..8].copy_from_slice(&ecx.to_le_bytes());
    signature[8..].copy_from_slice(&edx.to_le_bytes());
    signature
}

/// Whether CPUID says the processor runs under a hypervisor.
#[cfg(target_os = "none")]
pub fn present() -> bool {
    core::arch::x86_64::__cpuid(1).ecx & (1 << 31) != 0
}

/// The hypervisor's highest leaf and signature, when there is a hypervisor.
#[cfg(target_os = "none")]
pub fn identify() -> Option<(u32, [u8; 12])> {
    if !present() {
        return None;
    }
    let leaf = core::arch::x86_64::__cpuid(SIGNATURE_LEAF);
    Some((leaf.eax, signature_bytes(leaf.ebx, leaf.ecx, leaf.edx)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spells_the_signature_from_ebx_ecx_edx() {
        let word = |s: &[u8]| u32::from_le_bytes(s.try_into().unwrap());
        assert_eq!(
            &signature_bytes(word(b"KVMK"), word(b"VMKV"), word(b"M\0\0\0")),
            b"KVMKVMKVM\0\0\0"
        );
        assert_eq!(
            &signature_bytes(word(b"TCGT"), word(b"CGTC"), word(b"GTCG")),
            b"TCGTCGTCGTCG"
        );
    }
}
