//! Text of network messaging nodes (UEFI 2.10 §10.3.4) as the §10.6.1.6 table
//! writes them: `MAC`, `IPv4`, `IPv6`, `iSCSI`, `Vlan`, `Uri`, `Bluetooth`,
//! `Wi-Fi`, `BluetoothLE`, `Dns`. IPv4 addresses are dotted quads, IPv6 ones
//! RFC 4291 §2.2 text (compressed as RFC 5952 recommends); a non-zero port
//! follows as `:port` (`[address]:port` for IPv6).
#![forbid(unsafe_code)]

use super::{byte_array_number, call, hex_dump, hex_number, nul_terminated_ascii, plain_string, Fields, TextForm};
use crate::device_path::{
    MSG_BLUETOOTH_DP, MSG_BLUETOOTH_LE_DP, MSG_DNS_DP, MSG_IPV4_DP, MSG_IPV6_DP, MSG_ISCSI_DP, MSG_MAC_ADDR_DP,
    MSG_URI_DP, MSG_VLAN_DP, MSG_WIFI_DP,
};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

/// IANA protocol numbers with a keyword (§10.6.1.6 IPv4/IPv6 Protocol).
pub(crate) const PROTOCOL_TCP: u16 = 6;
pub(crate) const PROTOCOL_UDP: u16 = 17;
/// §10.6.1.6 IPv4 Type, by StaticIPAddress value.
pub(crate) const IPV4_ORIGIN: [&str; 2] = ["DHCP", "Static"];
/// §10.6.1.6 IPv6 IPAddressOrigin, by value.
pub(crate) const IPV6_ORIGIN: [&str; 3] = ["Static", "StatelessAutoConfigure", "StatefulAutoConfigure"];

pub(super) fn network(sub_type: u8, data: &[u8], form: TextForm) -> Option<String> {
    let mut f = Fields::new(data);
    let text = match sub_type {
        MSG_MAC_ADDR_DP => {
            let (address, if_type) = (f.array::<32>()?, f.u8()?);
            // §10.6.1.6: for IfType 0 or 1 (Ethernet) the address is six bytes.
            let shown = if if_type <= 1 {
                address[6..].iter().all(|&b| b == 0).then_some(&address[..6])?
            } else {
                &address[..]
            };
            call("MAC", &[&hex_dump(shown), &hex_number(if_type.into())])
        }
        MSG_IPV4_DP => {
            let (local, remote) = (f.array::<4>()?, f.array::<4>()?);
            let (local_port, remote_port, protocol) = (f.u16()?, f.u16()?, f.u16()?);
            let (origin, gateway, mask) = (f.u8()?, f.array::<4>()?, f.array::<4>()?);
            let remote = ipv4(remote, remote_port);
            if form.display_only {
                call("IPv4", &[&remote])
            } else {
                let origin = IPV4_ORIGIN.get(usize::from(origin))?;
                let local = ipv4(local, local_port);
                let (gateway, mask) = (ipv4(gateway, 0), ipv4(mask, 0));
                call(
                    "IPv4",
                    &[&remote, &protocol_text(protocol), origin, &local, &gateway, &mask],
                )
            }
        }
        MSG_IPV6_DP => {
            let (local, remote) = (f.array::<16>()?, f.array::<16>()?);
            let (local_port, remote_port, protocol) = (f.u16()?, f.u16()?, f.u16()?);
            let (origin, prefix, gateway) = (f.u8()?, f.u8()?, f.array::<16>()?);
            let remote = ipv6(remote, remote_port);
            if form.display_only {
                call("IPv6", &[&remote])
            } else {
                let origin = IPV6_ORIGIN.get(usize::from(origin))?;
                let local = ipv6(local, local_port);
                call(
                    "IPv6",
                    &[
                        &remote,
                        &protocol_text(protocol),
                        origin,
                        &local,
                        &hex_number(prefix.into()),
                        &ipv6(gateway, 0),
                    ],
                )
            }
        }
        MSG_ISCSI_DP => iscsi(&mut f)?,
        MSG_VLAN_DP => call("Vlan", &[&format!("{}", f.u16()?)]),
        MSG_URI_DP => {
            let uri = core::str::from_utf8(f.rest()).ok()?;
            uri.bytes()
                .all(|b| (0x21..0x7F).contains(&b) && b != b'(' && b != b')')
                .then_some(())?;
            call("Uri", &[uri])
        }
        MSG_BLUETOOTH_DP => call("Bluetooth", &[&hex_dump(&f.array::<6>()?)]),
        MSG_WIFI_DP => {
            let ssid = f.array::<32>()?;
            let len = ssid.iter().position(|&b| b == 0).unwrap_or(ssid.len());
            ssid[len..].iter().all(|&b| b == 0).then_some(())?;
            let ssid = core::str::from_utf8(&ssid[..len]).ok().filter(|s| plain_string(s))?;
            call("Wi-Fi", &[ssid])
        }
        MSG_BLUETOOTH_LE_DP => {
            let (address, address_type) = (f.array::<6>()?, f.u8()?);
            call("BluetoothLE", &[&hex_dump(&address), &hex_number(address_type.into())])
        }
        MSG_DNS_DP => dns(&mut f)?,
        _ => return None,
    };
    f.end()?;
    Some(text)
}

fn protocol_text(protocol: u16) -> String {
    match protocol {
        PROTOCOL_TCP => String::from("TCP"),
        PROTOCOL_UDP => String::from("UDP"),
        other => hex_number(other.into()),
    }
}

pub(crate) fn ipv4(address: [u8; 4], port: u16) -> String {
    let [a, b, c, d] = address;
    let mut text = format!("{a}.{b}.{c}.{d}");
    if port != 0 {
        let _ = write!(text, ":{port}");
    }
    text
}

pub(crate) fn ipv6(address: [u8; 16], port: u16) -> String {
    let groups: Vec<u16> = address
        .chunks_exact(2)
        .map(|g| u16::from_be_bytes([g[0], g[1]]))
        .collect();
    // RFC 5952 §4.2: the longest run of two or more zero groups becomes "::".
    let (mut best, mut run) = ((0usize, 0usize), (0usize, 0usize));
    for (i, &group) in groups.iter().enumerate() {
        if group == 0 {
            if run.1 == 0 {
                run.0 = i;
            }
            run.1 += 1;
            if run.1 > best.1 {
                best = run;
            }
        } else {
            run.1 = 0;
        }
    }
    let mut text = String::new();
    let join = |text: &mut String, groups: &[u16]| {
        for (i, group) in groups.iter().enumerate() {
            if i > 0 {
                text.push(':');
            }
            let _ = write!(text, "{group:x}");
        }
    };
    if best.1 >= 2 {
        join(&mut text, &groups[..best.0]);
        text.push_str("::");
        join(&mut text, &groups[best.0 + best.1..]);
    } else {
        join(&mut text, &groups);
    }
    if port != 0 {
        text = format!("[{text}]:{port}");
    }
    text
}

/// iSCSI login option keywords (§10.3.4.20): digests in bits 0-1 and 2-3,
/// the authentication method in bits 10-11 and the CHAP kind in bit 12.
pub(crate) const ISCSI_HEADER_DIGEST_CRC32C: u16 = 0x0002;
pub(crate) const ISCSI_DATA_DIGEST_CRC32C: u16 = 0x0008;
pub(crate) const ISCSI_AUTH_NONE: u16 = 0x0800;
pub(crate) const ISCSI_CHAP_UNI: u16 = 0x1000;

fn iscsi(f: &mut Fields<'_>) -> Option<String> {
    let (protocol, options, lun, portal_group) = (f.u16()?, f.u16()?, f.array::<8>()?, f.u16()?);
    // The target name, NUL-terminated as in the §10.3.4.20 examples.
    let name = nul_terminated_ascii(f.rest())?;
    let digest = |bits: u16, crc: u16| match bits {
        0 => Some("None"),
        b if b == crc => Some("CRC32C"),
        _ => None,
    };
    let header = digest(options & 0x0003, ISCSI_HEADER_DIGEST_CRC32C)?;
    let data = digest(options & 0x000C, ISCSI_DATA_DIGEST_CRC32C)?;
    let auth = match options & 0x1C00 {
        0 => "CHAP_BI",
        ISCSI_CHAP_UNI => "CHAP_UNI",
        ISCSI_AUTH_NONE => "None",
        _ => return None,
    };
    // Reserved bits 4-9 and 13-15 have no text.
    (options & 0xE3F0 == 0).then_some(())?;
    let protocol = if protocol == 0 {
        String::from("TCP")
    } else {
        hex_number(protocol.into())
    };
    Some(call(
        "iSCSI",
        &[
            name,
            &hex_number(portal_group.into()),
            &byte_array_number(lun),
            header,
            data,
            auth,
            &protocol,
        ],
    ))
}

/// `Dns(address,...)`: IsIPv6, then 16-byte EFI_IP_ADDRESS entries (§10.3.4.31).
fn dns(f: &mut Fields<'_>) -> Option<String> {
    let is_ipv6 = f.u8()?;
    let entries = f.rest();
    if is_ipv6 > 1 || !entries.len().is_multiple_of(16) || (is_ipv6 == 1 && entries.is_empty()) {
        return None;
    }
    let mut addresses = Vec::new();
    for entry in entries.chunks_exact(16) {
        let mut address = [0u8; 16];
        address.copy_from_slice(entry);
        addresses.push(if is_ipv6 == 1 {
            ipv6(address, 0)
        } else {
            entry[4..].iter().all(|&b| b == 0).then_some(())?;
            ipv4([entry[0], entry[1], entry[2], entry[3]], 0)
        });
    }
    let addresses: Vec<&str> = addresses.iter().map(String::as_str).collect();
    Some(call("Dns", &addresses))
}
