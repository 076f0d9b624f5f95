//! Network messaging nodes (UEFI 2.10 §10.3.4) from their §10.6.1.6 text.
//! Addresses: IPv4 dotted quads and RFC 4291 §2.2 IPv6 text, each optionally
//! followed by `:port` (`[address]:port` for IPv6).
#![forbid(unsafe_code)]

use super::messaging::Bytes;
use super::{byte_array, hex, keyword_or_number, number, Args, Made};
use crate::device_path::text::{
    IPV4_ORIGIN, IPV6_ORIGIN, ISCSI_AUTH_NONE, ISCSI_CHAP_UNI, ISCSI_DATA_DIGEST_CRC32C, ISCSI_HEADER_DIGEST_CRC32C,
    PROTOCOL_TCP, PROTOCOL_UDP,
};
use crate::device_path::{
    MESSAGING_DEVICE_PATH, MSG_BLUETOOTH_DP, MSG_BLUETOOTH_LE_DP, MSG_DNS_DP, MSG_IPV4_DP, MSG_IPV6_DP, MSG_ISCSI_DP,
    MSG_MAC_ADDR_DP, MSG_URI_DP, MSG_VLAN_DP, MSG_WIFI_DP,
};
use alloc::vec::Vec;

/// The node named `name`, `None` if network nodes have no such name.
pub(super) fn parse(name: &str, a: &Args<'_>) -> Option<Made> {
    let msg = |sub_type: u8, data: Option<Bytes>| data.map(|d| (MESSAGING_DEVICE_PATH, sub_type, d.0));
    Some(match name {
        "MAC" => msg(
            MSG_MAC_ADDR_DP,
            (|| {
                a.at_most(2)?;
                let address = hex(a.get(0)?)?;
                (address.len() <= 32).then_some(())?;
                let mut padded = [0u8; 32];
                padded[..address.len()].copy_from_slice(&address);
                Some(Bytes::default().bytes(&padded).u8(a.num_or(1, 0)?))
            })(),
        ),
        "IPv4" => msg(
            MSG_IPV4_DP,
            (|| {
                a.at_most(6)?;
                let (remote, remote_port) = ipv4(a.get(0)?)?;
                let protocol = protocol(a.get(1))?;
                let origin: u8 = match a.get(2) {
                    Some(text) => IPV4_ORIGIN.iter().position(|k| *k == text)? as u8,
                    None => 0,
                };
                let (local, local_port) = a.get(3).map_or(Some(([0; 4], 0)), ipv4)?;
                let gateway = a
                    .get(4)
                    .map_or(Some(([0; 4], 0)), ipv4)
                    .filter(|(_, port)| *port == 0)?
                    .0;
                let mask = a
                    .get(5)
                    .map_or(Some(([0; 4], 0)), ipv4)
                    .filter(|(_, port)| *port == 0)?
                    .0;
                let d = Bytes::default()
                    .bytes(&local)
                    .bytes(&remote)
                    .u16(local_port)
                    .u16(remote_port);
                Some(d.u16(protocol).u8(origin).bytes(&gateway).bytes(&mask))
            })(),
        ),
        "IPv6" => msg(
            MSG_IPV6_DP,
            (|| {
                a.at_most(6)?;
                let (remote, remote_port) = ipv6_with_port(a.get(0)?)?;
                let protocol = protocol(a.get(1))?;
                let origin: u8 = match a.get(2) {
                    Some(text) => IPV6_ORIGIN.iter().position(|k| *k == text)? as u8,
                    None => 0,
                };
                let (local, local_port) = a.get(3).map_or(Some(([0; 16], 0)), ipv6_with_port)?;
                let prefix = a.num_or(4, 0u8)?;
                let gateway = a.get(5).map_or(Some([0; 16]), ipv6)?;
                let d = Bytes::default()
                    .bytes(&local)
                    .bytes(&remote)
                    .u16(local_port)
                    .u16(remote_port);
                Some(d.u16(protocol).u8(origin).u8(prefix).bytes(&gateway))
            })(),
        ),
        "iSCSI" => msg(MSG_ISCSI_DP, iscsi(a)),
        "Vlan" => msg(
            MSG_VLAN_DP,
            (|| Some(Bytes::default().u16(a.num(0)?)))().filter(|_| a.len() == 1),
        ),
        "Uri" => msg(
            MSG_URI_DP,
            Some(Bytes::default().bytes(a.raw(0).unwrap_or("").as_bytes())),
        ),
        "Bluetooth" => msg(
            MSG_BLUETOOTH_DP,
            (|| Some(Bytes::default().bytes(&hex(a.get(0)?).filter(|b| b.len() == 6)?)))().filter(|_| a.len() == 1),
        ),
        "Wi-Fi" => msg(
            MSG_WIFI_DP,
            (|| {
                a.at_most(1)?;
                let ssid = a.raw(0).unwrap_or("").as_bytes();
                (ssid.len() <= 32).then_some(())?;
                let mut padded = [0u8; 32];
                padded[..ssid.len()].copy_from_slice(ssid);
                Some(Bytes::default().bytes(&padded))
            })(),
        ),
        "BluetoothLE" => msg(
            MSG_BLUETOOTH_LE_DP,
            (|| {
                Some(
                    Bytes::default()
                        .bytes(&hex(a.get(0)?).filter(|b| b.len() == 6)?)
                        .u8(a.num(1)?),
                )
            })()
            .filter(|_| a.len() == 2),
        ),
        "Dns" => msg(MSG_DNS_DP, dns(a)),
        _ => return None,
    })
}

/// `TCP`, `UDP` or a number; UDP when absent (§10.6.1.6).
fn protocol(text: Option<&str>) -> Option<u16> {
    match text {
        None => Some(PROTOCOL_UDP),
        Some("TCP") => Some(PROTOCOL_TCP),
        Some("UDP") => Some(PROTOCOL_UDP),
        Some(other) => number(other),
    }
}

/// `a.b.c.d` with an optional `:port`.
fn ipv4(text: &str) -> Option<([u8; 4], u16)> {
    let (address, port) = match text.split_once(':') {
        Some((address, port)) => (address, port.parse().ok()?),
        None => (text, 0),
    };
    let parts: Vec<u8> = address
        .split('.')
        .map(|p| {
            (!p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse().ok())
                .flatten()
        })
        .collect::<Option<Vec<u8>>>()?;
    Some((parts.try_into().ok()?, port))
}

/// An IPv6 address, or `[address]` with an optional `:port`.
fn ipv6_with_port(text: &str) -> Option<([u8; 16], u16)> {
    match text.strip_prefix('[') {
        Some(rest) => {
            let (address, after) = rest.split_once(']')?;
            let port = match after.strip_prefix(':') {
                Some(port) => port.parse().ok()?,
                None if after.is_empty() => 0,
                None => return None,
            };
            Some((ipv6(address)?, port))
        }
        None => Some((ipv6(text)?, 0)),
    }
}

/// RFC 4291 §2.2 text: eight groups of up to four hex digits, one `::` at most
/// standing for a run of zero groups.
fn ipv6(text: &str) -> Option<[u8; 16]> {
    let groups = |part: &str| -> Option<Vec<u16>> {
        if part.is_empty() {
            return Some(Vec::new());
        }
        part.split(':')
            .map(|g| {
                (!g.is_empty() && g.len() <= 4 && g.bytes().all(|b| b.is_ascii_hexdigit()))
                    .then(|| u16::from_str_radix(g, 16).ok())
                    .flatten()
            })
            .collect()
    };
    let all: Vec<u16> = match text.split_once("::") {
        Some((head, tail)) => {
            let (head, tail) = (groups(head)?, groups(tail)?);
            if head.len() + tail.len() > 7 {
                return None;
            }
            let mut all = head;
            all.resize(8 - tail.len(), 0);
            all.extend(tail);
            all
        }
        None => groups(text)?,
    };
    let all: [u16; 8] = all.try_into().ok()?;
    let mut bytes = [0u8; 16];
    for (i, group) in all.iter().enumerate() {
        bytes[2 * i..2 * i + 2].copy_from_slice(&group.to_be_bytes());
    }
    Some(bytes)
}

/// `iSCSI(TargetName,PortalGroup,LUN,HeaderDigest,DataDigest,Authentication,Protocol)`.
fn iscsi(a: &Args<'_>) -> Option<Bytes> {
    a.at_most(7)?;
    let name = a.get(0)?;
    let (portal_group, lun) = (a.num::<u16>(1)?, byte_array(a.get(2)?)?);
    let digest = |i, crc| match a.get(i) {
        None | Some("None") => Some(0),
        Some("CRC32C") => Some(crc),
        Some(_) => None,
    };
    let auth = match a.get(5) {
        None | Some("None") => ISCSI_AUTH_NONE,
        Some("CHAP_BI") => 0,
        Some("CHAP_UNI") => ISCSI_CHAP_UNI,
        Some(_) => return None,
    };
    let options = digest(3, ISCSI_HEADER_DIGEST_CRC32C)? | digest(4, ISCSI_DATA_DIGEST_CRC32C)? | auth;
    let protocol: u16 = keyword_or_number(a.get(6).unwrap_or("TCP"), &["TCP"])?;
    (name.is_ascii() && !name.contains('\0')).then_some(())?;
    let d = Bytes::default()
        .u16(protocol)
        .u16(options)
        .bytes(&lun)
        .u16(portal_group);
    Some(d.bytes(name.as_bytes()).u8(0))
}

/// `Dns(address,...)`: IPv6 when the addresses are, each in a 16-byte entry.
fn dns(a: &Args<'_>) -> Option<Bytes> {
    let texts: Vec<&str> = (0..a.len()).map(|i| a.get(i)).collect::<Option<Vec<&str>>>()?;
    let is_ipv6 = texts.first().is_some_and(|t| t.contains(':'));
    let mut d = Bytes::default().u8(u8::from(is_ipv6));
    for text in texts {
        let mut entry = [0u8; 16];
        if is_ipv6 {
            entry = ipv6(text)?;
        } else {
            let (address, port) = ipv4(text)?;
            (port == 0).then_some(())?;
            entry[..4].copy_from_slice(&address);
        }
        d = d.bytes(&entry);
    }
    Some(d)
}
