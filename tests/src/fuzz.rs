//! A small mutation fuzzer for the parsers that read untrusted bytes, runnable on
//! stable Rust (no sanitizer coverage, no nightly): seeds built in code or from
//! images made by the real tools, random byte flips, interesting values,
//! insertions, deletions, truncations and splices (xorshift64), a corpus grown
//! by new outcomes (the parser's result, digits removed, is the only feedback
//! there is), `catch_unwind` for panics and a worker thread with a deadline for
//! hangs.
//!
//! Targets: the partition table (GPT/MBR), FAT (mount, directory walk, reads
//! and a write), PE (parse and load), ACPI tables, SMBIOS entry points and
//! structures, device-path nodes, the variable store and the EBBR variable
//! file; the Boot Loader Specification entries, `loader.conf` and the boot menu
//! built from them, the bzImage setup header, device paths turned into text,
//! QEMU's fw_cfg file directory and table-loader script, and the
//! EFI_VARIABLE_AUTHENTICATION_2 descriptor of an authenticated SetVariable. `src/bin/fuzz.rs`
//! runs them; crashing or hanging inputs go
//! to `tests/fuzz-regressions/<target>/<hash>.bin`, which the unit test below
//! replays in every `cargo test`.

use fw_drivers::block::{BlockDevice, BlockError};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// One parser under test: `run` must never panic, whatever `input` holds; it
/// returns a short description of the outcome (the feedback signal).
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]) -> String,
    /// Seed inputs; `seed_dir` is where images made by tools can be cached.
    pub seeds: fn(&Path) -> Vec<Vec<u8>>,
}

pub fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "partition",
            run: partition::run,
            seeds: partition::seeds,
        },
        Target {
            name: "fat",
            run: fat::run,
            seeds: fat::seeds,
        },
        Target {
            name: "pe",
            run: pe::run,
            seeds: pe::seeds,
        },
        Target {
            name: "acpi",
            run: acpi::run,
            seeds: acpi::seeds,
        },
        Target {
            name: "smbios",
            run: smbios::run,
            seeds: smbios::seeds,
        },
        Target {
            name: "device_path",
            run: device_path::run,
            seeds: device_path::seeds,
        },
        Target {
            name: "variables",
            run: variables::run,
            seeds: variables::seeds,
        },
        Target {
            name: "variable_file",
            run: variable_file::run,
            seeds: variable_file::seeds,
        },
        Target {
            name: "bls_entry",
            run: bls::run_entry,
            seeds: bls::entry_seeds,
        },
        Target {
            name: "loader_conf",
            run: bls::run_loader_conf,
            seeds: bls::loader_conf_seeds,
        },
        Target {
            name: "bls_menu",
            run: bls::run_menu,
            seeds: bls::menu_seeds,
        },
        Target {
            name: "setup_header",
            run: setup_header::run,
            seeds: setup_header::seeds,
        },
        Target {
            name: "device_path_text",
            run: device_path_text::run,
            seeds: device_path::seeds,
        },
        Target {
            name: "fw_cfg",
            run: fw_cfg::run,
            seeds: fw_cfg::seeds,
        },
        Target {
            name: "signature_list",
            run: secure_boot::run_signature_list,
            seeds: secure_boot::signature_list_seeds,
        },
        Target {
            name: "pkcs7",
            run: secure_boot::run_pkcs7,
            seeds: secure_boot::pkcs7_seeds,
        },
        Target {
            name: "secure_boot_image",
            run: secure_boot::run_image,
            seeds: secure_boot::image_seeds,
        },
        Target {
            name: "auth_write",
            run: auth_write::run,
            seeds: auth_write::seeds,
        },
    ]
}

/// Where crashing inputs are kept: `tests/fuzz-regressions/`.
pub fn regressions_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz-regressions")
}

// ---- a sparse disk: small inputs for large volumes ----

/// The input format of the disk targets: a little-endian u32 block count, then
/// records of a u32 LBA and one 512-byte block; blocks not given read as zeros.
/// A 34 MiB FAT32 volume fits in a few KiB this way.
pub struct SparseDisk {
    block_count: u64,
    blocks: Mutex<BTreeMap<u64, Vec<u8>>>,
}

pub const BLOCK: usize = 512;
/// Disks larger than this are cut down: the parsers' loops are bounded by the
/// block count, and a fuzzer should not spend its time there.
const MAX_BLOCKS: u64 = 1 << 24;

impl SparseDisk {
    pub fn decode(input: &[u8]) -> SparseDisk {
        let count = input
            .get(..4)
            .map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap_or_default()));
        let mut blocks = BTreeMap::new();
        for record in input.get(4..).unwrap_or_default().chunks(4 + BLOCK) {
            if record.len() < 4 {
                break;
            }
            let lba = u64::from(u32::from_le_bytes(record[..4].try_into().unwrap_or_default()));
            let mut block = record[4..].to_vec();
            block.resize(BLOCK, 0);
            blocks.insert(lba, block);
        }
        SparseDisk {
            block_count: u64::from(count).min(MAX_BLOCKS),
            blocks: Mutex::new(blocks),
        }
    }

    /// The non-zero blocks of a raw image.
    pub fn encode(image: &[u8]) -> Vec<u8> {
        let mut out = ((image.len() / BLOCK) as u32).to_le_bytes().to_vec();
        for (lba, block) in image.chunks(BLOCK).enumerate() {
            if block.iter().any(|&b| b != 0) {
                out.extend_from_slice(&(lba as u32).to_le_bytes());
                out.extend_from_slice(block);
                out.resize(out.len() + BLOCK - block.len(), 0);
            }
        }
        out
    }
}

impl BlockDevice for SparseDisk {
    fn block_size(&self) -> u32 {
        BLOCK as u32
    }

    fn block_count(&self) -> u64 {
        self.block_count
    }

    fn read_blocks(&self, lba: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        fw_drivers::block::check_request(lba, buf.len(), BLOCK as u32, self.block_count)?;
        let blocks = self.blocks.lock().unwrap();
        for (i, chunk) in buf.chunks_mut(BLOCK).enumerate() {
            match blocks.get(&(lba + i as u64)) {
                Some(block) => chunk.copy_from_slice(block),
                None => chunk.fill(0),
            }
        }
        Ok(())
    }

    fn write_blocks(&self, lba: u64, buf: &[u8]) -> Result<(), BlockError> {
        fw_drivers::block::check_request(lba, buf.len(), BLOCK as u32, self.block_count)?;
        let mut blocks = self.blocks.lock().unwrap();
        for (i, chunk) in buf.chunks(BLOCK).enumerate() {
            blocks.insert(lba + i as u64, chunk.to_vec());
        }
        Ok(())
    }
}

/// Runs a tool for seed images; seeds are optional, so a missing tool only
/// shrinks the corpus (the fuzz binary prints what was skipped).
fn tool(program: &str, args: &[&str]) -> bool {
    match crate::images::run(program, args) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("fuzz: seed skipped: {e}");
            false
        }
    }
}

/// An error's message with its numbers removed: similar failures look alike.
fn shape(text: &str) -> String {
    let mut out = String::new();
    let mut last_digit = false;
    for c in text.chars() {
        let digit = c.is_ascii_hexdigit() && last_digit || c.is_ascii_digit();
        if digit {
            if !last_digit {
                out.push('#');
            }
        } else {
            out.push(c);
        }
        last_digit = digit || (c == 'x' && last_digit);
    }
    out
}

mod partition {
    use super::*;
    use fw_drivers::partition::{read_partition_table, Partition};

    pub fn run(input: &[u8]) -> String {
        let disk: Arc<dyn BlockDevice> = Arc::new(SparseDisk::decode(input));
        match read_partition_table(disk.as_ref()) {
            Ok(table) => {
                for p in &table.partitions {
                    // What the firmware does next with each partition.
                    if let Ok(view) = Partition::new(disk.clone(), p) {
                        let mut block = [0u8; BLOCK];
                        let _ = view.read_blocks(0, &mut block);
                        let _ = view.read_blocks(view.block_count().saturating_sub(1), &mut block);
                    }
                    let _ = p.last_lba();
                    let _ = p.is_efi_system_partition();
                    let _ = p.signature.to_bytes();
                }
                format!(
                    "ok {:?} backup={} n={}",
                    table.format,
                    table.used_backup_gpt,
                    table.partitions.len().min(4)
                )
            }
            Err(e) => shape(&e.to_string()),
        }
    }

    pub fn seeds(dir: &Path) -> Vec<Vec<u8>> {
        let mut seeds = Vec::new();
        let gpt = dir.join("gpt.img");
        let made = std::fs::File::create(&gpt).and_then(|f| f.set_len(256 * 1024)).is_ok()
            && tool(
                "sgdisk",
                &[
                    "--clear",
                    "--new=1:34:+64",
                    "--typecode=1:ef00",
                    "--change-name=1:EFI System",
                    "--new=2:0:+64",
                    "--typecode=2:8300",
                    &gpt.to_string_lossy(),
                ],
            );
        if made {
            if let Ok(image) = std::fs::read(&gpt) {
                seeds.push(SparseDisk::encode(&image));
            }
        }
        // A classic MBR with two primary partitions and an extended one.
        let mut mbr = vec![0u8; 64 * BLOCK];
        mbr[440..444].copy_from_slice(&0x1234_5678u32.to_le_bytes());
        for (slot, (boot, kind, start, len)) in [(0x80u8, 0x0cu8, 2u32, 20u32), (0, 0x83, 22, 20), (0, 0x0f, 42, 20)]
            .into_iter()
            .enumerate()
        {
            let at = 446 + slot * 16;
            mbr[at] = boot;
            mbr[at + 4] = kind;
            mbr[at + 8..at + 12].copy_from_slice(&start.to_le_bytes());
            mbr[at + 12..at + 16].copy_from_slice(&len.to_le_bytes());
        }
        mbr[510] = 0x55;
        mbr[511] = 0xaa;
        seeds.push(SparseDisk::encode(&mbr));
        seeds
    }
}

mod fat {
    use super::*;
    use fw_drivers::fat::{File, FileSystem};

    /// Bounds of the walk: a fuzzed directory tree can be large.
    const MAX_ENTRIES: usize = 256;
    const MAX_DEPTH: usize = 6;
    const MAX_READ: u64 = 1 << 20;

    fn walk(fs: &FileSystem, dir: &File, depth: usize, seen: &mut usize, out: &mut Vec<String>) {
        let mut position = 0u32;
        while *seen < MAX_ENTRIES {
            let entry = match fs.read_dir(dir, &mut position) {
                Ok(Some(entry)) => entry,
                Ok(None) => break,
                Err(e) => {
                    out.push(shape(&e.to_string()));
                    break;
                }
            };
            *seen += 1;
            let name = entry.name().to_string();
            let _ = (entry.created(), entry.modified(), entry.accessed(), entry.attributes());
            if name == "." || name == ".." {
                let _ = fs.open(dir, &name);
                continue;
            }
            if entry.is_directory() {
                if depth < MAX_DEPTH {
                    if let Ok(sub) = fs.open(dir, &name) {
                        walk(fs, &sub, depth + 1, seen, out);
                    }
                }
            } else {
                match fs.open(dir, &name) {
                    Ok(mut file) => {
                        let mut buf = vec![0u8; 64 * 1024];
                        let mut offset = 0;
                        while offset < file.size().min(MAX_READ) {
                            match fs.read(&mut file, offset, &mut buf) {
                                Ok(0) => break,
                                Ok(n) => offset += n as u64,
                                Err(e) => {
                                    out.push(shape(&e.to_string()));
                                    break;
                                }
                            }
                        }
                        // An unaligned read at an odd offset too.
                        let _ = fs.read(&mut file, 3, &mut buf[..1000]);
                    }
                    Err(e) => out.push(shape(&e.to_string())),
                }
            }
        }
    }

    pub fn run(input: &[u8]) -> String {
        let disk: Arc<dyn BlockDevice> = Arc::new(SparseDisk::decode(input));
        let fs = match FileSystem::mount(disk) {
            Ok(fs) => fs,
            Err(e) => return shape(&e.to_string()),
        };
        let mut out = vec![format!("{:?}", fs.fat_type())];
        let _ = fs.volume_info();
        for path in [
            "\\EFI\\BOOT\\BOOTX64.EFI",
            "\\loader\\entries",
            "..\\EFI\\.\\BOOT\\..",
            "\\A\\B\\C\\D",
        ] {
            if let Err(e) = fs.open(&fs.root(), path) {
                out.push(shape(&e.to_string()));
            }
        }
        let mut seen = 0;
        walk(&fs, &fs.root(), 0, &mut seen, &mut out);
        // The write path, as an application writing a file would take it.
        match fs.create_file(&fs.root(), "\\fuzz-created.txt") {
            Ok(mut file) => {
                let data = [0x5au8; 3000];
                if let Err(e) = fs.write(&mut file, 0, &data) {
                    out.push(shape(&e.to_string()));
                }
                let mut back = [0u8; 3000];
                let _ = fs.read(&mut file, 0, &mut back);
                let _ = fs.delete(file);
            }
            Err(e) => out.push(shape(&e.to_string())),
        }
        let _ = fs.create_dir(&fs.root(), "\\fuzzdir\\sub");
        let _ = fs.flush();
        out.sort();
        out.dedup();
        out.join("|")
    }

    pub fn seeds(dir: &Path) -> Vec<Vec<u8>> {
        let mut seeds = Vec::new();
        // FAT12, FAT16 and FAT32 (the type follows from the cluster count).
        for (name, kib, args) in [
            ("fat12.img", 256u64, vec!["-F", "12"]),
            ("fat16.img", 8192, vec!["-F", "16", "-s", "1"]),
            ("fat32.img", 34 * 1024, vec!["-F", "32", "-s", "1"]),
        ] {
            let image = dir.join(name);
            let p = image.to_string_lossy().into_owned();
            let _ = std::fs::remove_file(&image);
            let mut mkfs = vec!["-C"];
            mkfs.extend(args.iter().copied());
            mkfs.push(&p);
            let size = kib.to_string();
            mkfs.push(&size);
            if !tool("mkfs.fat", &mkfs) {
                continue;
            }
            let target = p.clone();
            let local = dir.join("file.txt");
            let _ = std::fs::write(&local, vec![b'x'; 5000]);
            let local = local.to_string_lossy().into_owned();
            let ok = tool("mmd", &["-i", &target, "::/EFI", "::/EFI/BOOT", "::/loader"])
                && tool("mcopy", &["-i", &target, &local, "::/EFI/BOOT/BOOTX64.EFI"])
                && tool("mcopy", &["-i", &target, &local, "::/A long file name.txt"])
                && tool("mcopy", &["-i", &target, &local, "::/loader/loader.conf"]);
            if ok {
                if let Ok(bytes) = std::fs::read(&image) {
                    seeds.push(SparseDisk::encode(&bytes));
                }
            }
            let _ = std::fs::remove_file(&image);
        }
        seeds
    }
}

mod pe {
    use super::*;
    use fw_core::image::{headers_len, parse, parse_headers, read_from, Machine, UKI_SECTIONS};

    /// Images larger than this are not placed (the firmware would fail the
    /// allocation instead).
    const MAX_IMAGE: u32 = 64 << 20;

    /// What LoadImage does with a file: the headers [`headers_len`] asks for
    /// out of the first 4 KiB, checked against the file's length.
    fn streamed(input: &[u8]) -> Result<(&[u8], fw_core::image::PeImage), String> {
        let wanted = headers_len(&input[..input.len().min(4096)]).map_err(|e| e.to_string())?;
        let headers = &input[..(wanted.min(input.len() as u64)) as usize];
        let image = parse_headers(headers, input.len() as u64, Machine::X86_64).map_err(|e| e.to_string())?;
        Ok((headers, image))
    }

    pub fn run(input: &[u8]) -> String {
        let parsed = parse(input, Machine::X86_64);
        let streamed = streamed(input);
        // Loading from a file must accept and reject exactly what loading
        // from a buffer does.
        assert_eq!(
            parsed.is_ok(),
            streamed.is_ok(),
            "buffer: {:?}, file: {:?}",
            parsed.as_ref().err(),
            streamed.as_ref().err()
        );
        let image = match parsed {
            Ok(image) => image,
            Err(e) => return shape(&e.to_string()),
        };
        let _ = (
            image.machine(),
            image.subsystem(),
            image.entry_point(),
            image.relocations(),
        );
        for name in UKI_SECTIONS {
            let _ = image.section_data(input, name);
        }
        for s in image.sections() {
            let _ = (s.name(), s.loaded_size(), s.characteristics());
        }
        if image.size_of_image() > MAX_IMAGE {
            return "ok too large to place".into();
        }
        let mut dest = vec![0u8; image.size_of_image() as usize + 4096];
        let mut from_file = dest.clone();
        let mut out = Vec::new();
        let (headers, streamed_image) = streamed.expect("checked above");
        for base in [0x1000_0000u64, image.preferred_base(), 0xffff_ffff_ffff_0000] {
            let buffered = image.load(input, &mut dest, base);
            let streamed = streamed_image.load_with(headers, &mut read_from(input), &mut from_file, base);
            assert_eq!(buffered.is_ok(), streamed.is_ok(), "{buffered:?} vs {streamed:?}");
            assert!(dest == from_file, "a file load placed other bytes than a buffer load");
            match buffered {
                Ok(()) => out.push("ok".to_string()),
                Err(e) => out.push(shape(&e.to_string())),
            }
        }
        out.join("|")
    }

    pub fn seeds(_: &Path) -> Vec<Vec<u8>> {
        // The EFI test application (`HVFW_FUZZ_PE_SEEDS`: a list of PE files,
        // separated by ':', which `cargo xtask fuzz` sets).
        let mut seeds: Vec<Vec<u8>> = std::env::var("HVFW_FUZZ_PE_SEEDS")
            .unwrap_or_default()
            .split(':')
            .filter(|p| !p.is_empty())
            .filter_map(|p| std::fs::read(p).ok())
            .collect();
        seeds.push(minimal_pe());
        seeds
    }

    /// A hand-made PE32+ EFI application: headers, one .text section with a
    /// `ret`, one .reloc block with a DIR64 fixup.
    pub fn minimal_pe() -> Vec<u8> {
        let mut f = vec![0u8; 0x600];
        f[0..2].copy_from_slice(b"MZ");
        f[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
        let pe = 0x40;
        f[pe..pe + 4].copy_from_slice(b"PE\0\0");
        let coff = pe + 4;
        let put16 = |f: &mut Vec<u8>, at: usize, v: u16| f[at..at + 2].copy_from_slice(&v.to_le_bytes());
        let put32 = |f: &mut Vec<u8>, at: usize, v: u32| f[at..at + 4].copy_from_slice(&v.to_le_bytes());
        let put64 = |f: &mut Vec<u8>, at: usize, v: u64| f[at..at + 8].copy_from_slice(&v.to_le_bytes());
        put16(&mut f, coff, 0x8664);
        put16(&mut f, coff + 2, 2); // sections
        put16(&mut f, coff + 16, 240); // optional header size
        put16(&mut f, coff + 18, 0x22);
        let opt = coff + 20;
        put16(&mut f, opt, 0x20b);
        put32(&mut f, opt + 16, 0x1000); // entry
        put64(&mut f, opt + 24, 0x1_4000_0000); // image base
        put32(&mut f, opt + 32, 0x1000); // section alignment
        put32(&mut f, opt + 36, 0x200); // file alignment
        put32(&mut f, opt + 56, 0x3000); // size of image
        put32(&mut f, opt + 60, 0x200); // size of headers
        put16(&mut f, opt + 68, 10); // EFI application
        put32(&mut f, opt + 108, 16); // data directories
        put32(&mut f, opt + 112 + 5 * 8, 0x2000); // base relocations
        put32(&mut f, opt + 112 + 5 * 8 + 4, 12);
        let sections = opt + 240;
        for (i, (name, va, raw)) in [(b".text\0\0\0", 0x1000u32, 0x200u32), (b".reloc\0\0", 0x2000, 0x400)]
            .iter()
            .enumerate()
        {
            let h = sections + i * 40;
            f[h..h + 8].copy_from_slice(*name);
            put32(&mut f, h + 8, 0x200);
            put32(&mut f, h + 12, *va);
            put32(&mut f, h + 16, 0x200);
            put32(&mut f, h + 20, *raw);
            put32(&mut f, h + 36, 0x6000_0020);
        }
        f[0x200] = 0xc3;
        put32(&mut f, 0x400, 0x1000);
        put32(&mut f, 0x404, 12);
        put16(&mut f, 0x408, 0xa000 | 0x100);
        f
    }
}

mod smbios {
    use super::*;
    use fw_drivers::acpi::PhysMemory;
    use fw_drivers::smbios::{Checksums, EntryPoint, Smbios};

    /// The input as physical memory from address 0.
    struct Memory<'a>(&'a [u8]);

    impl PhysMemory for Memory<'_> {
        fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
            let start = usize::try_from(addr).ok()?;
            self.0.get(start..start.checked_add(len)?)
        }
    }

    fn sum(b: &[u8]) -> u8 {
        b.iter().fold(0u8, |a, &x| a.wrapping_add(x))
    }

    /// Makes the checksums of every anchor on a 16-byte boundary right, so that
    /// mutations reach the table behind them.
    fn fix_checksums(memory: &mut [u8]) {
        for at in (0..memory.len()).step_by(16) {
            let ep = &mut memory[at..];
            if ep.starts_with(b"_SM3_") && ep.len() > 6 {
                let len = usize::from(ep[6]).min(ep.len());
                if len > 5 {
                    ep[5] = 0;
                    ep[5] = 0u8.wrapping_sub(sum(&ep[..len]));
                }
            } else if ep.starts_with(b"_SM_") && ep.len() >= 0x1f {
                ep[0x15] = 0;
                ep[0x15] = 0u8.wrapping_sub(sum(&ep[0x10..0x1f]));
                let len = usize::from(ep[5]).clamp(5, 0x1f);
                ep[4] = 0;
                ep[4] = 0u8.wrapping_sub(sum(&ep[..len]));
            }
        }
    }

    /// Whatever is taken must turn into an image whose entry points check out and
    /// point at the structures.
    fn check_image(smbios: &Smbios) -> String {
        let base = 0x7ff0_0000;
        let image = match smbios.image(base) {
            Ok(image) => image,
            Err(e) => return shape(&e.to_string()),
        };
        for at in [image.smbios2, image.smbios3].into_iter().flatten() {
            let ep = EntryPoint::parse(&image.bytes[at..], Checksums::Verify)
                .unwrap_or_else(|e| panic!("the image's entry point at {at} does not check out: {e}"));
            assert_eq!(
                ep.table_address,
                base + fw_drivers::smbios::IMAGE_OFFSET_STRUCTURES as u64
            );
        }
        format!("ok {}", smbios.summary().count.min(5))
    }

    pub fn run(input: &[u8]) -> String {
        let mut memory = input.get(1..).unwrap_or_default().to_vec();
        if input.first().is_some_and(|b| b % 2 == 0) {
            fix_checksums(&mut memory);
        }
        let all = 0..memory.len() as u64;
        let found = match Smbios::from_bios_area(&Memory(&memory), all.clone(), std::slice::from_ref(&all)) {
            Ok(smbios) => check_image(&smbios),
            Err(e) => shape(&e.to_string()),
        };
        // The same bytes as a handed-over anchor followed by its structures.
        let split = memory.len().min(0x20);
        let parts = match Smbios::from_parts(&memory[..split], Checksums::Recompute, memory[split..].to_vec()) {
            Ok(smbios) => check_image(&smbios),
            Err(e) => shape(&e.to_string()),
        };
        format!("{found}|{parts}")
    }

    pub fn seeds(_: &Path) -> Vec<Vec<u8>> {
        let structures: &[u8] = b"\x00\x08\x00\x01\x01\x02\x00\x00vendor\x000\x00\x00\
            \x01\x0c\x01\x01\x01\x02\x00\x03\x00\x00\x00\x00Cloud Hypervisor\x00x\x00serial\x00\x00\
            \x7f\x04\x02\x01\x00\x00";
        // A 3.0 entry point at 0 with the structures after it (Cloud Hypervisor).
        let mut three = vec![0u8; 0x18];
        three[..5].copy_from_slice(b"_SM3_");
        three[6] = 0x18;
        three[7] = 3;
        three[0x0c..0x10].copy_from_slice(&(structures.len() as u32).to_le_bytes());
        three[0x10..0x18].copy_from_slice(&0x18u64.to_le_bytes());
        three.extend_from_slice(structures);
        // A 2.1 entry point at 0 (address 0x20) with the structures at 0x20 (SeaBIOS).
        let mut two = vec![0u8; 0x20];
        two[..4].copy_from_slice(b"_SM_");
        two[5] = 0x1f;
        two[6] = 2;
        two[7] = 8;
        two[0x10..0x15].copy_from_slice(b"_DMI_");
        two[0x16..0x18].copy_from_slice(&(structures.len() as u16).to_le_bytes());
        two[0x18..0x1c].copy_from_slice(&0x20u32.to_le_bytes());
        two.extend_from_slice(structures);
        [three, two]
            .into_iter()
            .map(|mut m| {
                fix_checksums(&mut m);
                let mut input = vec![0u8];
                input.extend_from_slice(&m);
                input
            })
            .collect()
    }
}

mod acpi {
    use super::*;
    use fw_drivers::acpi::{self as tables, Acpi, PhysMemory, TableSignature};

    /// The input as physical memory from address 0.
    struct Memory<'a>(&'a [u8]);

    impl PhysMemory for Memory<'_> {
        fn read(&self, addr: u64, len: usize) -> Option<&[u8]> {
            let start = usize::try_from(addr).ok()?;
            self.0.get(start..start.checked_add(len)?)
        }
    }

    const SIGNATURES: [&[u8; 4]; 7] = [b"XSDT", b"RSDT", b"FACP", b"MCFG", b"DSDT", b"APIC", b"HPET"];

    /// Makes every checksum right (when the input's first byte is even), so
    /// that mutations reach the fields behind the checksums.
    fn fix_checksums(memory: &mut [u8]) {
        let sum = |b: &[u8]| b.iter().fold(0u8, |a, &x| a.wrapping_add(x));
        if memory.len() >= 36 && &memory[..8] == b"RSD PTR " {
            memory[8] = 0;
            memory[8] = 0u8.wrapping_sub(sum(&memory[..20]));
            let len = (u32::from_le_bytes(memory[20..24].try_into().unwrap_or_default()) as usize).min(memory.len());
            if len >= 33 {
                memory[32] = 0;
                memory[32] = 0u8.wrapping_sub(sum(&memory[..len]));
            }
        }
        let mut at = 0;
        while at + 36 <= memory.len() {
            if SIGNATURES.iter().any(|s| &memory[at..at + 4] == *s) {
                let len = u32::from_le_bytes(memory[at + 4..at + 8].try_into().unwrap_or_default()) as usize;
                if len >= 36 && at + len <= memory.len() {
                    memory[at + 9] = 0;
                    memory[at + 9] = 0u8.wrapping_sub(sum(&memory[at..at + len]));
                }
            }
            at += 4;
        }
    }

    pub fn run(input: &[u8]) -> String {
        let mut memory = input.get(1..).unwrap_or_default().to_vec();
        if input.first().is_some_and(|b| b % 2 == 0) {
            fix_checksums(&mut memory);
        }
        let mem = Memory(&memory);
        let _ = tables::s5_sleep_type(&memory);
        let acpi = match Acpi::new(&mem, 0) {
            Ok(acpi) => acpi,
            Err(e) => return shape(&e.to_string()),
        };
        let mut out = vec![format!("rev {}", acpi.rsdp().revision)];
        let _ = acpi.table_addresses().take(1000).count();
        for signature in SIGNATURES {
            match acpi.find_table(TableSignature(*signature)) {
                Ok(table) => {
                    let _ = table.data();
                    out.push(format!("{}", TableSignature(*signature)));
                    if signature == b"FACP" {
                        let _ = tables::pm_timer(&table);
                        let control = tables::power_control(&mem, &table);
                        out.push(format!("s5 {}", control.s5.is_some()));
                    }
                    if signature == b"DSDT" {
                        let _ = tables::s5_sleep_type(table.data());
                    }
                    if signature == b"HPET" {
                        out.push(format!("hpet {}", tables::hpet(&table).is_some()));
                    }
                }
                Err(e) => out.push(shape(&e.to_string())),
            }
        }
        match acpi.ecam_regions() {
            Ok(regions) => {
                for r in &regions {
                    let _ = r.config_address(0, 0, 0);
                    let _ = r.config_address(255, 31, 7);
                    let _ = r.covered_range();
                }
                out.push(format!("ecam {}", regions.len().min(3)));
            }
            Err(e) => out.push(shape(&e.to_string())),
        }
        out.join("|")
    }

    pub fn seeds(_: &Path) -> Vec<Vec<u8>> {
        let mut m = vec![0u8; 0x400];
        let put32 = |m: &mut Vec<u8>, at: usize, v: u32| m[at..at + 4].copy_from_slice(&v.to_le_bytes());
        let put64 = |m: &mut Vec<u8>, at: usize, v: u64| m[at..at + 8].copy_from_slice(&v.to_le_bytes());
        let header = |m: &mut Vec<u8>, at: usize, sig: &[u8; 4], len: u32, rev: u8| {
            m[at..at + 4].copy_from_slice(sig);
            m[at + 4..at + 8].copy_from_slice(&len.to_le_bytes());
            m[at + 8] = rev;
            m[at + 10..at + 16].copy_from_slice(b"HVFW  ");
        };
        // RSDP v2 at 0.
        m[..8].copy_from_slice(b"RSD PTR ");
        m[15] = 2;
        put32(&mut m, 16, 0x80); // RSDT
        put32(&mut m, 20, 36);
        put64(&mut m, 24, 0x40); // XSDT
                                 // XSDT at 0x40: FACP, MCFG, HPET.
        header(&mut m, 0x40, b"XSDT", 36 + 24, 1);
        put64(&mut m, 0x40 + 36, 0x100);
        put64(&mut m, 0x40 + 44, 0x200);
        put64(&mut m, 0x40 + 52, 0x380);
        // RSDT at 0x80 with the same tables.
        header(&mut m, 0x80, b"RSDT", 36 + 12, 1);
        put32(&mut m, 0x80 + 36, 0x100);
        put32(&mut m, 0x80 + 40, 0x200);
        put32(&mut m, 0x80 + 44, 0x380);
        // FADT at 0x100 (ACPI 6: 276 bytes; here 244, revision 5), DSDT at 0x300.
        header(&mut m, 0x100, b"FACP", 244, 5);
        put32(&mut m, 0x100 + 40, 0x300); // DSDT
        put32(&mut m, 0x100 + 64, 0x604); // PM1a control block
        put32(&mut m, 0x100 + 76, 0x608); // PM timer block
        m[0x100 + 91] = 4; // PM timer length
        put32(&mut m, 0x100 + 112, 1 << 8); // flags: TMR_VAL_EXT
        m[0x100 + 116] = 1; // reset register: system I/O
        m[0x100 + 117] = 8;
        put64(&mut m, 0x100 + 120, 0xcf9);
        m[0x100 + 128] = 0x06; // reset value
                               // MCFG at 0x200: one ECAM window.
        header(&mut m, 0x200, b"MCFG", 44 + 16, 1);
        put64(&mut m, 0x200 + 44, 0xb000_0000);
        m[0x200 + 44 + 11] = 255; // end bus
                                  // DSDT at 0x300 with `Name (_S5, Package (4) { 5, 0, 0, 0 })`.
        let aml: &[u8] = &[
            0x08, b'_', b'S', b'5', b'_', 0x12, 0x06, 0x04, 0x0a, 0x05, 0x00, 0x00, 0x00,
        ];
        header(&mut m, 0x300, b"DSDT", 36 + aml.len() as u32, 2);
        m[0x300 + 36..0x300 + 36 + aml.len()].copy_from_slice(aml);
        // HPET at 0x380: registers at 0xfed00000 in memory space.
        header(&mut m, 0x380, b"HPET", 56, 1);
        put64(&mut m, 0x380 + 44, 0xfed0_0000);
        fix_checksums(&mut m);
        let mut seed = vec![0u8];
        seed.extend_from_slice(&m);
        vec![seed]
    }
}

mod device_path {
    use super::*;
    use fw_core::handles::device_path as dp;

    pub fn run(input: &[u8]) -> String {
        let mut out = Vec::new();
        let mut count = 0;
        for node in dp::nodes(input) {
            count += 1;
            if count > 100_000 {
                return "too many nodes".into();
            }
            match node {
                Ok(node) => {
                    let _ = (
                        node.kind(),
                        node.sub_type(),
                        node.data(),
                        node.is_end(),
                        node.is_end_entire(),
                    );
                }
                Err(e) => out.push(shape(&e.to_string())),
            }
        }
        for result in [
            dp::size(input).map(|_| ()),
            dp::body(input).map(|_| ()),
            dp::first_instance(input).map(|_| ()),
        ] {
            if let Err(e) = result {
                out.push(shape(&e.to_string()));
            }
        }
        let _ = dp::size_in_memory(input.len(), |offset| {
            input.get(offset..offset.checked_add(4)?)?.try_into().ok()
        });
        let _ = dp::size_in_memory(usize::MAX, |offset| {
            input.get(offset..offset.checked_add(4)?)?.try_into().ok()
        });
        out.push(format!("nodes {}", count.min(8)));
        out.join("|")
    }

    pub fn seeds(_: &Path) -> Vec<Vec<u8>> {
        let mut path = Vec::new();
        // PciRoot(0x0): ACPI (2/1), HID PNP0A03, UID 0.
        path.extend_from_slice(&[2, 1, 12, 0, 0xd0, 0x41, 0x03, 0x0a, 0, 0, 0, 0]);
        // Pci(0x3,0x0): hardware (1/1).
        path.extend_from_slice(&[1, 1, 6, 0, 0, 3]);
        // HD(1,GPT,...): media (4/1), 42 bytes.
        let mut hd = vec![4, 1, 42, 0, 1, 0, 0, 0];
        hd.extend_from_slice(&2048u64.to_le_bytes());
        hd.extend_from_slice(&81920u64.to_le_bytes());
        hd.extend_from_slice(&[0x4d; 16]);
        hd.extend_from_slice(&[2, 2]);
        path.extend_from_slice(&hd);
        // File path (4/4) "\EFI\BOOT\BOOTX64.EFI".
        let name: Vec<u8> = "\\EFI\\BOOT\\BOOTX64.EFI\0"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        path.extend_from_slice(&[4, 4]);
        path.extend_from_slice(&((4 + name.len()) as u16).to_le_bytes());
        path.extend_from_slice(&name);
        // End instance, a second instance, end entire.
        let mut two = path.clone();
        two.extend_from_slice(&[0x7f, 0x01, 4, 0]);
        two.extend_from_slice(&[1, 1, 6, 0, 0, 4]);
        two.extend_from_slice(&[0x7f, 0xff, 4, 0]);
        path.extend_from_slice(&[0x7f, 0xff, 4, 0]);
        vec![path, two]
    }
}

mod bls {
    use super::*;
    use fw_loaders::bls::{build_menu, entry::parse_entry, parse_loader_conf, Type1File, UkiFile, UkiSections};

    /// Separates the files of a `bls_menu` input.
    const FILE_SEPARATOR: u8 = 0;
    /// Separates the sections (`.osrel`, `.cmdline`, `.uname`) of a UKI record.
    const SECTION_SEPARATOR: u8 = 1;

    pub fn run_entry(input: &[u8]) -> String {
        match parse_entry(input) {
            Ok(entry) => format!(
                "ok title {} linux {} efi {} initrds {} overlays {} arch {}",
                entry.title.is_some(),
                entry.linux.is_some(),
                entry.efi.is_some(),
                entry.initrds.len().min(4),
                entry.devicetree_overlays.len().min(4),
                entry.architecture.is_some()
            ),
            Err(e) => shape(&e.to_string()),
        }
    }

    pub fn run_loader_conf(input: &[u8]) -> String {
        match parse_loader_conf(input) {
            Ok(conf) => format!(
                "ok default {} saved {} timeout {:?} editor {} warnings {}",
                conf.default.is_some(),
                conf.default_saved,
                conf.timeout.map(|t| shape(&format!("{t:?}"))),
                conf.editor,
                conf.warnings.len().min(4)
            ),
            Err(e) => shape(&e.to_string()),
        }
    }

    /// The input: files separated by `FILE_SEPARATOR`. The first "file" is the
    /// `loader.conf` text whose `default` is used; each further one starts with
    /// a kind byte (even: a Type #1 entry, odd: a UKI), then its name up to the
    /// first newline, then its contents (for a UKI, sections separated by
    /// `SECTION_SEPARATOR`). The local architecture is `x64`; entries for
    /// another one are skipped.
    pub fn run_menu(input: &[u8]) -> String {
        let mut parts = input.split(|&b| b == FILE_SEPARATOR);
        let conf = parse_loader_conf(parts.next().unwrap_or(&[])).unwrap_or_default();
        let mut names_type1 = Vec::new();
        let mut names_uki = Vec::new();
        let mut type1_contents = Vec::new();
        let mut uki_sections = Vec::new();
        for part in parts.take(64) {
            let Some((&kind, rest)) = part.split_first() else {
                continue;
            };
            let (name, contents) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &[][..]),
            };
            let name = String::from_utf8_lossy(name).into_owned();
            if kind % 2 == 0 {
                names_type1.push(name);
                type1_contents.push(contents);
            } else {
                let mut sections = contents.split(|&b| b == SECTION_SEPARATOR);
                names_uki.push(name);
                uki_sections.push(UkiSections {
                    osrel: sections.next(),
                    cmdline: sections.next(),
                    uname: sections.next(),
                });
            }
        }
        let type1: Vec<Type1File> = names_type1
            .iter()
            .zip(&type1_contents)
            .map(|(name, contents)| Type1File {
                file_name: name,
                contents,
            })
            .collect();
        let ukis: Vec<UkiFile> = names_uki
            .iter()
            .zip(&uki_sections)
            .map(|(name, sections)| UkiFile {
                file_name: name,
                sections: *sections,
            })
            .collect();
        let menu = build_menu(&type1, &ukis, "x64", conf.default.as_deref());
        if let Some(default) = menu.default {
            assert!(
                default < menu.entries.len(),
                "default {default} of {} entries",
                menu.entries.len()
            );
        } else {
            assert!(
                menu.entries.is_empty(),
                "no default with {} entries",
                menu.entries.len()
            );
        }
        let mut skipped: Vec<String> = menu.skipped.iter().map(|s| shape(&format!("{:?}", s.reason))).collect();
        skipped.sort();
        skipped.dedup();
        skipped.truncate(4);
        format!(
            "entries {} default {} skipped {}",
            menu.entries.len().min(4),
            menu.default.map(|d| d.min(4) as i64).unwrap_or(-1),
            skipped.join(",")
        )
    }

    const ENTRY: &str = "# Boot Loader Specification type #1 entry
title      Debian GNU/Linux 12 (bookworm)
version    6.1.0-9-amd64
machine-id 6a9857a393724b7a981ebb5b8495b9ea
sort-key   debian
linux      /6a9857a393724b7a981ebb5b8495b9ea/6.1.0-9-amd64/linux
initrd     /6a9857a393724b7a981ebb5b8495b9ea/6.1.0-9-amd64/initrd.img
options    root=UUID=3b1f6a2e-0c1d-4e5f-8a9b-0c1d2e3f4a5b ro quiet
options    console=ttyS0
architecture x64
devicetree-overlay /overlays/a.dtbo /overlays/b.dtbo
";

    const LOADER_CONF: &str = "# loader.conf(5)
default debian-*
timeout 5
console-mode keep
editor no
";

    const OS_RELEASE: &str = "NAME=\"Fedora Linux\"
VERSION_ID=40
ID=fedora
PRETTY_NAME=\"Fedora Linux 40 (Forty)\"
";

    pub fn entry_seeds(_: &Path) -> Vec<Vec<u8>> {
        vec![
            ENTRY.as_bytes().to_vec(),
            b"title Shell\nefi /EFI/tools/shell.efi\n".to_vec(),
            ENTRY.replace('\n', "\r\n").into_bytes(),
        ]
    }

    pub fn loader_conf_seeds(_: &Path) -> Vec<Vec<u8>> {
        vec![
            LOADER_CONF.as_bytes().to_vec(),
            b"default @saved\ntimeout menu-force\n".to_vec(),
            b"timeout 0\ndefault *\n".to_vec(),
        ]
    }

    pub fn menu_seeds(_: &Path) -> Vec<Vec<u8>> {
        let mut menu = LOADER_CONF.as_bytes().to_vec();
        for (kind, name, contents) in [
            (0u8, "debian-6.1.0-9-amd64+3-1.conf", ENTRY.to_string()),
            (0, "debian-6.1.0-10-amd64.conf", ENTRY.replace("6.1.0-9", "6.1.0-10")),
            (2, "shell.conf", "title Shell\nefi /EFI/tools/shell.efi\n".to_string()),
            (
                1,
                "fedora-6.8.5.efi",
                format!("{OS_RELEASE}\u{1}root=/dev/vda2 ro\u{1}6.8.5-301.fc40.x86_64"),
            ),
        ] {
            menu.push(FILE_SEPARATOR);
            menu.push(kind);
            menu.extend_from_slice(name.as_bytes());
            menu.push(b'\n');
            menu.extend_from_slice(contents.as_bytes());
        }
        vec![menu]
    }
}

mod setup_header {
    use super::*;
    use fw_loaders::linux::setup_header::*;

    pub fn run(input: &[u8]) -> String {
        match SetupHeader::parse(input) {
            Ok(header) => {
                let setup = header.setup_len();
                let protected = header.protected_mode(input);
                assert!(
                    setup < input.len(),
                    "setup of {setup} bytes in a {}-byte file",
                    input.len()
                );
                assert_eq!(protected.len(), input.len() - setup);
                let bytes = header.header_bytes(input);
                assert!(bytes.len() <= SETUP_HEADER_LIMIT - SETUP_HEADER_OFFSET);
                let _ = (header.load_size(input), header.initrd_max_address());
                format!(
                    "ok version {:#x} above 4g {} relocatable {} header {}",
                    header.version,
                    header.can_be_loaded_above_4g(),
                    header.relocatable_kernel,
                    bytes.len()
                )
            }
            Err(e) => shape(&e.to_string()),
        }
    }

    fn put(image: &mut [u8], offset: usize, bytes: &[u8]) {
        image[offset..offset + bytes.len()].copy_from_slice(bytes);
    }

    /// A bzImage header as boot.rst describes it, with 4 setup sectors and a
    /// 4 KiB protected-mode part.
    pub fn minimal_bzimage() -> Vec<u8> {
        let mut image = vec![0u8; 5 * SECTOR_SIZE + 4096];
        image[OFF_SETUP_SECTS] = 4;
        put(&mut image, OFF_SYSSIZE, &(4096u32 / 16).to_le_bytes());
        put(&mut image, OFF_BOOT_FLAG, &BOOT_FLAG.to_le_bytes());
        put(&mut image, OFF_JUMP, &[0xeb, 0x6a]);
        put(&mut image, OFF_HEADER, &HEADER_MAGIC.to_le_bytes());
        put(&mut image, OFF_VERSION, &0x020fu16.to_le_bytes());
        image[OFF_LOADFLAGS] = LOADED_HIGH;
        put(&mut image, OFF_INITRD_ADDR_MAX, &0x7fff_ffffu32.to_le_bytes());
        put(&mut image, OFF_KERNEL_ALIGNMENT, &0x20_0000u32.to_le_bytes());
        image[OFF_RELOCATABLE_KERNEL] = 1;
        put(&mut image, OFF_XLOADFLAGS, &0x3u16.to_le_bytes());
        put(&mut image, OFF_CMDLINE_SIZE, &2047u32.to_le_bytes());
        put(&mut image, OFF_PREF_ADDRESS, &0x100_0000u64.to_le_bytes());
        put(&mut image, OFF_INIT_SIZE, &0x10_0000u32.to_le_bytes());
        image
    }

    pub fn seeds(_: &Path) -> Vec<Vec<u8>> {
        vec![minimal_bzimage()]
    }
}

mod device_path_text {
    use fw_protocols::device_path::{path_from_text, path_to_text, size, TextForm};

    /// Every form of the text is written without a panic, and the full forms
    /// read back as the same bytes (UEFI 2.10 §10.6.1: binary to text to binary).
    pub fn run(input: &[u8]) -> String {
        match path_to_text(input, TextForm::PARSEABLE) {
            Ok(text) => {
                let path = &input[..size(input).expect("a path that has a text has a size")];
                assert_eq!(path_from_text(&text).as_deref(), Ok(path), "{text}");
                let shortcuts = path_to_text(input, TextForm::SHORTCUTS).expect("the same path");
                assert_eq!(path_from_text(&shortcuts).as_deref(), Ok(path), "{shortcuts}");
                let _ = path_to_text(input, TextForm::DISPLAY);
                let nodes = shortcuts.matches('/').count() + usize::from(!shortcuts.is_empty());
                let kinds: Vec<&str> = shortcuts
                    .split('/')
                    .map(|n| n.split('(').next().unwrap_or(""))
                    .take(8)
                    .collect();
                format!("ok {} {}", nodes.min(16), kinds.join("/"))
            }
            Err(e) => super::shape(&e.to_string()),
        }
    }
}

mod variables {
    use super::*;
    use fw_core::variables::VariableStore;
    use r_efi::efi;

    const GUIDS: [efi::Guid; 2] = [
        efi::Guid::from_fields(
            0x8be4df61,
            0x93ca,
            0x11d2,
            0xaa,
            0x0d,
            &[0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c],
        ),
        efi::Guid::from_fields(0x4856464d, 0, 0x4000, 0x80, 0, &[0, 0, 0, 0, 0, 1]),
    ];

    /// Reads the input as operations on a store whose arena size comes first,
    /// and checks what every successful SetVariable promises.
    pub fn run(input: &[u8]) -> String {
        let mut bytes = input.iter().copied();
        let mut next = move || bytes.next();
        let arena = 64 + usize::from(next().unwrap_or(0)) * 64;
        let mut store = VariableStore::new(vec![0u8; arena]);
        let mut out = Vec::new();
        let mut ops = 0;
        while let Some(op) = next() {
            ops += 1;
            if ops > 2000 {
                break;
            }
            let name_len = usize::from(next().unwrap_or(1) % 24);
            let name: Vec<u16> = (0..name_len)
                .map(|_| u16::from(next().unwrap_or(b'A')) | if op & 0x80 != 0 { 0x100 } else { 0 })
                .collect();
            let guid = GUIDS[usize::from(op >> 6 & 1)];
            let attributes = u32::from(next().unwrap_or(7)) | u32::from(op & 0x20) << 1;
            let runtime = op & 0x10 != 0;
            match op % 5 {
                0 | 1 => {
                    let len = usize::from(next().unwrap_or(0)) * if op & 8 != 0 { 37 } else { 1 };
                    let data: Vec<u8> = (0..len).map(|i| i as u8 ^ op).collect();
                    let before: Option<Vec<u8>> = store.get(&name, &guid, false).ok().map(|(_, d)| d.to_vec());
                    match store.set(&name, &guid, attributes, &data, runtime) {
                        Ok(()) => {
                            let append = attributes & efi::VARIABLE_APPEND_WRITE != 0;
                            let deleting =
                                !append && (data.is_empty() || attributes & efi::VARIABLE_BOOTSERVICE_ACCESS == 0);
                            let now = store.get(&name, &guid, false).map(|(_, d)| d.to_vec());
                            let expected = if deleting {
                                None
                            } else if append && data.is_empty() {
                                // Appending nothing changes nothing (and creates nothing).
                                before.clone()
                            } else if append {
                                let mut joined = before.clone().unwrap_or_default();
                                joined.extend_from_slice(&data);
                                Some(joined)
                            } else {
                                Some(data.clone())
                            };
                            if now.as_ref().ok() != expected.as_ref() {
                                panic!(
                                    "variables: after SetVariable (attributes {attributes:#x}, {} bytes) \
                                     GetVariable returns {:?}, expected {:?}",
                                    data.len(),
                                    now.map(|d| d.len()),
                                    expected.map(|d| d.len())
                                );
                            }
                        }
                        Err(e) => out.push(format!("{e:?}")),
                    }
                }
                2 => {
                    let _ = store.get(&name, &guid, runtime);
                }
                3 => {
                    // Enumeration ends, and within as many steps as there are records.
                    let mut current: Vec<u16> = vec![0];
                    let mut current_guid = GUIDS[0];
                    let mut steps = 0;
                    let mut seen = Vec::new();
                    loop {
                        let mut buf = vec![0u16; 64];
                        match store.next_name(&current, &current_guid, runtime, &mut buf) {
                            Ok(g) => {
                                let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
                                current = buf[..=end.min(buf.len() - 1)].to_vec();
                                current_guid = g;
                                seen.push(String::from_utf16_lossy(&current));
                            }
                            Err(_) => break,
                        }
                        steps += 1;
                        if steps > arena / 32 + 2 {
                            panic!("variables: GetNextVariableName did not end after {steps} names: {seen:?}");
                        }
                    }
                }
                _ if name.first().is_some_and(|&c| c != 0) => {
                    // The firmware's own variables: never with an empty name.
                    let _ = store.set_read_only(&name, &guid, attributes & 7, &[op; 3]);
                }
                _ => {}
            }
            let asked = attributes | r_efi::efi::VARIABLE_BOOTSERVICE_ACCESS;
            if let Ok(info) = store.info(asked, false) {
                if info.remaining_storage > info.maximum_storage {
                    panic!("variables: QueryVariableInfo says {info:?}");
                }
            }
        }
        out.sort();
        out.dedup();
        out.join("|")
    }

    pub fn seeds(_: &Path) -> Vec<Vec<u8>> {
        vec![
            // Arena 1 KiB; set "Boot0000" (BS|RT|NV), get it, append, enumerate, delete.
            vec![
                15, 0, 8, b'B', b'o', b'o', b't', b'0', b'0', b'0', b'0', 7, 10, 2, 8, b'B', b'o', b'o', b't', b'0',
                b'0', b'0', b'0', 7, 0x40, 8, b'B', b'o', b'o', b't', b'0', b'0', b'0', b'0', 0x47, 5, 3, 1, b'x', 0,
                0, 8, b'B', b'o', b'o', b't', b'0', b'0', b'0', b'0', 7, 0,
            ],
            vec![
                0, 4, 4, b'T', b'i', b'n', b'y', 7, 200, 4, 4, b'T', b'i', b'n', b'y', 7, 0,
            ],
        ]
    }
}

// ---- the engine ----

/// xorshift64: reproducible and fast.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

const INTERESTING: [u64; 14] = [
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x200,
    0x1000,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    u64::MAX,
];

/// Mutates `data` in place with 1..=8 random edits, `other` for splices.
pub fn mutate(rng: &mut Rng, data: &mut Vec<u8>, other: &[u8], max_len: usize) {
    let edits = 1 + rng.below(8);
    for _ in 0..edits {
        // Offsets near the start are favoured: headers live there.
        let pos = |rng: &mut Rng, len: usize| {
            if len == 0 {
                0
            } else if rng.below(2) == 0 {
                rng.below(len.min(1024))
            } else {
                rng.below(len)
            }
        };
        match rng.below(10) {
            0 | 1 => {
                if !data.is_empty() {
                    let at = pos(rng, data.len());
                    data[at] ^= 1 << rng.below(8);
                }
            }
            2 => {
                if !data.is_empty() {
                    let at = pos(rng, data.len());
                    data[at] = rng.next_u64() as u8;
                }
            }
            3 | 4 => {
                let width = [1, 2, 4, 8][rng.below(4)];
                if data.len() >= width {
                    let at = pos(rng, data.len() - width + 1);
                    let mut value = INTERESTING[rng.below(INTERESTING.len())];
                    if rng.below(4) == 0 {
                        value = value.wrapping_add(rng.below(9) as u64).wrapping_sub(4);
                    }
                    if rng.below(5) == 0 {
                        value = data.len() as u64;
                    }
                    data[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
                }
            }
            5 => {
                if data.len() < max_len {
                    let at = pos(rng, data.len() + 1);
                    let n = 1 + rng.below(32);
                    let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                    data.splice(at..at, bytes);
                }
            }
            6 => {
                if !data.is_empty() {
                    let at = pos(rng, data.len());
                    let n = (1 + rng.below(64)).min(data.len() - at);
                    data.drain(at..at + n);
                }
            }
            7 => {
                if !data.is_empty() && rng.below(4) == 0 {
                    let keep = rng.below(data.len());
                    data.truncate(keep);
                }
            }
            8 => {
                if !other.is_empty() && !data.is_empty() {
                    let from = rng.below(other.len());
                    let n = (1 + rng.below(256)).min(other.len() - from);
                    let at = pos(rng, data.len());
                    let end = (at + n).min(data.len());
                    data.splice(at..end, other[from..from + n].iter().copied());
                }
            }
            _ => {
                // Copy a chunk of the input over another place in it.
                if data.len() > 8 {
                    let from = rng.below(data.len());
                    let n = (1 + rng.below(64)).min(data.len() - from);
                    let chunk = data[from..from + n].to_vec();
                    let at = rng.below(data.len() - n + 1);
                    data[at..at + n].copy_from_slice(&chunk);
                }
            }
        }
    }
    data.truncate(max_len);
}

/// What happened to one input.
#[derive(Debug)]
pub enum Outcome {
    Ok(String),
    Panic(String),
    Hang,
}

thread_local! {
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Keeps panic messages for the report instead of printing them.
pub fn install_quiet_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(non-string panic)".into());
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{message} at {location}")));
    }));
}

/// Runs one input, catching a panic.
pub fn run_caught(target: fn(&[u8]) -> String, input: &[u8]) -> Outcome {
    match std::panic::catch_unwind(|| target(input)) {
        Ok(signal) => Outcome::Ok(signal),
        Err(_) => Outcome::Panic(
            LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| "panic".into()),
        ),
    }
}

/// A thread that runs inputs, so that a hang can be noticed and abandoned.
pub struct Worker {
    send: mpsc::Sender<Vec<u8>>,
    receive: mpsc::Receiver<Outcome>,
}

impl Worker {
    pub fn new(target: fn(&[u8]) -> String) -> Worker {
        let (send, inputs) = mpsc::channel::<Vec<u8>>();
        let (results, receive) = mpsc::channel();
        std::thread::spawn(move || {
            for input in inputs {
                if results.send(run_caught(target, &input)).is_err() {
                    break;
                }
            }
        });
        Worker { send, receive }
    }

    /// Runs `input`; `Hang` when it takes longer than `deadline` (the thread is
    /// then left behind and the worker must not be used again).
    pub fn run(&self, input: &[u8], deadline: Duration) -> Outcome {
        if self.send.send(input.to_vec()).is_err() {
            return Outcome::Panic("fuzz worker is gone".into());
        }
        self.receive.recv_timeout(deadline).unwrap_or(Outcome::Hang)
    }
}

/// A crash or hang found by a run.
#[derive(Debug)]
pub struct Finding {
    pub target: &'static str,
    pub kind: &'static str,
    pub message: String,
    pub file: PathBuf,
}

/// What one target's run did.
#[derive(Debug)]
pub struct Report {
    pub target: &'static str,
    pub executions: u64,
    pub corpus: usize,
    pub findings: Vec<Finding>,
    pub elapsed: Duration,
}

/// Saves a crashing input as `<dir>/<target>/<hash>.bin`; returns its path.
pub fn save(dir: &Path, target: &str, input: &[u8]) -> std::io::Result<PathBuf> {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{:016x}.bin", crate::initramfs::fnv1a(input)));
    std::fs::write(&path, input)?;
    Ok(path)
}

/// Fuzzes `target` for `budget`, saving findings under `out`.
pub fn fuzz(target: &Target, budget: Duration, seed: u64, seed_dir: &Path, out: &Path) -> Report {
    const MAX_CORPUS: usize = 512;
    const MAX_LEN: usize = 256 * 1024;
    const HANG: Duration = Duration::from_secs(1);
    let started = Instant::now();
    let mut rng = Rng::new(seed ^ crate::initramfs::fnv1a(target.name.as_bytes()));
    let mut corpus: Vec<Vec<u8>> = (target.seeds)(seed_dir);
    if corpus.is_empty() {
        corpus.push(vec![0u8; 64]);
    }
    let mut signals: HashSet<String> = HashSet::new();
    let mut panics: HashSet<String> = HashSet::new();
    let mut findings = Vec::new();
    let mut worker = Worker::new(target.run);
    let mut executions = 0u64;
    let mut hangs = 0;
    // The seeds themselves first.
    let mut pending: Vec<Vec<u8>> = corpus.clone();
    while started.elapsed() < budget {
        let input = match pending.pop() {
            Some(input) => input,
            None => {
                let mut input = corpus[rng.below(corpus.len())].clone();
                let other = corpus[rng.below(corpus.len())].clone();
                mutate(&mut rng, &mut input, &other, MAX_LEN);
                input
            }
        };
        executions += 1;
        match worker.run(&input, HANG) {
            Outcome::Ok(signal) => {
                if signals.insert(signal) && corpus.len() < MAX_CORPUS {
                    corpus.push(input);
                }
            }
            Outcome::Panic(message) => {
                // One input per panic site (the message's location).
                let site = message.rsplit(" at ").next().unwrap_or(&message).to_string();
                if panics.insert(site) {
                    if let Ok(file) = save(out, target.name, &input) {
                        findings.push(Finding {
                            target: target.name,
                            kind: "panic",
                            message,
                            file,
                        });
                    }
                }
            }
            Outcome::Hang => {
                if let Ok(file) = save(out, target.name, &input) {
                    findings.push(Finding {
                        target: target.name,
                        kind: "hang",
                        message: format!("no result within {HANG:?}"),
                        file,
                    });
                }
                hangs += 1;
                // The stuck thread keeps a core busy; stop after a few.
                if hangs >= 3 {
                    break;
                }
                worker = Worker::new(target.run);
            }
        }
    }
    Report {
        target: target.name,
        executions,
        corpus: corpus.len(),
        findings,
        elapsed: started.elapsed(),
    }
}

// ---- QEMU's fw_cfg: the file directory and the table-loader script ----

mod fw_cfg {
    use fw_drivers::fw_cfg::dir;
    use fw_drivers::fw_cfg::table_loader::{self, Environment, Zone};

    /// The files the script may allocate, as the directory parser saw them.
    struct Files {
        files: Vec<(String, Vec<u8>)>,
        next: u64,
    }

    impl Environment for Files {
        fn fetch(&mut self, name: &str) -> Option<Vec<u8>> {
            self.files.iter().find(|(n, _)| n == name).map(|(_, d)| d.clone())
        }
        fn allocate(&mut self, _: &str, size: usize, align: u64, _: Zone) -> Option<u64> {
            let address = self.next.checked_next_multiple_of(align.max(4096))?;
            self.next = address.checked_add(size as u64)?;
            Some(address)
        }
    }

    /// Input: a byte choosing where allocations start (even: below 4 GiB, odd:
    /// above), a little-endian u16 length `n`, `n` bytes of file directory
    /// (each named file holds its size in zero bytes, at most 64 KiB), then
    /// the script.
    pub fn run(input: &[u8]) -> String {
        let Some((&high, rest)) = input.split_first() else {
            return "empty".into();
        };
        let n = rest
            .get(..2)
            .map_or(0, |b| usize::from(u16::from_le_bytes([b[0], b[1]])));
        let directory = rest.get(2..2 + n).unwrap_or_default();
        let script = rest.get(2 + n..).unwrap_or_default();
        let files = match dir::parse(directory) {
            Ok(files) => files,
            Err(e) => return super::shape(&format!("dir {e}")),
        };
        let mut env = Files {
            files: files
                .iter()
                .map(|f| (f.name.clone(), vec![0; f.size.min(1 << 16) as usize]))
                .collect(),
            next: if high % 2 == 0 { 0x4000_0000 } else { 0x1_0000_0000 },
        };
        match table_loader::run(script, &mut env) {
            Ok(blobs) => format!("ok {} files, {} blobs", files.len(), blobs.len()),
            Err(e) => super::shape(&e.to_string()),
        }
    }

    fn name(name: &str) -> [u8; 56] {
        let mut field = [0u8; 56];
        field[..name.len()].copy_from_slice(name.as_bytes());
        field
    }

    fn command(command: u32, args: &[&[u8]]) -> Vec<u8> {
        let mut r = command.to_le_bytes().to_vec();
        for a in args {
            r.extend_from_slice(a);
        }
        r.resize(128, 0);
        r
    }

    /// A directory of two files (RSDP, tables) and the script QEMU's `virt`
    /// machine would send for them.
    pub fn seeds(_: &std::path::Path) -> Vec<Vec<u8>> {
        let mut directory = 2u32.to_be_bytes().to_vec();
        for (i, (file, size)) in [("etc/acpi/rsdp", 36u32), ("etc/acpi/tables", 0x200)]
            .iter()
            .enumerate()
        {
            directory.extend(size.to_be_bytes());
            directory.extend((0x20 + i as u16).to_be_bytes());
            directory.extend([0, 0]);
            directory.extend(name(file));
        }
        let script = [
            command(1, &[&name("etc/acpi/rsdp"), &16u32.to_le_bytes(), &[2]]),
            command(1, &[&name("etc/acpi/tables"), &64u32.to_le_bytes(), &[1]]),
            command(
                2,
                &[
                    &name("etc/acpi/rsdp"),
                    &name("etc/acpi/tables"),
                    &24u32.to_le_bytes(),
                    &[4],
                ],
            ),
            command(
                3,
                &[
                    &name("etc/acpi/rsdp"),
                    &8u32.to_le_bytes(),
                    &0u32.to_le_bytes(),
                    &20u32.to_le_bytes(),
                ],
            ),
            command(
                3,
                &[
                    &name("etc/acpi/tables"),
                    &9u32.to_le_bytes(),
                    &0u32.to_le_bytes(),
                    &36u32.to_le_bytes(),
                ],
            ),
        ]
        .concat();
        let mut input = vec![0u8];
        input.extend((directory.len() as u16).to_le_bytes());
        input.extend(directory);
        input.extend(script);
        vec![input]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every saved crashing or hanging input, replayed: none may panic or hang.
    #[test]
    fn fuzz_regressions_replay_without_panics() {
        install_quiet_panic_hook();
        let dir = regressions_dir();
        let mut failures = Vec::new();
        let mut replayed = 0;
        for target in targets() {
            let Ok(entries) = std::fs::read_dir(dir.join(target.name)) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "bin")) {
                let input = std::fs::read(file).unwrap();
                replayed += 1;
                // Debug builds are slower than the fuzzer's release build.
                match Worker::new(target.run).run(&input, Duration::from_secs(20)) {
                    Outcome::Ok(_) => {}
                    Outcome::Panic(message) => failures.push(format!("{}: panic: {message}", file.display())),
                    Outcome::Hang => failures.push(format!("{}: no result within 20 s", file.display())),
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{replayed} inputs replayed; failures:\n{}",
            failures.join("\n")
        );
    }

    #[test]
    fn seeds_in_code_are_accepted_by_their_parsers() {
        assert!(
            pe::run(&pe::minimal_pe()).starts_with("ok"),
            "{}",
            pe::run(&pe::minimal_pe())
        );
        let acpi = acpi::run(&acpi::seeds(Path::new("."))[0]);
        assert!(
            acpi.contains("FACP") && acpi.contains("ecam 1") && acpi.contains("hpet true"),
            "{acpi}"
        );
        let path = device_path::run(&device_path::seeds(Path::new("."))[0]);
        assert_eq!(path, "nodes 5");
        let smbios_seeds = smbios::seeds(Path::new("."));
        let three = smbios::run(&smbios_seeds[0]);
        assert!(three.starts_with("ok 3|"), "{three}");
        assert_eq!(smbios::run(&smbios_seeds[1]), "ok 3|ok 3");
        let entry = bls::run_entry(&bls::entry_seeds(Path::new("."))[0]);
        assert!(entry.starts_with("ok title true linux true"), "{entry}");
        let conf = bls::run_loader_conf(&bls::loader_conf_seeds(Path::new("."))[0]);
        assert!(conf.starts_with("ok default true saved false"), "{conf}");
        let menu = bls::run_menu(&bls::menu_seeds(Path::new("."))[0]);
        assert!(menu.starts_with("entries 4 default"), "{menu}");
        let header = setup_header::run(&setup_header::minimal_bzimage());
        assert!(header.starts_with("ok version 0x20f above 4g true"), "{header}");
        let text = device_path_text::run(&device_path::seeds(Path::new("."))[0]);
        assert!(text.starts_with("ok 4 PciRoot/Pci/HD/"), "{text}");
        let loader = fw_cfg::run(&fw_cfg::seeds(Path::new("."))[0]);
        assert_eq!(loader, "ok 2 files, 2 blobs");
    }

    #[test]
    fn sparse_disk_round_trips_an_image() {
        let mut image = vec![0u8; 8 * BLOCK];
        image[3 * BLOCK + 7] = 9;
        let disk = SparseDisk::decode(&SparseDisk::encode(&image));
        assert_eq!(disk.block_count(), 8);
        let mut back = vec![0u8; 8 * BLOCK];
        disk.read_blocks(0, &mut back).unwrap();
        assert_eq!(back, image);
    }

    #[test]
    fn mutation_stays_within_the_length_limit() {
        let mut rng = Rng::new(7);
        let mut data = vec![1u8; 100];
        for _ in 0..1000 {
            mutate(&mut rng, &mut data, &[2u8; 50], 128);
            assert!(data.len() <= 128);
        }
    }
}

/// The EBBR variable file (`ubootefi.var`): parsing never panics, and what
/// parses writes back to bytes that parse to the same variables.
mod variable_file {
    use fw_core::variable_file::{admissible, parse, serialize, FileVariable};
    use r_efi::efi;
    use std::path::Path;

    pub fn run(input: &[u8]) -> String {
        match parse(input) {
            Err(e) => format!("error {e:?}"),
            Ok(vars) => {
                let again = serialize(&vars);
                let reparsed = parse(&again).expect("a serialized store parses");
                assert_eq!(reparsed, vars, "serialize then parse changed the variables");
                let admitted = vars.iter().filter(|v| admissible(v).is_ok()).count();
                format!("ok {} admitted {admitted}", vars.len())
            }
        }
    }

    pub fn seeds(_: &Path) -> Vec<Vec<u8>> {
        let nv = efi::VARIABLE_NON_VOLATILE | efi::VARIABLE_BOOTSERVICE_ACCESS | efi::VARIABLE_RUNTIME_ACCESS;
        let var = |name: &str, data: &'static [u8]| FileVariable {
            name: name.encode_utf16().collect(),
            guid: efi::GLOBAL_VARIABLE,
            attributes: nv,
            time: 0,
            data,
        };
        vec![
            serialize(&[]),
            serialize(&[var("BootOrder", &[1, 0]), var("Timeout", &[5, 0])]),
            serialize(&[
                var("Boot0001", &[1, 0, 0, 0, 0x2c, 0, b'D', 0, 0, 0, 0x7f, 0xff, 4, 0]),
                var("PK", &[9; 20]),
            ]),
        ]
    }
}

/// Secure Boot's parsers: EFI_SIGNATURE_LISTs (key files and variables),
/// PKCS#7 SignedData with its certificates, and the whole decision on a PE
/// image's security directory.
mod secure_boot {
    use super::*;
    use fw_core::secure_boot::{authenticode, keys, pkcs7, policy, signature_list};
    use r_efi::efi::Guid;

    const OWNER: Guid = Guid::from_fields(1, 2, 3, 4, 5, &[6; 6]);

    pub fn run_signature_list(input: &[u8]) -> String {
        let parsed = match signature_list::parse(input) {
            Ok(sigs) => format!("ok {}", sigs.len()),
            Err(e) => shape(&e.to_string()),
        };
        let converted = match keys::to_signature_lists("db", input) {
            Ok(lists) => {
                // Whatever was accepted must parse as signature lists.
                assert!(
                    signature_list::parse(&lists).is_ok(),
                    "accepted key file does not parse"
                );
                "ok".to_string()
            }
            Err(e) => shape(&e.to_string()),
        };
        format!("{parsed}|{converted}")
    }

    pub fn signature_list_seeds(_: &Path) -> Vec<Vec<u8>> {
        let mut two = signature_list::build(&signature_list::CERT_SHA256, &OWNER, &[7; 32]);
        two.extend(signature_list::build(
            &signature_list::CERT_X509,
            &OWNER,
            &[0x30, 0x03, 1, 2, 3],
        ));
        vec![
            two,
            signature_list::build(&signature_list::CERT_X509_SHA256, &OWNER, &[1; 48]),
            signature_list::build(&signature_list::CERT_SHA1, &OWNER, &[2; 20]),
        ]
    }

    pub fn run_pkcs7(input: &[u8]) -> String {
        let cert = match pkcs7::Certificate::parse(input) {
            Ok(c) => {
                let _ = c.is_signed_by(&c);
                "cert".to_string()
            }
            Err(e) => shape(&e.to_string()),
        };
        let signed = match pkcs7::verify_signed_data(input) {
            Ok(s) => format!("ok {} {}", s.certificates.len(), s.signers.len()),
            Err(e) => shape(&e.to_string()),
        };
        format!("{cert}|{signed}")
    }

    /// The signatures (and their certificates) of Debian's signed binaries in
    /// `HVFW_EFI_BINARIES`, when set; a tiny structure otherwise.
    pub fn pkcs7_seeds(_: &Path) -> Vec<Vec<u8>> {
        let mut seeds = vec![vec![
            0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
        ]];
        let Some(dir) = std::env::var_os("HVFW_EFI_BINARIES") else {
            return seeds;
        };
        for name in ["grubx64.efi.signed", "shimx64.efi.signed"] {
            let Ok(pe) = std::fs::read(Path::new(&dir).join(name)) else {
                continue;
            };
            let Ok(layout) = authenticode::layout(&pe) else {
                continue;
            };
            for blob in authenticode::signatures(&pe, &layout).unwrap_or_default() {
                if let Ok(s) = pkcs7::verify_signed_data(blob) {
                    seeds.extend(s.certificates.iter().map(|c| c.der.to_vec()));
                }
                seeds.push(blob.to_vec());
            }
        }
        seeds
    }

    pub fn run_image(input: &[u8]) -> String {
        let db_bytes = signature_list::build(&signature_list::CERT_SHA256, &OWNER, &[0; 32]);
        let db = signature_list::parse(&db_bytes).unwrap();
        match policy::check(input, &db, &[]) {
            Ok(a) => format!("{a:?}"),
            Err(e) => shape(&e.to_string()),
        }
    }

    /// The fuzzer's minimal PE with a certificate table holding a signature
    /// seed (or garbage).
    pub fn image_seeds(dir: &Path) -> Vec<Vec<u8>> {
        let mut seeds = vec![super::pe::minimal_pe()];
        for sig in pkcs7_seeds(dir).into_iter().take(3) {
            seeds.push(with_certificate(super::pe::minimal_pe(), &sig));
        }
        seeds
    }

    /// Appends a WIN_CERTIFICATE and points the security directory at it.
    fn with_certificate(mut pe: Vec<u8>, sig: &[u8]) -> Vec<u8> {
        let Ok(layout) = authenticode::layout(&pe) else {
            return pe;
        };
        let _ = layout;
        while !pe.len().is_multiple_of(8) {
            pe.push(0);
        }
        let at = pe.len();
        let len = 8 + sig.len();
        pe.extend_from_slice(&(len as u32).to_le_bytes());
        pe.extend_from_slice(&0x0200u16.to_le_bytes());
        pe.extend_from_slice(&0x0002u16.to_le_bytes());
        pe.extend_from_slice(sig);
        while !pe.len().is_multiple_of(8) {
            pe.push(0);
        }
        let nt = u32::from_le_bytes(pe[0x3c..0x40].try_into().unwrap()) as usize;
        let opt = nt + 24;
        let dirs = if u16::from_le_bytes([pe[opt], pe[opt + 1]]) == 0x20b {
            opt + 112
        } else {
            opt + 96
        };
        let entry = dirs + 32;
        let size = (pe.len() - at) as u32;
        pe[entry..entry + 4].copy_from_slice(&(at as u32).to_le_bytes());
        pe[entry + 4..entry + 8].copy_from_slice(&size.to_le_bytes());
        pe
    }
}

mod auth_write {
    //! An authenticated SetVariable's data (EFI_VARIABLE_AUTHENTICATION_2,
    //! the PKCS#7 SignedData, the signature lists) checked as a db append in
    //! user mode (keys from core/testdata/auth) and as a KEK write in setup
    //! mode.
    use fw_core::secure_boot::auth_write::{check, parse, Authorities, Current, KeyVariable, ATTRIBUTES};
    use r_efi::efi;
    use std::path::Path;

    fn fixture(name: &str) -> Vec<u8> {
        let path = crate::workspace_root().join("core/testdata/auth").join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    pub fn run(input: &[u8]) -> String {
        let (pk, kek) = (fixture("PK.esl"), fixture("KEK.esl"));
        let header = match parse(input) {
            Ok(d) => format!("descriptor payload {}", d.payload.len()),
            Err(e) => format!("{e:?}"),
        };
        let user = check(
            KeyVariable::Db,
            ATTRIBUTES | efi::VARIABLE_APPEND_WRITE,
            input,
            Current {
                value: Some(&kek),
                timestamp: None,
            },
            Authorities {
                pk: Some(&pk),
                kek: &kek,
            },
        );
        let setup = check(
            KeyVariable::Kek,
            ATTRIBUTES,
            input,
            Current::default(),
            Authorities::default(),
        );
        if let Ok(update) = &user {
            assert!(update.value.starts_with(&kek), "an append lost what db held");
        }
        format!("{header}; user {:?}; setup {:?}", user.map(|_| ()), setup.map(|_| ()))
    }

    pub fn seeds(_: &Path) -> Vec<Vec<u8>> {
        [
            "db-append.auth",
            "db-attrs.auth",
            "KEK.auth",
            "noPK.auth",
            "db-wrong-key.auth",
        ]
        .iter()
        .map(|f| fixture(f))
        .collect()
    }
}
