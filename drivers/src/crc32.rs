//! CRC-32 as IEEE 802.3 defines it (reflected, polynomial 0x04C11DB7 whose bit-reversed
//! form is 0xEDB88320, initial value and final XOR 0xFFFFFFFF): the checksum of GPT headers
//! and partition entry arrays (UEFI 2.10 §5.3.2) and of EFI table headers (§4.2.1).
#![forbid(unsafe_code)]

/// The IEEE 802.3 polynomial in reflected (least significant bit first) form.
pub const POLYNOMIAL_REFLECTED: u32 = 0xEDB8_8320;

/// The remainder of each byte value, built at compile time.
const TABLE: [u32; 256] = build_table();

const fn build_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = byte as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ POLYNOMIAL_REFLECTED
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
}

/// A running CRC-32, for data that arrives in pieces (a header whose CRC field
/// must be read as zero, a table spread over several blocks).
#[derive(Clone, Copy, Debug)]
pub struct Crc32 {
    state: u32,
}

impl Crc32 {
    /// A checksum of no bytes yet.
    pub const fn new() -> Crc32 {
        Crc32 { state: !0 }
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        let mut crc = self.state;
        for &byte in data {
            crc = TABLE[((crc ^ u32::from(byte)) & 0xff) as usize] ^ (crc >> 8);
        }
        self.state = crc;
    }

    /// Feeds `count` zero bytes (the checksum field of the structure being checked).
    pub fn update_zeros(&mut self, count: usize) {
        for _ in 0..count {
            self.update(&[0]);
        }
    }

    /// The CRC-32 of everything fed.
    pub const fn finish(self) -> u32 {
        !self.state
    }
}

impl Default for Crc32 {
    fn default() -> Crc32 {
        Crc32::new()
    }
}

/// The CRC-32 of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = Crc32::new();
    crc.update(data);
    crc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn matches_known_vectors() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"a"), 0xE8B7_BE43);
        assert_eq!(crc32(b"The quick brown fox jumps over the lazy dog"), 0x414F_A339);
        assert_eq!(crc32(&[0u8; 32]), 0x190A_55AD);
        assert_eq!(crc32(&[0xffu8; 32]), 0xFF6C_AB0B);
    }

    #[test]
    fn table_holds_the_reflected_polynomial() {
        assert_eq!(TABLE[0], 0);
        assert_eq!(TABLE[128], POLYNOMIAL_REFLECTED);
        assert_eq!(TABLE[255], 0x2D02_EF8D);
    }

    #[test]
    fn pieces_and_zero_runs_give_the_same_crc_as_one_buffer() {
        let data = b"EFI PART\x00\x00\x01\x00\x5c\x00\x00\x00\xaa\xbb\xcc\xdd tail";
        let mut zeroed = *data;
        zeroed[16..20].fill(0);
        let mut crc = Crc32::new();
        crc.update(&data[..16]);
        crc.update_zeros(4);
        crc.update(&data[20..]);
        assert_eq!(crc.finish(), crc32(&zeroed));
    }
}
