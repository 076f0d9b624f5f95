//! The §10.6.1.6 table, node by node: each node built byte by byte as §10.3
//! lays it out, its text in each form, and the text read back.

use super::{node_to_text, TextForm};
use crate::device_path::from_text::{node_from_text, path_from_text};
use crate::device_path::node::Node;
use std::string::String;
use std::vec;
use std::vec::Vec;

/// A node: header, then the fields' bytes.
fn node(kind: u8, sub_type: u8, fields: &[&[u8]]) -> Vec<u8> {
    let data: Vec<u8> = fields.concat();
    let length = (4 + data.len()) as u16;
    let mut node = vec![kind, sub_type];
    node.extend_from_slice(&length.to_le_bytes());
    node.extend_from_slice(&data);
    node
}

/// A GUID's stored bytes from its text fields.
fn guid(a: u32, b: u16, c: u16, d: [u8; 8]) -> Vec<u8> {
    [&a.to_le_bytes()[..], &b.to_le_bytes(), &c.to_le_bytes(), &d].concat()
}

fn ucs2(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

struct Case {
    bytes: Vec<u8>,
    /// DisplayOnly FALSE, AllowShortcuts FALSE.
    parseable: &'static str,
    /// DisplayOnly FALSE, AllowShortcuts TRUE (`None`: as `parseable`).
    shortcut: Option<&'static str>,
    /// DisplayOnly TRUE, AllowShortcuts TRUE (`None`: as `shortcut`).
    display: Option<&'static str>,
}

fn case(bytes: Vec<u8>, parseable: &'static str) -> Case {
    Case {
        bytes,
        parseable,
        shortcut: None,
        display: None,
    }
}

impl Case {
    fn shortcut(mut self, text: &'static str) -> Case {
        self.shortcut = Some(text);
        self
    }
    fn display(mut self, text: &'static str) -> Case {
        self.display = Some(text);
        self
    }
}

const ACPI_HWP0002: u32 = 0x0002_22F0;
const PNP0A03: u32 = 0x0A03_41D0;

fn cases() -> Vec<Case> {
    let vendor = guid(
        0x1a2b3c4d,
        0x5e6f,
        0x7a8b,
        [0x9c, 0xad, 0xbe, 0xcf, 0xd0, 0xe1, 0xf2, 0x03],
    );
    let vendor_text = "1A2B3C4D-5E6F-7A8B-9CAD-BECFD0E1F203";
    let pc_ansi = guid(
        0xe0c14753,
        0xf9be,
        0x11d2,
        [0x9a, 0x0c, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d],
    );
    let vt100 = guid(
        0xdfa66065,
        0xb419,
        0x11d3,
        [0x9a, 0x2d, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d],
    );
    let vt100_plus = guid(
        0x7baec70b,
        0x57e0,
        0x4c76,
        [0x8e, 0x87, 0x2f, 0x9e, 0x28, 0x08, 0x83, 0x43],
    );
    let utf8 = guid(
        0xad15a0d6,
        0x8bec,
        0x4acf,
        [0xa0, 0x73, 0xd0, 0x1d, 0xe7, 0x7e, 0x2d, 0x88],
    );
    let flow = guid(
        0x37499a9d,
        0x542f,
        0x4c89,
        [0xa0, 0x26, 0x35, 0xda, 0x14, 0x20, 0x94, 0xe4],
    );
    let sas = guid(
        0xd487ddb4,
        0x008b,
        0x11d9,
        [0xaf, 0xdc, 0x00, 0x10, 0x83, 0xff, 0xca, 0x4d],
    );
    let debug_port = guid(
        0xeba4e8d2,
        0x3858,
        0x41ec,
        [0xa2, 0x81, 0x26, 0x47, 0xba, 0x96, 0x60, 0xd0],
    );
    let virtual_disk = guid(
        0x77ab535a,
        0x45fc,
        0x624b,
        [0x55, 0x60, 0xf7, 0xb2, 0x81, 0xd1, 0xf9, 0x6e],
    );
    let virtual_cd = guid(
        0x3d5abd30,
        0x4175,
        0x87ce,
        [0x6d, 0x64, 0xd2, 0xad, 0xe5, 0x23, 0xc4, 0xbb],
    );
    let pvd = guid(
        0x5cea02c9,
        0x4d07,
        0x69d3,
        [0x26, 0x9f, 0x44, 0x96, 0xfb, 0xe0, 0x96, 0xf9],
    );
    let pvcd = guid(
        0x08018188,
        0x42cd,
        0xbb48,
        [0x10, 0x0f, 0x53, 0x87, 0xd5, 0x3d, 0xed, 0x3d],
    );
    let gpt = guid(
        0x15e39a00,
        0x1dd2,
        0x1000,
        [0x8d, 0x7f, 0x00, 0xa0, 0xc9, 0x24, 0x08, 0xfc],
    );
    let bd_addr = [0x00, 0x1a, 0x7d, 0xda, 0x71, 0x13];
    let mut ssid = [0u8; 32];
    ssid[..7].copy_from_slice(b"HomeNet");
    let mut mac = [0u8; 32];
    mac[..6].copy_from_slice(&[0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
    let ipv6 = |groups: [u16; 8]| -> Vec<u8> { groups.iter().flat_map(|g| g.to_be_bytes()).collect() };
    let zero4 = [0u8; 4];
    // A SAS vendor node (§10.3.4.18) of one address, LUN 0: its device
    // topology and relative target port.
    let sas_node = |topology: [u8; 2], port: [u8; 2]| {
        let address = 0x3100_0004_CF13_F6BDu64.to_le_bytes();
        node(3, 10, &[&sas, &zero4, &address, &[0; 8], &topology, &port])
    };
    vec![
        // Hardware (§10.3.2).
        case(node(1, 1, &[&[0x2, 0x1f]]), "Pci(0x1f,0x2)"),
        case(node(1, 2, &[&[3]]), "PcCard(0x3)"),
        case(
            node(
                1,
                3,
                &[
                    &11u32.to_le_bytes(),
                    &0xfeb0_0000u64.to_le_bytes(),
                    &0xfeb0_0fffu64.to_le_bytes(),
                ],
            ),
            "MemoryMapped(0xb,0xfeb00000,0xfeb00fff)",
        ),
        case(
            node(1, 4, &[&vendor, &[0xab, 0xcd]]),
            "VenHw(1A2B3C4D-5E6F-7A8B-9CAD-BECFD0E1F203,ABCD)",
        ),
        case(node(1, 5, &[&2u32.to_le_bytes()]), "Ctrl(0x2)"),
        case(node(1, 6, &[&[1], &0xca2u64.to_le_bytes()]), "BMC(0x1,0xca2)"),
        // ACPI (§10.3.3).
        case(node(2, 1, &[&PNP0A03.to_le_bytes(), &zero4]), "Acpi(PNP0A03,0x0)").shortcut("PciRoot(0x0)"),
        case(
            node(2, 1, &[&0x0A08_41D0u32.to_le_bytes(), &1u32.to_le_bytes()]),
            "Acpi(PNP0A08,0x1)",
        )
        .shortcut("PcieRoot(0x1)"),
        case(
            node(2, 1, &[&0x0604_41D0u32.to_le_bytes(), &1u32.to_le_bytes()]),
            "Acpi(PNP0604,0x1)",
        )
        .shortcut("Floppy(0x1)"),
        case(
            node(2, 1, &[&0x0301_41D0u32.to_le_bytes(), &zero4]),
            "Acpi(PNP0301,0x0)",
        )
        .shortcut("Keyboard(0x0)"),
        case(
            node(2, 1, &[&0x0501_41D0u32.to_le_bytes(), &1u32.to_le_bytes()]),
            "Acpi(PNP0501,0x1)",
        )
        .shortcut("Serial(0x1)"),
        case(
            node(2, 1, &[&0x0401_41D0u32.to_le_bytes(), &zero4]),
            "Acpi(PNP0401,0x0)",
        )
        .shortcut("ParallelPort(0x0)"),
        case(node(2, 1, &[&ACPI_HWP0002.to_le_bytes(), &zero4]), "Acpi(HWP0002,0x0)"),
        case(
            node(
                2,
                2,
                &[&ACPI_HWP0002.to_le_bytes(), &zero4, &PNP0A03.to_le_bytes(), b"\0\0\0"],
            ),
            "AcpiEx(HWP0002,PNP0A03,0x0,,,)",
        )
        .display("PciRoot(0x0)"),
        case(
            node(2, 2, &[&0x0D40_41D0u32.to_le_bytes(), &zero4, &zero4, b"\0SDC0\0\0"]),
            "AcpiEx(PNP0D40,0,0x0,,,SDC0)",
        )
        .shortcut("AcpiExp(PNP0D40,0,SDC0)")
        .display("AcpiEx(PNP0D40,0,SDC0)"),
        case(
            node(2, 3, &[&0x8001_0100u32.to_le_bytes(), &0x8001_0200u32.to_le_bytes()]),
            "AcpiAdr(0x80010100,0x80010200)",
        ),
        // Messaging (§10.3.4).
        case(node(3, 1, &[&[0, 1], &0u16.to_le_bytes()]), "Ata(Primary,Slave,0x0)").display("Ata(0x0)"),
        case(node(3, 2, &[&1u16.to_le_bytes(), &0u16.to_le_bytes()]), "Scsi(0x1,0x0)"),
        case(
            node(
                3,
                3,
                &[&zero4, &0x1122_3344_5566_7788u64.to_le_bytes(), &0u64.to_le_bytes()],
            ),
            "Fibre(0x1122334455667788,0x0)",
        ),
        case(
            node(
                3,
                21,
                &[
                    &zero4,
                    &[0x50, 0x06, 0x01, 0x60, 0x3c, 0xe0, 0x13, 0x9e],
                    &[0, 1, 0, 0, 0, 0, 0, 0],
                ],
            ),
            "FibreEx(0x500601603ce0139e,0x1000000000000)",
        ),
        case(
            node(3, 4, &[&zero4, &0x0011_2233_4455_6677u64.to_le_bytes()]),
            "I1394(0011223344556677)",
        ),
        case(node(3, 5, &[&[1, 0]]), "USB(0x1,0x0)"),
        case(node(3, 6, &[&5u32.to_le_bytes()]), "I2O(0x5)"),
        case(
            node(
                3,
                9,
                &[
                    &1u32.to_le_bytes(),
                    &vendor,
                    &2u64.to_le_bytes(),
                    &3u64.to_le_bytes(),
                    &4u64.to_le_bytes(),
                ],
            ),
            "Infiniband(0x1,1A2B3C4D-5E6F-7A8B-9CAD-BECFD0E1F203,0x2,0x3,0x4)",
        ),
        case(node(3, 10, &[&vendor]), "VenMsg(1A2B3C4D-5E6F-7A8B-9CAD-BECFD0E1F203)"),
        case(node(3, 10, &[&pc_ansi]), "VenMsg(E0C14753-F9BE-11D2-9A0C-0090273FC14D)").shortcut("VenPcAnsi()"),
        case(node(3, 10, &[&vt100]), "VenMsg(DFA66065-B419-11D3-9A2D-0090273FC14D)").shortcut("VenVt100()"),
        case(
            node(3, 10, &[&vt100_plus]),
            "VenMsg(7BAEC70B-57E0-4C76-8E87-2F9E28088343)",
        )
        .shortcut("VenVt100Plus()"),
        case(node(3, 10, &[&utf8]), "VenMsg(AD15A0D6-8BEC-4ACF-A073-D01DE77E2D88)").shortcut("VenUtf8()"),
        case(
            node(3, 10, &[&debug_port]),
            "VenMsg(EBA4E8D2-3858-41EC-A281-2647BA9660D0)",
        )
        .shortcut("DebugPort()"),
        case(
            node(3, 10, &[&flow, &2u32.to_le_bytes()]),
            "VenMsg(37499A9D-542F-4C89-A026-35DA142094E4,02000000)",
        )
        .shortcut("UartFlowCtrl(XonXoff)"),
        case(
            sas_node([0, 0], [0, 0]),
            "VenMsg(D487DDB4-008B-11D9-AFDC-001083FFCA4D,00000000BDF613CF04000031000000000000000000000000)",
        )
        .shortcut("SAS(0x31000004cf13f6bd,0x0,0x0,NoTopology)"),
        case(
            sas_node(0x0312u16.to_le_bytes(), [1, 0]),
            "VenMsg(D487DDB4-008B-11D9-AFDC-001083FFCA4D,00000000BDF613CF04000031000000000000000012030100)",
        )
        .shortcut("SAS(0x31000004cf13f6bd,0x0,0x1,SATA,Internal,Direct,4)"),
        case(
            node(3, 14, &[&zero4, &115_200u64.to_le_bytes(), &[8, 1, 1]]),
            "Uart(115200,8,N,1)",
        ),
        case(
            node(3, 14, &[&zero4, &9600u64.to_le_bytes(), &[7, 7, 1]]),
            "Uart(9600,7,0x7,0x1)",
        ),
        case(
            node(3, 15, &[&0x046du16.to_le_bytes(), &0xc52bu16.to_le_bytes(), &[3, 1, 1]]),
            "UsbClass(0x46d,0xc52b,0x3,0x1,0x1)",
        )
        .shortcut("UsbHID(0x46d,0xc52b,0x1,0x1)"),
        case(
            node(3, 15, &[&[0xff; 4], &[8, 6, 0x50]]),
            "UsbClass(0xffff,0xffff,0x8,0x6,0x50)",
        )
        .shortcut("UsbMassStorage(0xffff,0xffff,0x6,0x50)"),
        case(
            node(3, 15, &[&[0xff; 4], &[254, 1, 0]]),
            "UsbClass(0xffff,0xffff,0xfe,0x1,0x0)",
        )
        .shortcut("UsbDeviceFirmwareUpdate(0xffff,0xffff,0x0)"),
        case(
            node(3, 15, &[&[0xff; 4], &[0xff, 0xff, 0xff]]),
            "UsbClass(0xffff,0xffff,0xff,0xff,0xff)",
        ),
        case(
            node(
                3,
                16,
                &[
                    &0u16.to_le_bytes(),
                    &0x0781u16.to_le_bytes(),
                    &0x5567u16.to_le_bytes(),
                    &ucs2("20060775"),
                ],
            ),
            "UsbWwid(0x781,0x5567,0x0,\"20060775\")",
        ),
        case(node(3, 17, &[&[0]]), "Unit(0x0)"),
        case(
            node(
                3,
                18,
                &[&0u16.to_le_bytes(), &0xffffu16.to_le_bytes(), &0u16.to_le_bytes()],
            ),
            "Sata(0x0,0xffff,0x0)",
        ),
        case(
            node(
                3,
                22,
                &[
                    &[0x50, 0, 0x0c, 0x29, 0, 0, 0, 1],
                    &[0; 8],
                    &0x0061u16.to_le_bytes(),
                    &[0, 0],
                ],
            ),
            "SasEx(0x50000c2900000001,0x0,0x0,SAS,External,Expanded)",
        ),
        case(
            node(3, 23, &[&1u32.to_le_bytes(), &[1, 2, 3, 4, 5, 6, 7, 8]]),
            "NVMe(0x1,08-07-06-05-04-03-02-01)",
        ),
        case(node(3, 25, &[&[0, 0x81]]), "UFS(0x0,0x81)"),
        case(node(3, 26, &[&[1]]), "SD(0x1)"),
        case(node(3, 29, &[&[0]]), "eMMC(0x0)"),
        case(node(3, 11, &[&mac, &[1]]), "MAC(525400123456,0x1)"),
        case(
            node(
                3,
                12,
                &[
                    &[192, 168, 0, 1],
                    &[192, 168, 0, 100],
                    &0u16.to_le_bytes(),
                    &3260u16.to_le_bytes(),
                    &6u16.to_le_bytes(),
                    &[1],
                    &[192, 168, 0, 254],
                    &[255, 255, 255, 0],
                ],
            ),
            "IPv4(192.168.0.100:3260,TCP,Static,192.168.0.1,192.168.0.254,255.255.255.0)",
        )
        .display("IPv4(192.168.0.100:3260)"),
        case(
            node(
                3,
                13,
                &[
                    &ipv6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]),
                    &ipv6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 2]),
                    &0u16.to_le_bytes(),
                    &0u16.to_le_bytes(),
                    &17u16.to_le_bytes(),
                    &[1, 64],
                    &ipv6([0xfe80, 0, 0, 0, 0, 0, 0, 1]),
                ],
            ),
            "IPv6(2001:db8::2,UDP,StatelessAutoConfigure,2001:db8::1,0x40,fe80::1)",
        )
        .display("IPv6(2001:db8::2)"),
        // The §10.3.4.20 example's iSCSI node and its text.
        case(
            node(
                3,
                19,
                &[
                    &0u16.to_le_bytes(),
                    &0x800u16.to_le_bytes(),
                    &[0; 8],
                    &1u16.to_le_bytes(),
                    b"iqn.1991-05.com.microsoft:iscsitarget-iscsidisk-target\0",
                ],
            ),
            "iSCSI(iqn.1991-05.com.microsoft:iscsitarget-iscsidisk-target,0x1,0x0,None,None,None,TCP)",
        ),
        case(node(3, 20, &[&100u16.to_le_bytes()]), "Vlan(100)"),
        case(
            node(3, 24, &[b"http://192.168.0.1/boot.efi"]),
            "Uri(http://192.168.0.1/boot.efi)",
        ),
        case(node(3, 24, &[]), "Uri()"),
        case(node(3, 27, &[&bd_addr]), "Bluetooth(001A7DDA7113)"),
        case(node(3, 28, &[&ssid]), "Wi-Fi(HomeNet)"),
        case(node(3, 30, &[&bd_addr, &[1]]), "BluetoothLE(001A7DDA7113,0x1)"),
        case(
            node(3, 31, &[&[0], &[8, 8, 8, 8], &[0; 12], &[1, 1, 1, 1], &[0; 12]]),
            "Dns(8.8.8.8,1.1.1.1)",
        ),
        case(
            node(3, 31, &[&[1], &ipv6([0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888])]),
            "Dns(2001:4860:4860::8888)",
        ),
        // Media (§10.3.5).
        case(
            node(
                4,
                1,
                &[
                    &1u32.to_le_bytes(),
                    &0x22u64.to_le_bytes(),
                    &0x2710000u64.to_le_bytes(),
                    &gpt,
                    &[2, 2],
                ],
            ),
            "HD(1,GPT,15E39A00-1DD2-1000-8D7F-00A0C92408FC,0x22,0x2710000)",
        )
        .display("HD(1,GPT,15E39A00-1DD2-1000-8D7F-00A0C92408FC)"),
        case(
            node(
                4,
                1,
                &[
                    &1u32.to_le_bytes(),
                    &0x800u64.to_le_bytes(),
                    &0x2ee000u64.to_le_bytes(),
                    &0xA002_1243u32.to_le_bytes(),
                    &[0; 12],
                    &[1, 1],
                ],
            ),
            "HD(1,MBR,0xa0021243,0x800,0x2ee000)",
        )
        .display("HD(1,MBR,0xa0021243)"),
        case(
            node(
                4,
                2,
                &[&0u32.to_le_bytes(), &0x1eu64.to_le_bytes(), &0x2b20u64.to_le_bytes()],
            ),
            "CDROM(0x0,0x1e,0x2b20)",
        )
        .display("CDROM(0x0)"),
        case(node(4, 3, &[&vendor]), "VenMedia(1A2B3C4D-5E6F-7A8B-9CAD-BECFD0E1F203)"),
        case(
            node(4, 4, &[&ucs2("\\EFI\\BOOT\\BOOTX64.EFI\0")]),
            "\\EFI\\BOOT\\BOOTX64.EFI",
        ),
        case(node(4, 4, &[&ucs2("Program Files (x86)\0")]), "Program Files (x86)"),
        case(node(4, 5, &[&vendor]), "Media(1A2B3C4D-5E6F-7A8B-9CAD-BECFD0E1F203)"),
        case(node(4, 6, &[&vendor]), "FvFile(1A2B3C4D-5E6F-7A8B-9CAD-BECFD0E1F203)"),
        case(node(4, 7, &[&vendor]), "Fv(1A2B3C4D-5E6F-7A8B-9CAD-BECFD0E1F203)"),
        case(
            node(4, 8, &[&zero4, &0u64.to_le_bytes(), &0x1ffu64.to_le_bytes()]),
            "Offset(0x0,0x1ff)",
        ),
        case(
            node(
                4,
                9,
                &[
                    &0x1000_0000u64.to_le_bytes(),
                    &0x10ff_ffffu64.to_le_bytes(),
                    &virtual_disk,
                    &[0, 0],
                ],
            ),
            "RamDisk(0x10000000,0x10ffffff,0x0,77AB535A-45FC-624B-5560-F7B281D1F96E)",
        )
        .shortcut("VirtualDisk(0x10000000,0x10ffffff,0x0)"),
        case(
            node(
                4,
                9,
                &[&0x1000u64.to_le_bytes(), &0x1fffu64.to_le_bytes(), &virtual_cd, &[1, 0]],
            ),
            "RamDisk(0x1000,0x1fff,0x1,3D5ABD30-4175-87CE-6D64-D2ADE523C4BB)",
        )
        .shortcut("VirtualCD(0x1000,0x1fff,0x1)"),
        case(
            node(
                4,
                9,
                &[&0x1000u64.to_le_bytes(), &0x1fffu64.to_le_bytes(), &pvd, &[0, 0]],
            ),
            "RamDisk(0x1000,0x1fff,0x0,5CEA02C9-4D07-69D3-269F-4496FBE096F9)",
        )
        .shortcut("PersistentVirtualDisk(0x1000,0x1fff,0x0)"),
        case(
            node(
                4,
                9,
                &[&0x1000u64.to_le_bytes(), &0x1fffu64.to_le_bytes(), &pvcd, &[0, 0]],
            ),
            "RamDisk(0x1000,0x1fff,0x0,08018188-42CD-BB48-100F-5387D53DED3D)",
        )
        .shortcut("PersistentVirtualCD(0x1000,0x1fff,0x0)"),
        // BIOS boot specification (§10.3.6).
        case(
            node(5, 1, &[&2u16.to_le_bytes(), &0u16.to_le_bytes(), b"Debian\0"]),
            "BBS(HD,Debian,0x0)",
        )
        .display("BBS(HD,Debian)"),
        // Kinds without a text of their own.
        case(node(6, 1, &[&[0xab]]), "Path(6,1,AB)"),
        case(node(3, 32, &[&vendor]), "Msg(32,4D3C2B1A6F5E8B7A9CADBECFD0E1F203)"),
        case(node(1, 9, &[]), "HardwarePath(9)"),
    ]
    .into_iter()
    .inspect(|c| assert!(!vendor_text.is_empty() && !c.bytes.is_empty()))
    .collect()
}

fn text(bytes: &[u8], form: TextForm) -> String {
    node_to_text(&Node::parse(bytes).unwrap(), form)
}

#[test]
fn every_node_kind_of_the_table_has_the_spec_text_in_each_form() {
    for c in cases() {
        let shortcut = c.shortcut.unwrap_or(c.parseable);
        let display = c.display.unwrap_or(shortcut);
        assert_eq!(text(&c.bytes, TextForm::PARSEABLE), c.parseable, "{:02x?}", c.bytes);
        assert_eq!(text(&c.bytes, TextForm::SHORTCUTS), shortcut, "{:02x?}", c.bytes);
        assert_eq!(text(&c.bytes, TextForm::DISPLAY), display, "{:02x?}", c.bytes);
        // Display-only without shortcuts: the display form, shortcuts spelled out.
        let plain_display = TextForm {
            display_only: true,
            allow_shortcuts: false,
        };
        if c.display.is_none() {
            assert_eq!(text(&c.bytes, plain_display), c.parseable, "{:02x?}", c.bytes);
        }
    }
}

#[test]
fn every_node_kind_of_the_table_reads_back_from_its_text() {
    for c in cases() {
        for form in [TextForm::PARSEABLE, TextForm::SHORTCUTS] {
            let written = text(&c.bytes, form);
            assert_eq!(node_from_text(&written).as_deref(), Ok(&c.bytes[..]), "{written}");
        }
    }
    // All of them as one path, and as a path of one instance per node.
    let all: Vec<u8> = cases()
        .iter()
        .flat_map(|c| c.bytes.clone())
        .chain([0x7f, 0xff, 4, 0])
        .collect();
    let written = super::path_to_text(&all, TextForm::SHORTCUTS).unwrap();
    assert_eq!(path_from_text(&written).unwrap(), all);
    let mut instances: Vec<u8> = Vec::new();
    for c in cases() {
        instances.extend_from_slice(&c.bytes);
        instances.extend_from_slice(&[0x7f, 0x01, 4, 0]);
    }
    instances.extend_from_slice(&[0x7f, 0xff, 4, 0]);
    let written = super::path_to_text(&instances, TextForm::PARSEABLE).unwrap();
    assert!(written.ends_with(','));
    assert_eq!(path_from_text(&written).unwrap(), instances);
}

#[test]
fn shortened_and_defaulted_inputs_take_the_table_defaults() {
    let pairs: [(&str, &str); 12] = [
        ("PciRoot()", "PciRoot(0x0)"),
        ("Acpi(pnp0a03)", "PciRoot(0x0)"),
        ("AcpiEx(HWP0002,PNP0A03,0)", "AcpiEx(HWP0002,PNP0A03,0x0,,,)"),
        ("Uart()", "Uart(115200,8,D,D)"),
        ("UsbHID()", "UsbHID(0xffff,0xffff,0xff,0xff)"),
        ("IPv4(10.0.0.1)", "IPv4(10.0.0.1,UDP,DHCP,0.0.0.0,0.0.0.0,0.0.0.0)"),
        ("IPv6([::1]:80)", "IPv6([::1]:80,UDP,Static,::,0x0,::)"),
        ("MAC(525400123456)", "MAC(525400123456,0x0)"),
        ("iSCSI(iqn.x,1,0)", "iSCSI(iqn.x,0x1,0x0,None,None,None,TCP)"),
        ("SAS(0x5)", "SAS(0x5,0x0,0x0,NoTopology)"),
        ("Sata(1,,0)", "Sata(0x1,0xffff,0x0)"),
        ("BBS(0x80,\"Legacy NIC\")", "BBS(0x80,Legacy NIC,0x0)"),
    ];
    for (input, expected) in pairs {
        let bytes = node_from_text(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(text(&bytes, TextForm::SHORTCUTS), expected, "{input}");
    }
}

#[test]
fn nodes_their_kind_cannot_write_fall_back_to_the_generic_form() {
    let cases: [(Vec<u8>, &str); 7] = [
        // A PCI node one byte too long.
        (node(1, 1, &[&[0, 3, 9]]), "HardwarePath(1,000309)"),
        // A signature type that is reserved.
        (
            node(4, 1, &[&[0; 36], &[2, 3]]),
            "MediaPath(1,0000000000000000000000000000000000000000000000000000000000000000000000000203)",
        ),
        // A file name with a '/' in it, and one without its NUL.
        (node(4, 4, &[&ucs2("a/b\0")]), "MediaPath(4,61002F0062000000)"),
        (node(4, 4, &[&ucs2("ab")]), "MediaPath(4,61006200)"),
        // A USB serial number with a ',' in it.
        (
            node(3, 16, &[&[0; 6], &ucs2("a,b")]),
            "Msg(16,00000000000061002C006200)",
        ),
        // IPv4 with a StaticIPAddress value that has no keyword.
        (
            node(3, 12, &[&[0; 14], &[7], &[0; 8]]),
            "Msg(12,0000000000000000000000000000070000000000000000)",
        ),
        // A UART node whose reserved field is set.
        (
            node(3, 14, &[&[1, 0, 0, 0], &[0; 8], &[8, 1, 1]]),
            "Msg(14,010000000000000000000000080101)",
        ),
    ];
    for (bytes, expected) in cases {
        assert_eq!(text(&bytes, TextForm::PARSEABLE), expected);
        assert_eq!(node_from_text(expected).as_deref(), Ok(&bytes[..]), "{expected}");
    }
}
