//! Text of storage and bus messaging nodes (UEFI 2.10 §10.3.4) as the
//! §10.6.1.6 table writes them: `Ata`, `Scsi`, `Fibre`, `FibreEx`, `I1394`,
//! `USB`, `I2O`, `Infiniband`, `VenMsg` (and with shortcuts `VenPcAnsi`,
//! `VenVt100`, `VenVt100Plus`, `VenUtf8`, `DebugPort`, `UartFlowCtrl`, `SAS`),
//! `Uart`, `UsbClass` (and with shortcuts `UsbAudio` ... `UsbTestAndMeasurement`),
//! `UsbWwid`, `Unit`, `Sata`, `SasEx`, `NVMe`, `UFS`, `SD`, `eMMC`.
#![forbid(unsafe_code)]

use super::hardware::vendor;
use super::{byte_array_number, call, guid_text, hex_number, plain_string, Fields, TextForm};
use crate::device_path::{
    DEVICE_PATH_MESSAGING_UART_FLOW_CONTROL, EFI_SAS_DEVICE_PATH_GUID, MSG_1394_DP, MSG_ATAPI_DP,
    MSG_DEVICE_LOGICAL_UNIT_DP, MSG_EMMC_DP, MSG_FIBRECHANNELEX_DP, MSG_FIBRECHANNEL_DP, MSG_I2O_DP, MSG_INFINIBAND_DP,
    MSG_NVME_NAMESPACE_DP, MSG_SASEX_DP, MSG_SATA_DP, MSG_SCSI_DP, MSG_SD_DP, MSG_UART_DP, MSG_UFS_DP,
    MSG_USB_CLASS_DP, MSG_USB_DP, MSG_USB_WWID_DP, MSG_VENDOR_DP, USB_APPLICATION_CLASS, USB_APPLICATION_SHORTCUTS,
    USB_CLASS_SHORTCUTS, VENDOR_MESSAGING_SHORTCUTS,
};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// §10.6.1.6 UART parity keywords, by value.
pub(crate) const PARITY: [&str; 6] = ["D", "N", "E", "O", "M", "S"];
/// §10.6.1.6 UART stop bits keywords, by value.
pub(crate) const STOP_BITS: [&str; 4] = ["D", "1", "1.5", "2"];
/// §10.6.1.6 UartFlowCtrl keywords, by value.
pub(crate) const FLOW_CONTROL: [&str; 3] = ["None", "Hardware", "XonXoff"];

pub(super) fn messaging(sub_type: u8, data: &[u8], form: TextForm) -> Option<String> {
    let mut f = Fields::new(data);
    let h = |v: u64| hex_number(v);
    let text = match sub_type {
        MSG_ATAPI_DP => {
            let (controller, drive, lun) = (f.u8()?, f.u8()?, f.u16()?);
            if form.display_only {
                call("Ata", &[&h(lun.into())])
            } else {
                let controller = keyword_or_number(controller, &["Primary", "Secondary"]);
                let drive = keyword_or_number(drive, &["Master", "Slave"]);
                call("Ata", &[&controller, &drive, &h(lun.into())])
            }
        }
        MSG_SCSI_DP => {
            let (pun, lun) = (f.u16()?, f.u16()?);
            call("Scsi", &[&h(pun.into()), &h(lun.into())])
        }
        MSG_FIBRECHANNEL_DP => {
            let (reserved, wwn, lun) = (f.u32()?, f.u64()?, f.u64()?);
            (reserved == 0).then_some(())?;
            call("Fibre", &[&h(wwn), &h(lun)])
        }
        MSG_FIBRECHANNELEX_DP => {
            let (reserved, wwn, lun) = (f.u32()?, f.array()?, f.array()?);
            (reserved == 0).then_some(())?;
            call("FibreEx", &[&byte_array_number(wwn), &byte_array_number(lun)])
        }
        MSG_1394_DP => {
            let (reserved, guid) = (f.u32()?, f.u64()?);
            (reserved == 0).then_some(())?;
            call("I1394", &[&format!("{guid:016X}")])
        }
        MSG_USB_DP => {
            let (port, interface) = (f.u8()?, f.u8()?);
            call("USB", &[&h(port.into()), &h(interface.into())])
        }
        MSG_I2O_DP => call("I2O", &[&h(f.u32()?.into())]),
        MSG_INFINIBAND_DP => {
            let (flags, gid, service, target, device) = (f.u32()?, f.array::<16>()?, f.u64()?, f.u64()?, f.u64()?);
            call(
                "Infiniband",
                &[&h(flags.into()), &guid_text(&gid), &h(service), &h(target), &h(device)],
            )
        }
        MSG_VENDOR_DP => vendor_messaging(&mut f, form)?,
        MSG_UART_DP => uart(&mut f)?,
        MSG_USB_CLASS_DP => usb_class(&mut f, form)?,
        MSG_USB_WWID_DP => {
            let (interface, vid, pid) = (f.u16()?, f.u16()?, f.u16()?);
            let serial = ucs2_plain(f.rest())?;
            let quoted = format!("\"{serial}\"");
            call(
                "UsbWwid",
                &[&h(vid.into()), &h(pid.into()), &h(interface.into()), &quoted],
            )
        }
        MSG_DEVICE_LOGICAL_UNIT_DP => call("Unit", &[&h(f.u8()?.into())]),
        MSG_SATA_DP => {
            let (hba_port, multiplier_port, lun) = (f.u16()?, f.u16()?, f.u16()?);
            call(
                "Sata",
                &[&h(hba_port.into()), &h(multiplier_port.into()), &h(lun.into())],
            )
        }
        MSG_SASEX_DP => {
            let (address, lun, topology, rtp) = (f.array()?, f.array()?, f.u16()?, f.u16()?);
            let mut args = vec![byte_array_number(address), byte_array_number(lun), h(rtp.into())];
            args.extend(sas_topology(topology));
            call("SasEx", &as_strs(&args))
        }
        MSG_NVME_NAMESPACE_DP => {
            let (nsid, eui) = (f.u32()?, f.array::<8>()?);
            // §10.3.4.23: the EUI-64 is shown byte 7 first.
            let eui: Vec<String> = eui.iter().rev().map(|b| format!("{b:02X}")).collect();
            call("NVMe", &[&h(nsid.into()), &eui.join("-")])
        }
        MSG_UFS_DP => {
            let (pun, lun) = (f.u8()?, f.u8()?);
            call("UFS", &[&h(pun.into()), &h(lun.into())])
        }
        MSG_SD_DP => call("SD", &[&h(f.u8()?.into())]),
        MSG_EMMC_DP => call("eMMC", &[&h(f.u8()?.into())]),
        _ => return None,
    };
    f.end()?;
    Some(text)
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn keyword_or_number(value: u8, keywords: &[&str]) -> String {
    match keywords.get(usize::from(value)) {
        Some(keyword) => String::from(*keyword),
        None => hex_number(value.into()),
    }
}

fn vendor_messaging(f: &mut Fields<'_>, form: TextForm) -> Option<String> {
    if form.allow_shortcuts {
        let mut peek = Fields::new(f.rest());
        let guid = peek.array::<16>()?;
        let data = peek.rest();
        if let Some((name, _)) = VENDOR_MESSAGING_SHORTCUTS.iter().find(|(_, g)| g.as_bytes() == &guid) {
            if data.is_empty() {
                return Some(call(name, &[]));
            }
        }
        if &guid == DEVICE_PATH_MESSAGING_UART_FLOW_CONTROL.as_bytes() {
            let mut map = Fields::new(data);
            if let Some(keyword) = map.u32().and_then(|m| FLOW_CONTROL.get(m as usize)) {
                if map.end().is_some() {
                    return Some(call("UartFlowCtrl", &[keyword]));
                }
            }
        }
        if &guid == EFI_SAS_DEVICE_PATH_GUID.as_bytes() {
            if let Some(text) = sas(&mut Fields::new(data)) {
                return Some(text);
            }
        }
        return vendor("VenMsg", &mut Fields::new(&[guid.as_slice(), data].concat()));
    }
    vendor("VenMsg", f)
}

/// The SAS vendor node's data after its GUID (§10.3.4.18).
fn sas(f: &mut Fields<'_>) -> Option<String> {
    let (reserved, address, lun, topology, rtp) = (f.u32()?, f.u64()?, f.u64()?, f.u16()?, f.u16()?);
    f.end()?;
    (reserved == 0).then_some(())?;
    let mut args = vec![hex_number(address), hex_number(lun), hex_number(rtp.into())];
    args.extend(sas_topology(topology));
    Some(call("SAS", &as_strs(&args)))
}

/// The SASSATA, Location, Connect and DriveBay arguments of `SAS`/`SasEx`
/// for the device and topology field (§10.3.4.18): keywords when the field
/// says what they say, else the field as an integer.
pub(crate) fn sas_topology(topology: u16) -> Vec<String> {
    if topology == 0 {
        return vec![String::from("NoTopology")];
    }
    let more = topology & 0x0F;
    let device = (topology >> 4) & 0x3;
    let connect = (topology >> 6) & 0x3;
    let bay = topology >> 8;
    if !(more == 1 || (more == 2)) || connect > 1 || (more == 1 && bay != 0) {
        return vec![hex_number(topology.into())];
    }
    let mut args = vec![
        String::from(if device & 1 == 0 { "SAS" } else { "SATA" }),
        String::from(if device & 2 == 0 { "Internal" } else { "External" }),
        String::from(if connect == 0 { "Direct" } else { "Expanded" }),
    ];
    if more == 2 {
        args.push(format!("{}", bay + 1));
    }
    args
}

/// `Uart(Baud,DataBits,Parity,StopBits)` (§10.3.4.16): parity and stop bits
/// both as keywords, or both as integers when one has no keyword.
fn uart(f: &mut Fields<'_>) -> Option<String> {
    let (reserved, baud, data_bits, parity, stop_bits) = (f.u32()?, f.u64()?, f.u8()?, f.u8()?, f.u8()?);
    (reserved == 0).then_some(())?;
    let (baud, data_bits) = (format!("{baud}"), format!("{data_bits}"));
    Some(
        match (PARITY.get(usize::from(parity)), STOP_BITS.get(usize::from(stop_bits))) {
            (Some(parity), Some(stop_bits)) => call("Uart", &[&baud, &data_bits, parity, stop_bits]),
            _ => call(
                "Uart",
                &[
                    &baud,
                    &data_bits,
                    &hex_number(parity.into()),
                    &hex_number(stop_bits.into()),
                ],
            ),
        },
    )
}

fn usb_class(f: &mut Fields<'_>, form: TextForm) -> Option<String> {
    let (vid, pid, class, sub_class, protocol) = (f.u16()?, f.u16()?, f.u8()?, f.u8()?, f.u8()?);
    let (vid, pid) = (hex_number(vid.into()), hex_number(pid.into()));
    let (class_text, sub_class_text, protocol) = (
        hex_number(class.into()),
        hex_number(sub_class.into()),
        hex_number(protocol.into()),
    );
    if form.allow_shortcuts {
        if let Some((name, _)) = USB_CLASS_SHORTCUTS.iter().find(|(_, c)| *c == class) {
            return Some(call(name, &[&vid, &pid, &sub_class_text, &protocol]));
        }
        if class == USB_APPLICATION_CLASS {
            if let Some((name, _)) = USB_APPLICATION_SHORTCUTS.iter().find(|(_, s)| *s == sub_class) {
                return Some(call(name, &[&vid, &pid, &protocol]));
            }
        }
    }
    Some(call("UsbClass", &[&vid, &pid, &class_text, &sub_class_text, &protocol]))
}

/// UCS-2 text that is a plain string argument (no NUL: its length is the node's).
fn ucs2_plain(bytes: &[u8]) -> Option<String> {
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let text: String = bytes
        .chunks_exact(2)
        .map(|pair| char::from_u32(u16::from_le_bytes([pair[0], pair[1]]).into()))
        .collect::<Option<String>>()?;
    plain_string(&text).then_some(text)
}
