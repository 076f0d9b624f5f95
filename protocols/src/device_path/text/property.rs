//! Random well-formed paths: every form of their text is written without a
//! panic, and the full forms read back as the same bytes (§10.6.1 "Binary to
//! Text Conversion").

use super::{path_to_text, TextForm};
use crate::device_path::from_text::path_from_text;
use crate::device_path::{
    DEVICE_PATH_MESSAGING_UART_FLOW_CONTROL, EFI_PC_ANSI_GUID, EFI_SAS_DEVICE_PATH_GUID, EFI_VIRTUAL_CD_GUID,
};
use std::vec;
use std::vec::Vec;

/// xorshift64: reproducible, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Bytes that are mostly 0 or small, so keywords and exact fields come up.
    fn byte(&mut self) -> u8 {
        match self.below(4) {
            0 | 1 => 0,
            2 => self.below(4) as u8,
            _ => self.next() as u8,
        }
    }
}

/// Data lengths the node kinds of §10.3 use, and some others.
const LENGTHS: [usize; 24] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 15, 16, 17, 20, 21, 23, 24, 28, 32, 33, 34, 44, 56,
];

fn random_node(rng: &mut Rng) -> Vec<u8> {
    let kind = match rng.below(7) {
        0..=4 => rng.below(5) as u8 + 1,
        5 => 4,
        _ => rng.next() as u8 | 0x08,
    };
    let sub_type = rng.below(36) as u8;
    let mut data: Vec<u8> = match rng.below(8) {
        // A GUID with a text form of its own in front.
        0 => {
            let guids = [
                EFI_PC_ANSI_GUID,
                EFI_SAS_DEVICE_PATH_GUID,
                EFI_VIRTUAL_CD_GUID,
                DEVICE_PATH_MESSAGING_UART_FLOW_CONTROL,
            ];
            guids[rng.below(4) as usize].as_bytes().to_vec()
        }
        // Text: printable ASCII or UCS-2, with or without a NUL.
        1 => (0..rng.below(12))
            .flat_map(|_| [0x20 + rng.below(0x5f) as u8, 0])
            .collect(),
        2 => (0..rng.below(12))
            .map(|_| 0x20 + rng.below(0x5f) as u8)
            .chain([0])
            .collect(),
        _ => Vec::new(),
    };
    let len = LENGTHS[rng.below(LENGTHS.len() as u64) as usize];
    while data.len() < len {
        data.push(rng.byte());
    }
    let mut node = vec![kind, sub_type];
    node.extend_from_slice(&((4 + data.len()) as u16).to_le_bytes());
    node.extend_from_slice(&data);
    node
}

#[test]
fn random_paths_read_back_from_their_full_text() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let mut path = Vec::new();
        for _ in 0..=rng.below(4) {
            path.extend_from_slice(&random_node(&mut rng));
            if rng.below(8) == 0 {
                path.extend_from_slice(&[0x7f, 0x01, 4, 0]);
            }
        }
        path.extend_from_slice(&[0x7f, 0xff, 4, 0]);
        for form in [TextForm::PARSEABLE, TextForm::SHORTCUTS] {
            let text = path_to_text(&path, form).unwrap();
            assert_eq!(
                path_from_text(&text).as_deref(),
                Ok(&path[..]),
                "{text} from {path:02x?}"
            );
        }
        let _ = path_to_text(&path, TextForm::DISPLAY).unwrap();
    }
}

#[test]
fn random_bytes_never_panic_the_text_writer() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    for _ in 0..20_000 {
        let bytes: Vec<u8> = (0..rng.below(80)).map(|_| rng.byte()).collect();
        for form in [TextForm::PARSEABLE, TextForm::SHORTCUTS, TextForm::DISPLAY] {
            if let Ok(text) = path_to_text(&bytes, form) {
                let _ = path_from_text(&text);
            }
        }
    }
}
