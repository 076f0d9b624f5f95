use super::fadt::*;
use super::*;
use std::string::ToString;
use std::vec;
use std::vec::Vec;

fn fadt(flags: u32, pm_tmr_blk: u32, x_pm_tmr: Option<(u8, u64)>) -> Vec<u8> {
    let mut t = vec![0u8; 244];
    t[0..4].copy_from_slice(b"FACP");
    t[4..8].copy_from_slice(&244u32.to_le_bytes());
    t[76..80].copy_from_slice(&pm_tmr_blk.to_le_bytes());
    t[91] = 4;
    t[112..116].copy_from_slice(&flags.to_le_bytes());
    if let Some((space, addr)) = x_pm_tmr {
        t[208] = space;
        t[212..220].copy_from_slice(&addr.to_le_bytes());
    }
    t
}

/// What `pm_timer` finds: the counter at `port`, 32 bits wide or 24.
fn timer(port: u16, wide: bool) -> Option<PmTimer> {
    Some(PmTimer { port, wide })
}

fn table(bytes: &[u8]) -> Table<'_> {
    Table {
        address: 0,
        header: SdtHeader::parse(bytes),
        bytes,
    }
}

#[test]
fn finds_s5_in_aml_encodings_used_by_qemu_and_cloud_hypervisor() {
    // Name(_S5, Package(4) {Zero, Zero, Zero, Zero}) as QEMU q35 writes it.
    let q35 = [0x08, b'_', b'S', b'5', b'_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00];
    assert_eq!(s5_sleep_type(&q35), Some((0, 0)));
    // Name(_S5, Package(1) {0x05}) as Cloud Hypervisor writes it.
    let ch = [0x08, b'_', b'S', b'5', b'_', 0x12, 0x04, 0x01, 0x0a, 0x05, 0x0a, 0x05];
    assert_eq!(s5_sleep_type(&ch), Some((5, 5)));
    // A two-byte PkgLength.
    let long = [b'_', b'S', b'5', b'_', 0x12, 0x40, 0x01, 0x02, 0x0a, 0x07, 0x01];
    assert_eq!(s5_sleep_type(&long), Some((7, 1)));
    assert_eq!(s5_sleep_type(b"_S5_"), None);
    assert_eq!(s5_sleep_type(&[b'_', b'S', b'5', b'_', 0x12, 0x06, 0x04, 0x0b]), None);
}

#[test]
fn reads_power_registers_from_the_fadt() {
    let mut t = fadt(FADT_FLAG_RESET_REG_SUP, 0x608, None);
    t[116] = GAS_SYSTEM_IO;
    t[120..128].copy_from_slice(&0xcf9u64.to_le_bytes());
    t[128] = 0x06;
    t[64..68].copy_from_slice(&0x604u32.to_le_bytes());
    let mem = TestMemory {
        bytes: vec![0; MEMORY_SIZE],
    };
    let p = power_control(&mem, &table(&t));
    assert_eq!(p.reset, Some((0xcf9, 0x06)));
    assert_eq!(p.pm1a_control, Some(0x604));
    assert_eq!(p.pm1b_control, None);
    assert_eq!(p.sleep_control, None);
    assert_eq!(p.s5, None, "no DSDT in this FADT");
}

#[test]
fn finds_the_pm_timer_like_qemu_q35_describes_it() {
    let t = fadt(FADT_FLAG_TMR_VAL_EXT, 0x608, Some((GAS_SYSTEM_IO, 0x608)));
    assert_eq!(pm_timer(&table(&t)), timer(0x608, true));
    let t = fadt(0, 0xb008, None);
    assert_eq!(pm_timer(&table(&t)), timer(0xb008, false));
}

#[test]
fn finds_the_pm_timer_of_cloud_hypervisors_hardware_reduced_fadt() {
    // HW_REDUCED_ACPI | RESET_REG_SUP | TMR_VAL_EXT, no PM_TMR_BLK, the
    // timer at I/O 0x608 in X_PM_TMR_BLK.
    let flags = FADT_FLAG_HW_REDUCED_ACPI | FADT_FLAG_RESET_REG_SUP | FADT_FLAG_TMR_VAL_EXT;
    let t = fadt(flags, 0, Some((GAS_SYSTEM_IO, 0x608)));
    assert_eq!(pm_timer(&table(&t)), timer(0x608, true));
    // A hardware-reduced FADT with only the legacy field is read too.
    let t = fadt(FADT_FLAG_HW_REDUCED_ACPI, 0x608, None);
    assert_eq!(pm_timer(&table(&t)), timer(0x608, false));
}

#[test]
fn a_memory_mapped_pm_timer_falls_back_to_the_legacy_port_or_none() {
    let t = fadt(0, 0, Some((GAS_SYSTEM_MEMORY, 0xfed0_0000)));
    assert_eq!(pm_timer(&table(&t)), None);
    let t = fadt(0, 0xb008, Some((GAS_SYSTEM_MEMORY, 0xfed0_0000)));
    assert_eq!(pm_timer(&table(&t)), timer(0xb008, false));
}

#[test]
fn no_pm_timer_without_one_in_the_fadt() {
    let t = fadt(FADT_FLAG_HW_REDUCED_ACPI, 0, None);
    assert_eq!(pm_timer(&table(&t)), None);
    let t = fadt(0, 0, Some((GAS_SYSTEM_IO, 0x1_0000)));
    assert_eq!(pm_timer(&table(&t)), None, "beyond the I/O space");
    let t = fadt(0, 0x608, Some((GAS_SYSTEM_IO, 0x608)));
    assert_eq!(
        pm_timer(&table(&t[..100])),
        None,
        "a truncated FADT is not read past its end"
    );
}

/// An HPET table like QEMU q35's: block ID 0x8086a201, registers at
/// `address` in address space `space`.
fn hpet_table(space: u8, address: u64) -> Vec<u8> {
    let mut data = vec![0u8; 20];
    data[0..4].copy_from_slice(&0x8086_a201u32.to_le_bytes());
    data[4] = space;
    data[8..16].copy_from_slice(&address.to_le_bytes());
    build_table(b"HPET", &data)
}

#[test]
fn finds_the_hpet_like_qemu_q35_describes_it() {
    let t = hpet_table(GAS_SYSTEM_MEMORY, 0xfed0_0000);
    assert_eq!(t.len(), 56);
    assert_eq!(
        hpet(&table(&t)),
        Some(Hpet {
            base_address: 0xfed0_0000
        })
    );
}

#[test]
fn an_hpet_outside_memory_space_or_at_zero_is_not_used() {
    assert_eq!(hpet(&table(&hpet_table(GAS_SYSTEM_IO, 0xfed0_0000))), None);
    assert_eq!(hpet(&table(&hpet_table(GAS_SYSTEM_MEMORY, 0))), None);
    let t = hpet_table(GAS_SYSTEM_MEMORY, 0xfed0_0000);
    assert_eq!(
        hpet(&table(&t[..50])),
        None,
        "a truncated table is not read past its end"
    );
}

#[test]
fn finds_the_hpet_table_through_the_xsdt() {
    const HPET_AT: u64 = BASE + 0x500;
    let mut mem = memory();
    let t = hpet_table(GAS_SYSTEM_MEMORY, 0xfed0_0000);
    mem.at(HPET_AT)[..t.len()].copy_from_slice(&t);
    let xsdt: Vec<u8> = [FACP_AT, MCFG_AT, HPET_AT]
        .iter()
        .flat_map(|a| a.to_le_bytes())
        .collect();
    mem.put_table(XSDT_AT, b"XSDT", &xsdt);
    let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
    let found = acpi.find_table(HPET_SIGNATURE).unwrap();
    assert_eq!(found.address, HPET_AT);
    assert_eq!(hpet(&found).map(|h| h.base_address), Some(0xfed0_0000));
}

const BASE: u64 = 0xE_0000;
const RSDP_AT: u64 = BASE;
const XSDT_AT: u64 = BASE + 0x100;
const RSDT_AT: u64 = BASE + 0x200;
const FACP_AT: u64 = BASE + 0x300;
const MCFG_AT: u64 = BASE + 0x400;
const MEMORY_SIZE: usize = 0x1000;

/// Physical memory from `BASE` to `BASE + MEMORY_SIZE`.
struct TestMemory {
    bytes: Vec<u8>,
}

impl PhysMemory for TestMemory {
    fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
        let start = usize::try_from(addr.checked_sub(BASE)?).ok()?;
        self.bytes.get(start..start.checked_add(len)?)
    }
}

impl TestMemory {
    fn at(&mut self, addr: u64) -> &mut [u8] {
        &mut self.bytes[(addr - BASE) as usize..]
    }

    /// Writes a table with a valid checksum.
    fn put_table(&mut self, addr: u64, signature: &[u8; 4], data: &[u8]) {
        let table = build_table(signature, data);
        self.at(addr)[..table.len()].copy_from_slice(&table);
    }
}

fn build_table(signature: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut table = vec![0u8; SDT_HEADER_LENGTH];
    table[0..4].copy_from_slice(signature);
    table[4..8].copy_from_slice(&((SDT_HEADER_LENGTH + data.len()) as u32).to_le_bytes());
    table[8] = 1;
    table[10..16].copy_from_slice(b"HVFWTS");
    table[16..24].copy_from_slice(b"TESTTABL");
    table.extend_from_slice(data);
    table[9] = 0u8.wrapping_sub(checksum(&table));
    table
}

fn rsdp(revision: u8, rsdt: u32, xsdt: u64) -> Vec<u8> {
    let mut rsdp = vec![0u8; RSDP_V2_LENGTH];
    rsdp[..8].copy_from_slice(&RSDP_SIGNATURE);
    rsdp[9..15].copy_from_slice(b"HVFWTS");
    rsdp[15] = revision;
    rsdp[16..20].copy_from_slice(&rsdt.to_le_bytes());
    rsdp[20..24].copy_from_slice(&(RSDP_V2_LENGTH as u32).to_le_bytes());
    rsdp[24..32].copy_from_slice(&xsdt.to_le_bytes());
    rsdp[8] = 0u8.wrapping_sub(checksum(&rsdp[..RSDP_V1_LENGTH]));
    rsdp[32] = 0u8.wrapping_sub(checksum(&rsdp));
    rsdp
}

fn mcfg_data(regions: &[(u64, u16, u8, u8)]) -> Vec<u8> {
    let mut data = vec![0u8; 8];
    for &(base, segment, start, end) in regions {
        data.extend_from_slice(&base.to_le_bytes());
        data.extend_from_slice(&segment.to_le_bytes());
        data.extend_from_slice(&[start, end, 0, 0, 0, 0]);
    }
    data
}

/// ACPI 2.0 tables: RSDP -> XSDT -> [FACP, MCFG], and an ACPI 1.0 RSDT beside them
/// listing the same tables.
fn memory() -> TestMemory {
    let mut mem = TestMemory {
        bytes: vec![0; MEMORY_SIZE],
    };
    let rsdp = rsdp(2, RSDT_AT as u32, XSDT_AT);
    mem.at(RSDP_AT)[..rsdp.len()].copy_from_slice(&rsdp);
    let xsdt: Vec<u8> = [FACP_AT, MCFG_AT].iter().flat_map(|a| a.to_le_bytes()).collect();
    mem.put_table(XSDT_AT, b"XSDT", &xsdt);
    let rsdt: Vec<u8> = [FACP_AT, MCFG_AT]
        .iter()
        .flat_map(|&a| (a as u32).to_le_bytes())
        .collect();
    mem.put_table(RSDT_AT, b"RSDT", &rsdt);
    mem.put_table(FACP_AT, b"FACP", &[0x55; 20]);
    mem.put_table(
        MCFG_AT,
        b"MCFG",
        &mcfg_data(&[(0xB000_0000, 0, 0, 0xFF), (0x40_0000_0000, 1, 0x10, 0x1F)]),
    );
    mem
}

fn expected_regions() -> Vec<EcamRegion> {
    vec![
        EcamRegion {
            base_address: 0xB000_0000,
            segment: 0,
            start_bus: 0,
            end_bus: 0xFF,
        },
        EcamRegion {
            base_address: 0x40_0000_0000,
            segment: 1,
            start_bus: 0x10,
            end_bus: 0x1F,
        },
    ]
}

#[test]
fn finds_mcfg_through_the_xsdt() {
    let mem = memory();
    let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
    assert_eq!(acpi.rsdp().revision, 2);
    assert_eq!(acpi.rsdp().xsdt_address, Some(XSDT_AT));
    assert_eq!(acpi.root().header.signature, XSDT_SIGNATURE);
    assert_eq!(acpi.table_addresses().collect::<Vec<_>>(), [FACP_AT, MCFG_AT]);
    assert_eq!(acpi.ecam_regions().unwrap(), expected_regions());
}

#[test]
fn finds_tables_through_the_rsdt_for_acpi_1() {
    let mut mem = memory();
    let rsdp = rsdp(0, RSDT_AT as u32, 0);
    mem.at(RSDP_AT)[..RSDP_V1_LENGTH].copy_from_slice(&rsdp[..RSDP_V1_LENGTH]);
    // An ACPI 1.0 RSDP is 20 bytes: what follows is not its business.
    mem.at(RSDP_AT)[RSDP_V1_LENGTH..RSDP_V2_LENGTH].fill(0xAA);
    let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
    assert_eq!(acpi.rsdp().xsdt_address, None);
    assert_eq!(acpi.root().header.signature, RSDT_SIGNATURE);
    let facp = acpi.find_table(TableSignature(*b"FACP")).unwrap();
    assert_eq!((facp.address, facp.data()), (FACP_AT, &[0x55; 20][..]));
    assert_eq!(facp.header.oem_table_id, *b"TESTTABL");
    assert_eq!(acpi.ecam_regions().unwrap(), expected_regions());
}

#[test]
fn revision_2_rsdp_without_xsdt_uses_the_rsdt() {
    let mut mem = memory();
    let rsdp = rsdp(2, RSDT_AT as u32, 0);
    mem.at(RSDP_AT)[..rsdp.len()].copy_from_slice(&rsdp);
    let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
    assert_eq!(acpi.root().address, RSDT_AT);
}

#[test]
fn bad_rsdp_signature_is_reported() {
    let mut mem = memory();
    mem.at(RSDP_AT)[0] = b'X';
    assert_eq!(
        Acpi::new(&mem, RSDP_AT).err(),
        Some(Error::BadRsdpSignature { addr: RSDP_AT })
    );
}

#[test]
fn bad_rsdp_checksums_are_reported() {
    let mut mem = memory();
    mem.at(RSDP_AT)[8] ^= 1;
    assert_eq!(
        Acpi::new(&mem, RSDP_AT).err(),
        Some(Error::BadRsdpChecksum { addr: RSDP_AT })
    );
    let mut mem = memory();
    mem.at(RSDP_AT)[32] ^= 1;
    assert_eq!(
        Acpi::new(&mem, RSDP_AT).err(),
        Some(Error::BadRsdpExtendedChecksum { addr: RSDP_AT })
    );
}

#[test]
fn rsdp_outside_memory_is_truncated() {
    let mem = memory();
    let end = BASE + MEMORY_SIZE as u64;
    assert_eq!(
        Acpi::new(&mem, end - 10).err(),
        Some(Error::Truncated {
            addr: end - 10,
            len: RSDP_V1_LENGTH
        })
    );
}

#[test]
fn root_table_checksum_is_checked() {
    let mut mem = memory();
    mem.at(XSDT_AT)[SDT_HEADER_LENGTH] ^= 0x40;
    assert_eq!(
        Acpi::new(&mem, RSDP_AT).err(),
        Some(Error::TableChecksum {
            signature: XSDT_SIGNATURE,
            addr: XSDT_AT
        })
    );
}

#[test]
fn root_address_holding_another_table_is_refused() {
    let mut mem = memory();
    let rsdp = rsdp(2, 0, FACP_AT);
    mem.at(RSDP_AT)[..rsdp.len()].copy_from_slice(&rsdp);
    let error = Acpi::new(&mem, RSDP_AT).err().unwrap();
    assert_eq!(
        error,
        Error::WrongRootSignature {
            addr: FACP_AT,
            expected: XSDT_SIGNATURE,
            found: TableSignature(*b"FACP")
        }
    );
    assert_eq!(
        error.to_string(),
        "expected the XSDT at 0xe0300, found a table signed FACP"
    );
}

#[test]
fn found_table_checksum_is_checked() {
    let mut mem = memory();
    mem.at(MCFG_AT)[50] ^= 1;
    let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
    assert_eq!(
        acpi.ecam_regions().err(),
        Some(Error::TableChecksum {
            signature: MCFG_SIGNATURE,
            addr: MCFG_AT
        })
    );
}

#[test]
fn missing_table_is_not_found() {
    let mem = memory();
    let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
    let error = acpi.find_table(TableSignature(*b"APIC")).err().unwrap();
    assert_eq!(
        error,
        Error::TableNotFound {
            signature: TableSignature(*b"APIC")
        }
    );
    assert_eq!(error.to_string(), "no ACPI table APIC");
}

#[test]
fn table_reaching_past_memory_is_truncated() {
    let mut mem = memory();
    let huge = 0x10_0000u32;
    mem.at(MCFG_AT)[4..8].copy_from_slice(&huge.to_le_bytes());
    let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
    assert_eq!(
        acpi.ecam_regions().err(),
        Some(Error::Truncated {
            addr: MCFG_AT,
            len: huge as usize
        })
    );
}

#[test]
fn table_shorter_than_its_header_is_refused() {
    let mut mem = memory();
    mem.at(FACP_AT)[4..8].copy_from_slice(&8u32.to_le_bytes());
    let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
    assert_eq!(
        acpi.find_table(TableSignature(*b"FACP")).err(),
        Some(Error::TableTooShort {
            signature: TableSignature(*b"FACP"),
            addr: FACP_AT,
            length: 8
        })
    );
}

#[test]
fn unreadable_entries_are_skipped_while_searching() {
    let mut mem = memory();
    let xsdt: Vec<u8> = [0xFFFF_0000_0000u64, MCFG_AT]
        .iter()
        .flat_map(|a| a.to_le_bytes())
        .collect();
    mem.put_table(XSDT_AT, b"XSDT", &xsdt);
    let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
    assert_eq!(acpi.ecam_regions().unwrap(), expected_regions());
}

#[test]
fn mcfg_with_a_partial_allocation_is_refused() {
    let mut mem = memory();
    let mut data = mcfg_data(&[(0xB000_0000, 0, 0, 0xFF)]);
    data.truncate(data.len() - 4);
    mem.put_table(MCFG_AT, b"MCFG", &data);
    let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
    assert_eq!(acpi.ecam_regions().err(), Some(Error::BadMcfgLength { length: 56 }));
}

#[test]
fn mcfg_without_allocations_has_no_regions() {
    let mut mem = memory();
    mem.put_table(MCFG_AT, b"MCFG", &mcfg_data(&[]));
    let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
    assert_eq!(acpi.ecam_regions().unwrap(), []);
}

#[test]
fn mcfg_bus_range_ending_before_start_is_refused() {
    let mut mem = memory();
    mem.put_table(MCFG_AT, b"MCFG", &mcfg_data(&[(0xB000_0000, 0, 8, 7)]));
    let acpi = Acpi::new(&mem, RSDP_AT).unwrap();
    assert_eq!(
        acpi.ecam_regions().err(),
        Some(Error::BadEcamBusRange {
            index: 0,
            start_bus: 8,
            end_bus: 7
        })
    );
}

#[test]
fn ecam_addresses_count_buses_from_zero() {
    let region = expected_regions()[1];
    assert_eq!(region.config_address(0x10, 0, 0), Some(0x40_0000_0000 + (0x10 << 20)));
    assert_eq!(
        region.config_address(0x12, 3, 1),
        Some(0x40_0000_0000 + (0x12 << 20) + (3 << 15) + (1 << 12))
    );
    assert_eq!(region.config_address(0x0F, 0, 0), None);
    assert_eq!(region.config_address(0x20, 0, 0), None);
    assert_eq!(region.config_address(0x10, 32, 0), None);
    assert_eq!(region.config_address(0x10, 0, 8), None);
    assert_eq!(region.covered_range(), 0x40_0100_0000..0x40_0200_0000);
}

#[test]
fn madt_flags_say_whether_the_8259s_are_there() {
    // The local interrupt controller address, then the flags.
    let mut data = 0xfee0_0000u32.to_le_bytes().to_vec();
    data.extend_from_slice(&1u32.to_le_bytes());
    let qemu = build_table(b"APIC", &data);
    assert_eq!(has_dual_8259(&table(&qemu)), Some(true));
    data[4] = 0;
    let hardware_reduced = build_table(b"APIC", &data);
    assert_eq!(has_dual_8259(&table(&hardware_reduced)), Some(false));
    let short = build_table(b"APIC", &data[..6]);
    assert_eq!(has_dual_8259(&table(&short)), None);
}
