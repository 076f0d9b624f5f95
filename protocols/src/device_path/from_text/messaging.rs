//! Storage and bus messaging nodes (UEFI 2.10 §10.3.4) from their §10.6.1.6 text.
#![forbid(unsafe_code)]

use super::hardware::vendor_data;
use super::{byte_array, guid, keyword_or_number, number, unquote, Args, Made};
use crate::device_path::text::{FLOW_CONTROL, PARITY, STOP_BITS};
use crate::device_path::{
    DEVICE_PATH_MESSAGING_UART_FLOW_CONTROL, EFI_SAS_DEVICE_PATH_GUID, MESSAGING_DEVICE_PATH, MSG_1394_DP,
    MSG_ATAPI_DP, MSG_DEVICE_LOGICAL_UNIT_DP, MSG_EMMC_DP, MSG_FIBRECHANNELEX_DP, MSG_FIBRECHANNEL_DP, MSG_I2O_DP,
    MSG_INFINIBAND_DP, MSG_NVME_NAMESPACE_DP, MSG_SASEX_DP, MSG_SATA_DP, MSG_SCSI_DP, MSG_SD_DP, MSG_UART_DP,
    MSG_UFS_DP, MSG_USB_CLASS_DP, MSG_USB_DP, MSG_USB_WWID_DP, MSG_VENDOR_DP, USB_APPLICATION_CLASS,
    USB_APPLICATION_SHORTCUTS, USB_CLASS_SHORTCUTS, VENDOR_MESSAGING_SHORTCUTS,
};
use alloc::vec::Vec;

/// Little-endian bytes of fields written one after another.
#[derive(Default)]
pub(super) struct Bytes(pub(super) Vec<u8>);

impl Bytes {
    pub(super) fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }
    pub(super) fn u16(mut self, v: u16) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(super) fn u32(mut self, v: u32) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(super) fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub(super) fn bytes(mut self, v: &[u8]) -> Self {
        self.0.extend_from_slice(v);
        self
    }
}

/// The node named `name`, `None` if messaging nodes of this module have no such name.
pub(super) fn parse(name: &str, a: &Args<'_>) -> Option<Made> {
    let msg = |sub_type: u8, data: Option<Bytes>| data.map(|d| (MESSAGING_DEVICE_PATH, sub_type, d.0));
    if let Some((_, g)) = VENDOR_MESSAGING_SHORTCUTS.iter().find(|(n, _)| *n == name) {
        return Some(msg(
            MSG_VENDOR_DP,
            a.at_most(0).map(|()| Bytes::default().bytes(g.as_bytes())),
        ));
    }
    if let Some((_, class)) = USB_CLASS_SHORTCUTS.iter().find(|(n, _)| *n == name) {
        return Some(msg(
            MSG_USB_CLASS_DP,
            (|| usb_class(a, 4, *class, a.num_or(2, 0xFFu8)?, a.num_or(3, 0xFFu8)?))(),
        ));
    }
    if let Some((_, sub_class)) = USB_APPLICATION_SHORTCUTS.iter().find(|(n, _)| *n == name) {
        return Some(msg(
            MSG_USB_CLASS_DP,
            (|| usb_class(a, 3, USB_APPLICATION_CLASS, *sub_class, a.num_or(2, 0xFFu8)?))(),
        ));
    }
    let exactly = |n: usize| (a.len() == n).then_some(());
    Some(match name {
        "Ata" => msg(
            MSG_ATAPI_DP,
            (|| {
                exactly(3)?;
                let controller = keyword_or_number(a.get(0)?, &["Primary", "Secondary"])?;
                let drive = keyword_or_number(a.get(1)?, &["Master", "Slave"])?;
                Some(Bytes::default().u8(controller).u8(drive).u16(a.num(2)?))
            })(),
        ),
        "Scsi" => msg(
            MSG_SCSI_DP,
            (|| Some(Bytes::default().u16(a.num(0)?).u16(a.num(1)?)))().filter(|_| a.len() == 2),
        ),
        "Fibre" => msg(
            MSG_FIBRECHANNEL_DP,
            (|| Some(Bytes::default().u32(0).u64(a.num(0)?).u64(a.num(1)?)))().filter(|_| a.len() == 2),
        ),
        "FibreEx" => msg(
            MSG_FIBRECHANNELEX_DP,
            (|| {
                Some(
                    Bytes::default()
                        .u32(0)
                        .bytes(&byte_array(a.get(0)?)?)
                        .bytes(&byte_array(a.get(1)?)?),
                )
            })()
            .filter(|_| a.len() == 2),
        ),
        "I1394" => msg(
            MSG_1394_DP,
            (|| {
                exactly(1)?;
                let text = a.get(0)?;
                let digits = text
                    .strip_prefix("0x")
                    .or_else(|| text.strip_prefix("0X"))
                    .unwrap_or(text);
                Some(Bytes::default().u32(0).u64(u64::from_str_radix(digits, 16).ok()?))
            })(),
        ),
        "USB" => msg(
            MSG_USB_DP,
            (|| Some(Bytes::default().u8(a.num(0)?).u8(a.num(1)?)))().filter(|_| a.len() == 2),
        ),
        "I2O" => msg(
            MSG_I2O_DP,
            (|| Some(Bytes::default().u32(a.num(0)?)))().filter(|_| a.len() == 1),
        ),
        "Infiniband" => msg(
            MSG_INFINIBAND_DP,
            (|| {
                exactly(5)?;
                let d = Bytes::default().u32(a.num(0)?).bytes(&guid(a.get(1)?)?);
                Some(d.u64(a.num(2)?).u64(a.num(3)?).u64(a.num(4)?))
            })(),
        ),
        "VenMsg" => msg(MSG_VENDOR_DP, vendor_data(a).map(Bytes)),
        "UartFlowCtrl" => msg(
            MSG_VENDOR_DP,
            (|| {
                exactly(1)?;
                let map: u32 = keyword_or_number(a.get(0)?, &FLOW_CONTROL)?;
                Some(
                    Bytes::default()
                        .bytes(DEVICE_PATH_MESSAGING_UART_FLOW_CONTROL.as_bytes())
                        .u32(map),
                )
            })(),
        ),
        "SAS" => msg(
            MSG_VENDOR_DP,
            (|| {
                let (address, lun, rtp) = (a.num::<u64>(0)?, a.num_or(1, 0u64)?, a.num_or(2, 0u16)?);
                let topology = sas_topology(a, 3)?;
                let d = Bytes::default().bytes(EFI_SAS_DEVICE_PATH_GUID.as_bytes()).u32(0);
                Some(d.u64(address).u64(lun).u16(topology).u16(rtp))
            })(),
        ),
        "Uart" => msg(MSG_UART_DP, uart(a)),
        "UsbClass" => msg(
            MSG_USB_CLASS_DP,
            (|| usb_class(a, 5, a.num_or(2, 0xFFu8)?, a.num_or(3, 0xFFu8)?, a.num_or(4, 0xFFu8)?))(),
        ),
        "UsbWwid" => msg(
            MSG_USB_WWID_DP,
            (|| {
                exactly(4)?;
                let mut d = Bytes::default().u16(a.num(2)?).u16(a.num(0)?).u16(a.num(1)?);
                for unit in unquote(a.raw(3)?).encode_utf16() {
                    d = d.u16(unit);
                }
                Some(d)
            })(),
        ),
        "Unit" => msg(
            MSG_DEVICE_LOGICAL_UNIT_DP,
            (|| Some(Bytes::default().u8(a.num(0)?)))().filter(|_| a.len() == 1),
        ),
        "Sata" => msg(
            MSG_SATA_DP,
            (|| Some(Bytes::default().u16(a.num(0)?).u16(a.num_or(1, 0xFFFF)?).u16(a.num(2)?)))()
                .filter(|_| a.len() == 3),
        ),
        "SasEx" => msg(
            MSG_SASEX_DP,
            (|| {
                let address = byte_array(a.get(0)?)?;
                let lun = match a.get(1) {
                    Some(text) => byte_array(text)?,
                    None => [0; 8],
                };
                let rtp = a.num_or(2, 0u16)?;
                let topology = sas_topology(a, 3)?;
                Some(Bytes::default().bytes(&address).bytes(&lun).u16(topology).u16(rtp))
            })(),
        ),
        "NVMe" => msg(
            MSG_NVME_NAMESPACE_DP,
            (|| {
                exactly(2)?;
                let octets: Vec<u8> = a
                    .get(1)?
                    .split('-')
                    .map(|o| (o.len() == 2).then(|| u8::from_str_radix(o, 16).ok()).flatten())
                    .collect::<Option<Vec<u8>>>()?;
                (octets.len() == 8).then_some(())?;
                // Written byte 7 first (§10.3.4.23).
                let eui: Vec<u8> = octets.into_iter().rev().collect();
                Some(Bytes::default().u32(a.num(0)?).bytes(&eui))
            })(),
        ),
        "UFS" => msg(
            MSG_UFS_DP,
            (|| Some(Bytes::default().u8(a.num(0)?).u8(a.num(1)?)))().filter(|_| a.len() == 2),
        ),
        "SD" => msg(
            MSG_SD_DP,
            (|| Some(Bytes::default().u8(a.num_or(0, 0)?)))().filter(|_| a.len() <= 1),
        ),
        "eMMC" => msg(
            MSG_EMMC_DP,
            (|| Some(Bytes::default().u8(a.num_or(0, 0)?)))().filter(|_| a.len() <= 1),
        ),
        _ => return None,
    })
}

/// UsbClass(VID,PID,...) and its shortcuts: VID and PID default to 0xFFFF.
fn usb_class(a: &Args<'_>, max: usize, class: u8, sub_class: u8, protocol: u8) -> Option<Bytes> {
    a.at_most(max)?;
    let d = Bytes::default().u16(a.num_or(0, 0xFFFF)?).u16(a.num_or(1, 0xFFFF)?);
    Some(d.u8(class).u8(sub_class).u8(protocol))
}

/// `Uart(Baud,DataBits,Parity,StopBits)`: defaults 115200, 8, D, D; parity
/// and stop bits both keywords or both integers.
fn uart(a: &Args<'_>) -> Option<Bytes> {
    a.at_most(4)?;
    let baud = a.num_or(0, 115_200u64)?;
    let data_bits = a.num_or(1, 8u8)?;
    let (parity, stop_bits) = match a.get(2) {
        Some(p) if PARITY.contains(&p) => (
            keyword_or_number(p, &PARITY)?,
            match a.get(3) {
                Some(s) => STOP_BITS.iter().position(|k| *k == s)? as u8,
                None => 0,
            },
        ),
        _ => (a.num_or(2, 0u8)?, a.num_or(3, 0u8)?),
    };
    Some(Bytes::default().u32(0).u64(baud).u8(data_bits).u8(parity).u8(stop_bits))
}

/// The SASSATA, Location, Connect and DriveBay arguments from `first` on as
/// the device and topology field (§10.3.4.18).
fn sas_topology(a: &Args<'_>, first: usize) -> Option<u16> {
    let Some(kind) = a.get(first) else {
        return a.at_most(first).map(|()| 0);
    };
    match kind {
        "NoTopology" => a.at_most(first + 1).map(|()| 0),
        "SAS" | "SATA" => {
            a.at_most(first + 4)?;
            let sata = u16::from(kind == "SATA");
            let external = match a.get(first + 1)? {
                "Internal" => 0,
                "External" => 1,
                other => number::<u16>(other).filter(|&v| v <= 1)?,
            };
            let connect = match a.get(first + 2)? {
                "Direct" => 0,
                "Expanded" => 1,
                other => number::<u16>(other).filter(|&v| v <= 3)?,
            };
            let (more, bay) = match a.get(first + 3) {
                Some(bay) => (2, number::<u16>(bay).filter(|b| (1..=256).contains(b))? - 1),
                None => (1, 0),
            };
            Some(more | (sata << 4) | (external << 5) | (connect << 6) | (bay << 8))
        }
        other => a.at_most(first + 1).and_then(|()| number(other)),
    }
}
