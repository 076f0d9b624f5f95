//! The kernel command line in the two forms the loaders hand over: UCS-2
//! LoadOptions for the EFI stub (UEFI 2.10 §9.1 EFI_LOADED_IMAGE_PROTOCOL,
//! LoadOptions/LoadOptionsSize) and NUL-terminated bytes for the x86 boot
//! protocol (Linux boot.rst, `cmd_line_ptr`/`cmdline_size`).
#![forbid(unsafe_code)]

use super::LinuxError;
use alloc::vec::Vec;

/// `cmdline` as LoadOptions: UTF-16 (UCS-2 for the BMP), NUL-terminated. The
/// stub reads LoadOptionsSize bytes, which is `2 * len()` of the result.
pub fn load_options(cmdline: &str) -> Vec<u16> {
    cmdline.encode_utf16().chain([0]).collect()
}

/// `cmdline` as the x86 boot protocol's NUL-terminated byte string, at most
/// `cmdline_size` bytes before the NUL.
pub fn boot_protocol_bytes(cmdline: &str, cmdline_size: u32) -> Result<Vec<u8>, LinuxError> {
    if cmdline.as_bytes().contains(&0) {
        return Err(LinuxError::CommandLineHasNul);
    }
    if cmdline.len() as u64 > u64::from(cmdline_size) {
        return Err(LinuxError::CommandLineTooLong {
            len: cmdline.len(),
            max: cmdline_size,
        });
    }
    let mut out = Vec::with_capacity(cmdline.len() + 1);
    out.extend_from_slice(cmdline.as_bytes());
    out.push(0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_options_are_nul_terminated_ucs2() {
        let o = load_options("console=ttyS0 é");
        assert_eq!(o.len(), 16);
        assert_eq!(o[0], u16::from(b'c'));
        assert_eq!(o[14], 0xE9);
        assert_eq!(o[15], 0);
        assert_eq!(core::mem::size_of_val(o.as_slice()), 32);
        assert_eq!(load_options(""), [0]);
    }

    #[test]
    fn boot_protocol_command_line_respects_cmdline_size() {
        assert_eq!(boot_protocol_bytes("ro quiet", 8).unwrap(), b"ro quiet\0");
        assert_eq!(
            boot_protocol_bytes("ro quiet", 7),
            Err(LinuxError::CommandLineTooLong { len: 8, max: 7 })
        );
        assert_eq!(boot_protocol_bytes("a\0b", 100), Err(LinuxError::CommandLineHasNul));
    }
}
