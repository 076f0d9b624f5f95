//! The protocols driven through their function pointers, as an application
//! would, on FAT images made at test time by mkfs.fat (dosfstools) and mtools,
//! and checked afterwards with mtools and fsck.fat.

use super::info::FileInfo;
use super::SimpleFileSystem;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::null_mut;
use fw_drivers::block::{BlockDevice, MemoryDisk};
use fw_drivers::fat::FileSystem;
use r_efi::efi::{Guid, Status};
use r_efi::protocols::file::{self, Protocol as File};

const READ: u64 = file::MODE_READ;
const READ_WRITE: u64 = file::MODE_READ | file::MODE_WRITE;
const CREATE: u64 = READ_WRITE | file::MODE_CREATE;

// ---- tools and scratch images: drivers/tests/support/fat_image.rs ----

#[path = "../../../drivers/tests/support/fat_image.rs"]
mod fat_image;
use fat_image::Image;

/// An image mounted behind a SimpleFileSystem instance.
struct Mounted {
    image: Image,
    disk: Arc<MemoryDisk>,
    sfs: &'static SimpleFileSystem,
}

impl Mounted {
    fn new(image: Image) -> Mounted {
        let disk = Arc::new(MemoryDisk::new(std::fs::read(&image.path).unwrap(), 512));
        Mounted::with_disk(image, disk)
    }

    fn read_only(image: Image) -> Mounted {
        let disk = Arc::new(MemoryDisk::new(std::fs::read(&image.path).unwrap(), 512).read_only());
        Mounted::with_disk(image, disk)
    }

    fn with_disk(image: Image, disk: Arc<MemoryDisk>) -> Mounted {
        let device: Arc<dyn BlockDevice> = disk.clone();
        let fs = FileSystem::mount(device).expect("mount the image");
        Mounted {
            image,
            disk,
            sfs: SimpleFileSystem::create(fs),
        }
    }

    /// Writes the disk back to the image file for mtools and fsck.fat.
    fn sync(&self) {
        std::fs::write(&self.image.path, self.disk.contents()).unwrap();
    }

    fn root(&self) -> *mut File {
        let sfs = self.sfs.protocol();
        let mut root = null_mut();
        // SAFETY: calling the protocol as an application would.
        let status = unsafe { ((*sfs).open_volume)(sfs, &mut root) };
        assert_eq!(status, Status::SUCCESS);
        assert!(!root.is_null());
        root
    }
}

// ---- calling the protocol ----

fn ucs2(s: &str) -> Vec<u16> {
    s.encode_utf16().chain([0]).collect()
}

fn open(dir: *mut File, name: &str, mode: u64, attributes: u64) -> Result<*mut File, Status> {
    let mut name = ucs2(name);
    let mut new = null_mut();
    // SAFETY: calling the protocol as an application would.
    let status = unsafe { ((*dir).open)(dir, &mut new, name.as_mut_ptr(), mode, attributes) };
    if status == Status::SUCCESS {
        assert!(!new.is_null());
        Ok(new)
    } else {
        Err(status)
    }
}

fn close(f: *mut File) {
    // SAFETY: calling the protocol as an application would.
    assert_eq!(unsafe { ((*f).close)(f) }, Status::SUCCESS);
}

/// Read with a buffer of `size` bytes: status and the bytes returned.
fn read(f: *mut File, size: usize) -> (Status, usize, Vec<u8>) {
    let mut buf = vec![0u8; size];
    let mut n = size;
    // SAFETY: calling the protocol as an application would.
    let status = unsafe { ((*f).read)(f, &mut n, buf.as_mut_ptr().cast()) };
    buf.truncate(n.min(size));
    (status, n, buf)
}

fn read_all(f: *mut File, chunk: usize) -> Vec<u8> {
    let mut all = Vec::new();
    loop {
        let (status, n, bytes) = read(f, chunk);
        assert_eq!(status, Status::SUCCESS);
        if n == 0 {
            return all;
        }
        all.extend_from_slice(&bytes);
    }
}

fn write(f: *mut File, data: &[u8]) -> Status {
    let mut n = data.len();
    // SAFETY: calling the protocol as an application would; Write does not
    // modify the buffer.
    let status = unsafe { ((*f).write)(f, &mut n, data.as_ptr() as *mut c_void) };
    if status == Status::SUCCESS {
        assert_eq!(n, data.len());
    }
    status
}

fn position(f: *mut File) -> Result<u64, Status> {
    let mut p = 0;
    // SAFETY: calling the protocol as an application would.
    match unsafe { ((*f).get_position)(f, &mut p) } {
        Status::SUCCESS => Ok(p),
        s => Err(s),
    }
}

fn set_position(f: *mut File, p: u64) -> Status {
    // SAFETY: calling the protocol as an application would.
    unsafe { ((*f).set_position)(f, p) }
}

/// GetInfo the way applications do: ask the size, then fetch.
fn get_info(f: *mut File, guid: Guid) -> Result<Vec<u8>, Status> {
    let mut guid = guid;
    let mut size = 0;
    // SAFETY: calling the protocol as an application would.
    let status = unsafe { ((*f).get_info)(f, &mut guid, &mut size, null_mut()) };
    if status != Status::BUFFER_TOO_SMALL {
        return Err(status);
    }
    let mut buf = vec![0u8; size];
    let mut short = size - 1;
    // SAFETY: as above, with one byte too few.
    let status = unsafe { ((*f).get_info)(f, &mut guid, &mut short, buf.as_mut_ptr().cast()) };
    assert_eq!((status, short), (Status::BUFFER_TOO_SMALL, size));
    // SAFETY: as above.
    let status = unsafe { ((*f).get_info)(f, &mut guid, &mut size, buf.as_mut_ptr().cast()) };
    assert_eq!(status, Status::SUCCESS);
    assert_eq!(size, buf.len());
    Ok(buf)
}

fn file_info(f: *mut File) -> FileInfo {
    FileInfo::decode(&get_info(f, file::INFO_ID).unwrap()).unwrap()
}

fn set_info(f: *mut File, guid: Guid, bytes: &[u8]) -> Status {
    let mut guid = guid;
    let mut bytes = bytes.to_vec();
    // SAFETY: calling the protocol as an application would.
    unsafe { ((*f).set_info)(f, &mut guid, bytes.len(), bytes.as_mut_ptr().cast()) }
}

/// Names of a directory's entries, read through Read with a big buffer.
fn list(dir: *mut File) -> Vec<String> {
    let mut names = Vec::new();
    loop {
        let (status, n, bytes) = read(dir, 4096);
        assert_eq!(status, Status::SUCCESS);
        if n == 0 {
            return names;
        }
        names.push(FileInfo::decode(&bytes).unwrap().file_name);
    }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// An ESP-like image: \EFI\debian\{grub.cfg,grubx64.efi}, \EFI\BOOT\BOOTX64.EFI.
fn esp(tag: &str) -> Image {
    let image = Image::mkfs(tag, 8192, &["-n", "ESPLABEL"]);
    image.mkdir("EFI");
    image.mkdir("EFI/debian");
    image.mkdir("EFI/BOOT");
    image.put(
        "EFI/debian/grub.cfg",
        b"search --fs-uuid\nconfigfile $prefix/grub.cfg\n",
    );
    image.put("EFI/debian/grubx64.efi", &pattern(70_000));
    image.put("EFI/BOOT/BOOTX64.EFI", &pattern(3000));
    image
}

// ---- tests ----

#[test]
fn file_system_opens_nested_files_with_both_path_styles() {
    let m = Mounted::new(esp("paths"));
    let root = m.root();
    let cfg = b"search --fs-uuid\nconfigfile $prefix/grub.cfg\n".to_vec();

    let f = open(root, "\\EFI\\debian\\grub.cfg", READ, 0).unwrap();
    assert_eq!(read_all(f, 4096), cfg);
    close(f);
    // Relative to the root, as shim and GRUB also do, and case-insensitively.
    let f = open(root, "EFI\\DEBIAN\\GrubX64.efi", READ, 0).unwrap();
    assert_eq!(read_all(f, 1 << 20), pattern(70_000));
    close(f);

    let debian = open(root, "EFI\\debian\\", READ, 0).unwrap();
    for path in [
        "grub.cfg",
        ".\\grub.cfg",
        "..\\debian\\grub.cfg",
        "\\EFI\\debian\\grub.cfg",
    ] {
        let f = open(debian, path, READ, 0).unwrap_or_else(|s| panic!("{path}: {s:?}"));
        assert_eq!(read_all(f, 100), cfg, "{path}");
        close(f);
    }
    // An empty (NUL-only) name opens the same file again.
    let again = open(debian, "", READ, 0).unwrap();
    assert_eq!(file_info(again).file_name, "debian");
    let boot = open(again, "..\\BOOT\\BOOTX64.EFI", READ, 0).unwrap();
    assert_eq!(read_all(boot, 512), pattern(3000));
    for f in [boot, again, debian, root] {
        close(f);
    }
}

#[test]
fn file_system_reads_in_pieces_and_seeks_to_end() {
    let m = Mounted::new(esp("pieces"));
    let root = m.root();
    let f = open(root, "\\EFI\\debian\\grubx64.efi", READ, 0).unwrap();
    let whole = pattern(70_000);
    let mut got = Vec::new();
    loop {
        let before = position(f).unwrap();
        assert_eq!(before, got.len() as u64);
        let (status, n, bytes) = read(f, 777);
        assert_eq!(status, Status::SUCCESS);
        if n == 0 {
            break;
        }
        got.extend_from_slice(&bytes);
    }
    assert_eq!(got, whole);

    assert_eq!(set_position(f, 1000), Status::SUCCESS);
    assert_eq!(read(f, 10).2, whole[1000..1010]);
    assert_eq!(set_position(f, u64::MAX), Status::SUCCESS);
    assert_eq!(position(f), Ok(70_000));
    assert_eq!(read(f, 10).1, 0, "at the end of file Read returns 0 bytes");
    assert_eq!(set_position(f, 70_001), Status::SUCCESS);
    assert_eq!(read(f, 10).0, Status::DEVICE_ERROR, "§13.5.7: beyond the end");
    // A zero-sized read with no buffer is fine.
    let mut n = 0;
    assert_eq!(set_position(f, 0), Status::SUCCESS);
    // SAFETY: calling the protocol as an application would.
    assert_eq!(unsafe { ((*f).read)(f, &mut n, null_mut()) }, Status::SUCCESS);
    close(f);
    close(root);
}

#[test]
fn file_system_lists_directories_through_read() {
    let image = esp("listing");
    image.put("EFI/debian/a long file name.txt", b"x");
    let m = Mounted::new(image);
    let root = m.root();
    assert_eq!(list(root), ["EFI"], "the root has no . and .. entries");

    let efi = open(root, "EFI", READ, 0).unwrap();
    assert_eq!(list(efi), [".", "..", "debian", "BOOT"]);
    assert_eq!(list(efi), Vec::<String>::new(), "the listing stays at its end");
    assert_eq!(set_position(efi, 0), Status::SUCCESS);
    assert_eq!(list(efi).len(), 4);

    let debian = open(efi, "debian", READ, 0).unwrap();
    let mut names = Vec::new();
    loop {
        let (status, needed, _) = read(debian, 10);
        if status == Status::SUCCESS {
            assert_eq!(needed, 0, "only the end fits in 10 bytes");
            break;
        }
        assert_eq!(status, Status::BUFFER_TOO_SMALL);
        assert!(needed > 80);
        // The listing did not move: the exact size now fits.
        let (status, n, bytes) = read(debian, needed);
        assert_eq!((status, n), (Status::SUCCESS, needed));
        let info = FileInfo::decode(&bytes).unwrap();
        assert_eq!(info.size(), needed);
        names.push(info.file_name);
    }
    assert_eq!(names, [".", "..", "grub.cfg", "grubx64.efi", "a long file name.txt"]);

    assert_eq!(set_position(debian, 5), Status::UNSUPPORTED);
    assert_eq!(position(debian), Err(Status::UNSUPPORTED));
    assert_eq!(write(debian, b"x"), Status::UNSUPPORTED);
    for f in [debian, efi, root] {
        close(f);
    }
}

#[test]
fn file_system_get_info_reports_file_and_volume() {
    let m = Mounted::new(esp("info"));
    let root = m.root();
    let f = open(root, "\\EFI\\debian\\grubx64.efi", READ, 0).unwrap();
    let info = file_info(f);
    assert_eq!(info.file_name, "grubx64.efi");
    assert_eq!(info.file_size, 70_000);
    assert!(info.physical_size >= 70_000 && info.physical_size.is_multiple_of(512));
    assert_eq!(info.attribute, file::ARCHIVE);
    assert!(info.modification_time.year >= 2020, "{:?}", info.modification_time);
    assert_eq!(info.modification_time.timezone, r_efi::system::UNSPECIFIED_TIMEZONE);

    let dir = file_info(root);
    assert_eq!(
        (dir.attribute, dir.file_size, dir.file_name.as_str()),
        (file::DIRECTORY, 0, "")
    );
    let efi = open(root, "EFI", READ, 0).unwrap();
    assert_eq!(file_info(efi).attribute & file::DIRECTORY, file::DIRECTORY);

    let fs = get_info(f, file::SYSTEM_INFO_ID).unwrap();
    assert_eq!(fs.len(), 36 + 9 * 2);
    assert_eq!(u64::from_le_bytes(fs[0..8].try_into().unwrap()), fs.len() as u64);
    assert_eq!(fs[8], 0, "ReadOnly");
    let volume_size = u64::from_le_bytes(fs[16..24].try_into().unwrap());
    let free = u64::from_le_bytes(fs[24..32].try_into().unwrap());
    let block = u32::from_le_bytes(fs[32..36].try_into().unwrap());
    assert!(volume_size > 7 << 20 && volume_size <= 8 << 20, "{volume_size}");
    assert!(free > 0 && free < volume_size - 70_000);
    assert!(block.is_power_of_two() && block >= 512);
    assert_eq!(super::name::from_ucs2_bytes(&fs[36..]).unwrap(), "ESPLABEL");
    let label = get_info(root, file::SYSTEM_VOLUME_LABEL_ID).unwrap();
    assert_eq!(super::name::from_ucs2_bytes(&label).unwrap(), "ESPLABEL");

    let unknown = Guid::from_fields(1, 2, 3, 4, 5, &[6; 6]);
    assert_eq!(get_info(f, unknown), Err(Status::UNSUPPORTED));
    // A buffer big enough but no pointer.
    let mut guid = file::INFO_ID;
    let mut size = 4096;
    // SAFETY: calling the protocol as an application would.
    let status = unsafe { ((*f).get_info)(f, &mut guid, &mut size, null_mut()) };
    assert_eq!(status, Status::INVALID_PARAMETER);
    for h in [efi, f, root] {
        close(h);
    }
}

#[test]
fn file_system_creates_and_writes_files_that_mtools_reads_back() {
    let image = Image::mkfs("create", 40_000, &["-F", "32", "-s", "1"]);
    image.mkdir("EFI");
    let m = Mounted::new(image);
    let root = m.root();

    let dir = open(root, "\\EFI\\systemd", CREATE, file::DIRECTORY).unwrap();
    assert_eq!(file_info(dir).attribute & file::DIRECTORY, file::DIRECTORY);
    let f = open(dir, "Loader Entry Number 1.conf", CREATE, 0).unwrap();
    let data = pattern(5000);
    assert_eq!(write(f, &data[..1234]), Status::SUCCESS);
    assert_eq!(write(f, &data[1234..]), Status::SUCCESS);
    assert_eq!(position(f), Ok(5000));
    // Writing past the end zero-fills the gap.
    assert_eq!(set_position(f, 6000), Status::SUCCESS);
    assert_eq!(write(f, b"end"), Status::SUCCESS);
    // SAFETY: calling the protocol as an application would.
    assert_eq!(unsafe { ((*f).flush)(f) }, Status::SUCCESS);
    close(f);
    // CREATE on an existing file opens it.
    let again = open(root, "EFI\\systemd\\loader entry number 1.conf", CREATE, 0).unwrap();
    assert_eq!(file_info(again).file_size, 6003);
    close(again);
    let hidden = open(dir, "hidden.txt", CREATE, file::HIDDEN).unwrap();
    assert_eq!(file_info(hidden).attribute, file::HIDDEN | file::ARCHIVE);
    close(hidden);
    close(dir);
    close(root);

    m.sync();
    let mut expected = data.clone();
    expected.resize(6000, 0);
    expected.extend_from_slice(b"end");
    assert_eq!(
        m.image.try_get("EFI/systemd/Loader Entry Number 1.conf").as_deref(),
        Some(&expected[..])
    );
    m.image.fsck();
}

#[test]
fn file_system_deletes_files_but_not_full_directories() {
    let m = Mounted::new(esp("delete"));
    let root = m.root();
    let f = open(root, "\\EFI\\BOOT\\BOOTX64.EFI", READ_WRITE, 0).unwrap();
    // SAFETY: calling the protocol as an application would.
    assert_eq!(unsafe { ((*f).delete)(f) }, Status::SUCCESS);
    assert_eq!(open(root, "\\EFI\\BOOT\\BOOTX64.EFI", READ, 0), Err(Status::NOT_FOUND));

    let debian = open(root, "\\EFI\\debian", READ_WRITE, 0).unwrap();
    // SAFETY: as above.
    assert_eq!(unsafe { ((*debian).delete)(debian) }, Status::WARN_DELETE_FAILURE);
    // SAFETY: the handle is gone either way: its pointer is no longer accepted.
    assert_eq!(unsafe { ((*root).close)(debian) }, Status::INVALID_PARAMETER);

    let cfg = open(root, "\\EFI\\debian\\grub.cfg", READ, 0).unwrap();
    // SAFETY: as above; a handle opened read-only cannot delete.
    assert_eq!(unsafe { ((*cfg).delete)(cfg) }, Status::WARN_DELETE_FAILURE);
    let boot = open(root, "\\EFI\\BOOT", READ_WRITE, 0).unwrap();
    // SAFETY: as above; the now empty directory goes.
    assert_eq!(unsafe { ((*boot).delete)(boot) }, Status::SUCCESS);
    close(root);

    m.sync();
    assert!(m.image.try_get("EFI/debian/grub.cfg").is_some());
    assert!(m.image.try_get("EFI/BOOT/BOOTX64.EFI").is_none());
    m.image.fsck();
}

#[test]
fn file_system_set_info_renames_resizes_and_sets_attributes() {
    let m = Mounted::new(esp("setinfo"));
    let root = m.root();
    let f = open(root, "\\EFI\\debian\\grubx64.efi", READ_WRITE, 0).unwrap();
    let mut info = file_info(f);
    info.file_name = "shimx64.efi".into();
    info.file_size = 4000;
    assert_eq!(set_info(f, file::INFO_ID, &info.encode()), Status::SUCCESS);
    assert_eq!(file_info(f).file_name, "shimx64.efi");
    assert_eq!(file_info(f).file_size, 4000);
    info.file_size = 5000;
    assert_eq!(set_info(f, file::INFO_ID, &info.encode()), Status::SUCCESS);

    let mut to_existing = info.clone();
    to_existing.file_name = "GRUB.CFG".into();
    assert_eq!(set_info(f, file::INFO_ID, &to_existing.encode()), Status::ACCESS_DENIED);
    let mut to_dir = info.clone();
    to_dir.attribute |= file::DIRECTORY;
    assert_eq!(set_info(f, file::INFO_ID, &to_dir.encode()), Status::ACCESS_DENIED);
    let mut bad_time = info.clone();
    bad_time.modification_time.month = 13;
    assert_eq!(
        set_info(f, file::INFO_ID, &bad_time.encode()),
        Status::INVALID_PARAMETER
    );
    assert_eq!(
        set_info(f, file::INFO_ID, &info.encode()[..60]),
        Status::BAD_BUFFER_SIZE
    );
    close(f);

    // Opened read-only: only the attributes may change.
    let cfg = open(root, "\\EFI\\debian\\grub.cfg", READ, 0).unwrap();
    let mut info = file_info(cfg);
    info.file_name = "other.cfg".into();
    assert_eq!(set_info(cfg, file::INFO_ID, &info.encode()), Status::ACCESS_DENIED);
    info.file_name = "grub.cfg".into();
    info.attribute |= file::READ_ONLY;
    assert_eq!(set_info(cfg, file::INFO_ID, &info.encode()), Status::SUCCESS);
    assert_eq!(
        open(root, "\\EFI\\debian\\grub.cfg", READ_WRITE, 0),
        Err(Status::ACCESS_DENIED)
    );
    close(cfg);

    // The label cannot change, but setting the same one succeeds.
    let label = get_info(root, file::SYSTEM_VOLUME_LABEL_ID).unwrap();
    assert_eq!(set_info(root, file::SYSTEM_VOLUME_LABEL_ID, &label), Status::SUCCESS);
    let other = super::info::encode_volume_label("OTHER");
    assert_eq!(
        set_info(root, file::SYSTEM_VOLUME_LABEL_ID, &other),
        Status::UNSUPPORTED
    );
    close(root);

    m.sync();
    let mut expected = pattern(4000);
    expected.resize(5000, 0);
    assert_eq!(m.image.try_get("EFI/debian/shimx64.efi"), Some(expected));
    assert!(m.image.try_get("EFI/debian/grubx64.efi").is_none());
    m.image.fsck();
}

#[test]
fn file_system_errors_follow_the_spec_statuses() {
    let m = Mounted::new(esp("errors"));
    let root = m.root();
    assert_eq!(open(root, "\\EFI\\missing.efi", READ, 0), Err(Status::NOT_FOUND));
    assert_eq!(open(root, "\\EFI\\nodir\\new.txt", CREATE, 0), Err(Status::NOT_FOUND));
    assert_eq!(
        open(root, "\\EFI\\debian", file::MODE_WRITE, 0),
        Err(Status::INVALID_PARAMETER)
    );
    assert_eq!(
        open(root, "\\EFI\\debian", file::MODE_READ | file::MODE_CREATE, 0),
        Err(Status::INVALID_PARAMETER)
    );
    assert_eq!(open(root, "\\EFI\\new", CREATE, 0x100), Err(Status::INVALID_PARAMETER));
    assert_eq!(open(root, "\\EFI\\bad*name", CREATE, 0), Err(Status::INVALID_PARAMETER));
    assert_eq!(open(root, &"x".repeat(300), CREATE, 0), Err(Status::INVALID_PARAMETER));

    let f = open(root, "\\EFI\\debian\\grub.cfg", READ, 0).unwrap();
    assert_eq!(write(f, b"x"), Status::ACCESS_DENIED);
    // SAFETY: calling the protocol as an application would.
    assert_eq!(unsafe { ((*f).flush)(f) }, Status::ACCESS_DENIED);
    // A file handle is no directory to open relative to.
    assert_eq!(open(f, "grub.cfg", READ, 0), Err(Status::NOT_FOUND));

    let mut unpaired = vec![0x61u16, 0xD800, 0];
    let mut new = null_mut();
    let mut n = 4usize;
    let mut buf = [0u8; 4];
    let mut guid = file::INFO_ID;
    let mut foreign = unsafe_copy(f);
    let foreign_ptr: *mut File = &mut foreign;
    // SAFETY: calling the protocol as an application would; the thunks must
    // reject the bad arguments without dereferencing them.
    unsafe {
        let p = &*f;
        assert_eq!(
            (p.open)(root, &mut new, unpaired.as_mut_ptr(), READ, 0),
            Status::INVALID_PARAMETER
        );
        assert_eq!((p.open)(root, &mut new, null_mut(), READ, 0), Status::INVALID_PARAMETER);
        let mut name = ucs2("EFI");
        assert_eq!(
            (p.open)(root, null_mut(), name.as_mut_ptr(), READ, 0),
            Status::INVALID_PARAMETER
        );
        assert_eq!(
            (p.open)(null_mut(), &mut new, name.as_mut_ptr(), READ, 0),
            Status::INVALID_PARAMETER
        );
        assert_eq!(
            (p.read)(f, null_mut(), buf.as_mut_ptr().cast()),
            Status::INVALID_PARAMETER
        );
        assert_eq!((p.read)(f, &mut n, null_mut()), Status::INVALID_PARAMETER);
        assert_eq!(
            (p.read)(foreign_ptr, &mut n, buf.as_mut_ptr().cast()),
            Status::INVALID_PARAMETER
        );
        assert_eq!((p.get_position)(f, null_mut()), Status::INVALID_PARAMETER);
        assert_eq!(
            (p.get_info)(f, null_mut(), &mut n, buf.as_mut_ptr().cast()),
            Status::INVALID_PARAMETER
        );
        assert_eq!((p.set_info)(f, &mut guid, 0, null_mut()), Status::INVALID_PARAMETER);
        assert_eq!((p.close)(foreign_ptr), Status::INVALID_PARAMETER);
        // The volume protocol is not a file, and vice versa.
        assert_eq!((p.flush)(m.sfs.protocol().cast()), Status::INVALID_PARAMETER);
        let sfs = m.sfs.protocol();
        let mut root2 = null_mut();
        assert_eq!(((*sfs).open_volume)(f.cast(), &mut root2), Status::INVALID_PARAMETER);
        assert_eq!(((*sfs).open_volume)(sfs, null_mut()), Status::INVALID_PARAMETER);
        assert_eq!((p.read_ex)(f, null_mut()), Status::UNSUPPORTED);
        assert_eq!(p.revision, file::REVISION);
    }
    close(f);
    // SAFETY: `root` is open; a closed handle `f` is no longer accepted.
    let status = unsafe { ((*root).read)(f, &mut n, buf.as_mut_ptr().cast()) };
    assert_eq!(status, Status::INVALID_PARAMETER);
    close(root);
}

/// A copy of a file protocol struct at another address.
fn unsafe_copy(f: *mut File) -> File {
    // SAFETY: `f` is a live protocol struct; its fields are plain values.
    unsafe { core::ptr::read(f) }
}

#[test]
fn file_system_on_a_read_only_device_is_write_protected() {
    let m = Mounted::read_only(esp("readonly"));
    let root = m.root();
    assert_eq!(
        open(root, "\\EFI\\debian\\grub.cfg", READ_WRITE, 0),
        Err(Status::WRITE_PROTECTED)
    );
    assert_eq!(open(root, "\\EFI\\new.txt", CREATE, 0), Err(Status::WRITE_PROTECTED));
    let f = open(root, "\\EFI\\debian\\grub.cfg", READ, 0).unwrap();
    assert!(!read_all(f, 64).is_empty());
    close(f);
    let fs = get_info(root, file::SYSTEM_INFO_ID).unwrap();
    assert_eq!(fs[8], 1, "ReadOnly");
    let efi = open(root, "EFI", READ, 0).unwrap();
    let mut info = file_info(efi);
    info.attribute |= file::HIDDEN;
    assert_eq!(set_info(efi, file::INFO_ID, &info.encode()), Status::WRITE_PROTECTED);
    close(efi);
    let mut guid = file::SYSTEM_VOLUME_LABEL_ID;
    let mut label = super::info::encode_volume_label("ESPLABEL");
    // SAFETY: calling the protocol as an application would.
    let status = unsafe { ((*root).set_info)(root, &mut guid, label.len(), label.as_mut_ptr().cast()) };
    assert_eq!(status, Status::WRITE_PROTECTED);
    close(root);
}
