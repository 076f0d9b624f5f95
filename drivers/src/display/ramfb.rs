//! QEMU's `ramfb`: a framebuffer in guest RAM that the device scans out once
//! the firmware writes its configuration to the fw_cfg file `etc/ramfb`
//! (QEMU's `hw/display/ramfb.c`): 28 big-endian bytes giving the address,
//! the DRM fourcc, flags, width, height and stride in bytes.
#![forbid(unsafe_code)]

/// The fw_cfg file.
pub const FILE: &str = "etc/ramfb";
/// DRM_FORMAT_XRGB8888, fourcc "XR24": blue in the lowest byte of a
/// little-endian 32-bit pixel.
pub const FOURCC_XRGB8888: u32 = u32::from_le_bytes(*b"XR24");
/// Bytes of the configuration written to [`FILE`].
pub const CONFIG_SIZE: usize = 28;

/// The configuration that shows `width` x `height` XRGB8888 pixels from
/// `address`, rows `width * 4` bytes apart.
pub fn config(address: u64, width: u32, height: u32) -> [u8; CONFIG_SIZE] {
    let mut out = [0u8; CONFIG_SIZE];
    out[0..8].copy_from_slice(&address.to_be_bytes());
    out[8..12].copy_from_slice(&FOURCC_XRGB8888.to_be_bytes());
    out[12..16].copy_from_slice(&0u32.to_be_bytes());
    out[16..20].copy_from_slice(&width.to_be_bytes());
    out[20..24].copy_from_slice(&height.to_be_bytes());
    out[24..28].copy_from_slice(&(width * 4).to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_big_endian_xr24() {
        let c = config(0x4_8000_1000, 1280, 800);
        assert_eq!(&c[0..8], &[0, 0, 0, 4, 0x80, 0, 0x10, 0]);
        assert_eq!(&c[8..12], &[0x34, 0x32, 0x52, 0x58]);
        assert_eq!(&c[16..28], &[0, 0, 5, 0, 0, 0, 3, 0x20, 0, 0, 0x14, 0]);
    }
}
