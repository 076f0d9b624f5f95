//! The FAT driver against images made at test time by mkfs.fat (dosfstools) and
//! mtools, and checked afterwards by fsck.fat and mtools.

#[path = "support/fat_image.rs"]
mod fat_image;

// Inside a module named `fat` so that `cargo test fat` selects every test here.
mod fat {

    use fw_drivers::block::{BlockDevice, MemoryDisk};
    use fw_drivers::fat::{Error, FatType, File, FileSystem};
    use std::collections::BTreeMap;
    use std::path::PathBuf;
    use std::sync::Arc;

    // ---- tools and scratch images: tests/support/fat_image.rs ----

    use super::fat_image::Image;

    fn mount(disk: &Arc<MemoryDisk>) -> FileSystem {
        let dev: Arc<dyn BlockDevice> = disk.clone();
        FileSystem::mount(dev).expect("mount")
    }

    /// Deterministic test data (xorshift), different for each seed.
    fn pattern(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn read_all(fs: &FileSystem, file: &mut File) -> Vec<u8> {
        let mut buf = vec![0u8; file.size() as usize];
        let n = fs.read(file, 0, &mut buf).expect("read");
        assert_eq!(n, buf.len());
        buf
    }

    fn read_path(fs: &FileSystem, path: &str) -> Vec<u8> {
        let mut f = fs
            .open(&fs.root(), path)
            .unwrap_or_else(|e| panic!("open {path:?}: {e}"));
        read_all(fs, &mut f)
    }

    fn list(fs: &FileSystem, dir: &File) -> Vec<File> {
        let mut pos = 0;
        let mut out = Vec::new();
        while let Some(f) = fs.read_dir(dir, &mut pos).expect("read_dir") {
            out.push(f);
        }
        out
    }

    // ---- the tree mtools writes ----

    /// Files (path with `/`, contents) and empty directories of the standard tree.
    struct Tree {
        files: BTreeMap<String, Vec<u8>>,
        dirs: Vec<String>,
    }

    fn long_255() -> String {
        let mut s = String::from("a-name-of-exactly-255-characters");
        while s.len() < 251 {
            s.push((b'a' + (s.len() % 26) as u8) as char);
        }
        s.push_str(".txt");
        assert_eq!(s.len(), 255);
        s
    }

    fn standard_tree(big_dir: bool) -> Tree {
        let mut files = BTreeMap::new();
        let mut seed = 1;
        let mut add = |path: String, len: usize| {
            seed += 1;
            files.insert(path, pattern(len, seed));
        };
        let mut deep = String::from("deep");
        for level in 1..=12 {
            deep.push_str(&format!("/level {level}"));
        }
        add(format!("{deep}/leaf.txt"), 777);
        add("deep/top.bin".into(), 3000);
        for name in [
            "exactly13.txt",
            "thirteen-char",
            "Ünïcödé ñame – 日本語.txt",
            "name with  spaces .txt",
            "multiple.dots.in.name.tar.gz",
            ".hidden",
            "lower.txt",
            "UPPER.TXT",
            "MiXeD.TxT",
            "lowbase.TXT",
            "x",
        ] {
            add(format!("names/{name}"), 100 + name.len());
        }
        add(format!("names/{}", long_255()), 255);
        add("case1/CaseName.txt".into(), 10);
        add("case2/casename.TXT".into(), 20);
        add("empty.txt".into(), 0);
        add("names/empty file".into(), 0);
        for n in [9u32, 12, 15, 16, 17] {
            for delta in [-1i64, 0, 1] {
                let len = ((1i64 << n) + delta) as usize;
                add(format!("sizes/size-{len}.bin"), len);
            }
        }
        if big_dir {
            for i in 0..1000 {
                let len = if i % 100 == 7 { 1000 + i } else { 0 };
                add(format!("many/entry number {i:04}.dat"), len);
            }
        }
        Tree {
            files,
            dirs: vec!["empty dir".into(), "deep/empty".into()],
        }
    }

    /// Writes the tree to local files and copies it onto the image with mcopy -s.
    fn populate(img: &Image, tree: &Tree) {
        let root = img.local("tree");
        for (path, data) in &tree.files {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, data).unwrap();
        }
        for d in &tree.dirs {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let tops: Vec<PathBuf> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
        img.mcopy_in(&tops, "/");
        std::fs::remove_dir_all(root).unwrap();
    }

    /// Reads every file of `tree` back through the driver and compares bytes and
    /// listings.
    fn verify(fs: &FileSystem, tree: &Tree) {
        for (path, data) in &tree.files {
            let got = read_path(fs, path);
            assert!(
                got == *data,
                "{path}: {} bytes read differ from the {} written",
                got.len(),
                data.len()
            );
            // Backslashes work as separators too.
            let f = fs.open(&fs.root(), &format!("\\{}", path.replace('/', "\\"))).unwrap();
            assert_eq!(f.size(), data.len() as u64);
        }
        for d in &tree.dirs {
            let dir = fs.open(&fs.root(), d).unwrap();
            assert!(dir.is_directory());
            let names: Vec<String> = list(fs, &dir).iter().map(|f| f.name().to_string()).collect();
            assert_eq!(names, [".", ".."], "{d} should be empty");
        }
        // Each directory lists exactly the names put there, with their case.
        let mut by_dir: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for path in tree.files.keys() {
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
            by_dir.entry(dir.to_string()).or_default().push(name.to_string());
        }
        for (dir, mut expected) in by_dir {
            let handle = fs.open(&fs.root(), &dir).unwrap();
            let mut names: Vec<String> = list(fs, &handle)
                .iter()
                .filter(|f| !f.is_directory())
                .map(|f| f.name().to_string())
                .collect();
            names.sort();
            expected.sort();
            assert_eq!(names, expected, "listing of {dir:?}");
        }
    }

    // ---- reading what mkfs.fat and mtools wrote ----

    struct Format {
        tag: &'static str,
        kib: u64,
        args: &'static [&'static str],
        fat_type: FatType,
        big_dir: bool,
    }

    const FORMATS: &[Format] = &[
        Format {
            tag: "fat12-s1",
            kib: 4096,
            args: &["-F", "12", "-s", "2"],
            fat_type: FatType::Fat12,
            big_dir: true,
        },
        Format {
            tag: "fat12-s64",
            kib: 32768,
            args: &["-F", "12", "-s", "64"],
            fat_type: FatType::Fat12,
            big_dir: false,
        },
        Format {
            tag: "fat16-s1",
            kib: 8192,
            args: &["-F", "16", "-s", "1"],
            fat_type: FatType::Fat16,
            big_dir: true,
        },
        Format {
            tag: "fat16-s8",
            kib: 40960,
            args: &["-F", "16", "-s", "8"],
            fat_type: FatType::Fat16,
            big_dir: false,
        },
        Format {
            tag: "fat32-s1",
            kib: 40960,
            args: &["-F", "32", "-s", "1"],
            fat_type: FatType::Fat32,
            big_dir: true,
        },
        Format {
            tag: "fat12-4k",
            kib: 8192,
            args: &["-F", "12", "-S", "4096", "-s", "1"],
            fat_type: FatType::Fat12,
            big_dir: false,
        },
        Format {
            tag: "fat16-4k",
            kib: 32768,
            args: &["-F", "16", "-S", "4096", "-s", "1"],
            fat_type: FatType::Fat16,
            big_dir: false,
        },
    ];

    fn reads_back_tree(format: &Format) {
        let img = Image::mkfs(format.tag, format.kib, format.args);
        let tree = standard_tree(format.big_dir);
        populate(&img, &tree);
        for block_size in [512, 4096] {
            let disk = img.disk(block_size);
            let fs = mount(&disk);
            assert_eq!(fs.fat_type(), format.fat_type, "{}", format.tag);
            verify(&fs, &tree);
        }
    }

    #[test]
    fn reads_fat12_written_by_mtools() {
        reads_back_tree(&FORMATS[0]);
        reads_back_tree(&FORMATS[1]);
    }

    #[test]
    fn reads_fat16_written_by_mtools() {
        reads_back_tree(&FORMATS[2]);
        reads_back_tree(&FORMATS[3]);
    }

    #[test]
    fn reads_fat32_written_by_mtools() {
        reads_back_tree(&FORMATS[4]);
    }

    #[test]
    fn reads_volumes_with_4096_byte_sectors() {
        reads_back_tree(&FORMATS[5]);
        reads_back_tree(&FORMATS[6]);
    }

    #[test]
    fn reads_fat32_with_4096_byte_sectors() {
        // 65525 clusters of 4 KiB make the smallest such FAT32 volume.
        let img = Image::mkfs("fat32-4k", 280 * 1024, &["-F", "32", "-S", "4096", "-s", "1"]);
        let tree = standard_tree(false);
        populate(&img, &tree);
        let disk = img.disk(4096);
        let fs = mount(&disk);
        assert_eq!(fs.fat_type(), FatType::Fat32);
        verify(&fs, &tree);
    }

    #[test]
    fn fat_type_follows_cluster_count_not_mkfs_label() {
        // mkfs.fat writes "FAT16" in BS_FilSysType here, but 2000 clusters are FAT12.
        let img = Image::mkfs("fat-type", 1024, &["-F", "12", "-s", "1"]);
        let mut bytes = std::fs::read(&img.path).unwrap();
        bytes[54..62].copy_from_slice(b"FAT16   ");
        let fs = FileSystem::mount(Arc::new(MemoryDisk::new(bytes, 512))).unwrap();
        assert_eq!(fs.fat_type(), FatType::Fat12);
    }

    #[test]
    fn names_match_case_insensitively_and_keep_their_case() {
        let img = Image::mkfs("case", 4096, &["-s", "1"]);
        populate(&img, &standard_tree(false));
        let disk = img.disk(512);
        let fs = mount(&disk);
        let a = fs.open(&fs.root(), "CASE1/casename.TXT").unwrap();
        let b = fs.open(&fs.root(), "case2/CASENAME.txt").unwrap();
        assert_eq!((a.name(), b.name()), ("CaseName.txt", "casename.TXT"));
        // mtools stores lowercase 8.3 names with the NT case bits and no long name.
        let lower = fs.open(&fs.root(), "NAMES/LOWER.TXT").unwrap();
        assert_eq!(lower.name(), "lower.txt");
        let mixed = fs.open(&fs.root(), "names/lowbase.txt").unwrap();
        assert_eq!(mixed.name(), "lowbase.TXT");
        // Unicode case folding for long names.
        assert!(fs.open(&fs.root(), "names/üNÏCÖDÉ ÑAME – 日本語.TXT").is_ok());
        // . and .. in paths.
        let leaf = fs
            .open(&fs.root(), "deep/level 1/./level 2/../level 2/../../top.bin")
            .unwrap();
        assert_eq!(leaf.size(), 3000);
        let deep = fs.open(&fs.root(), "deep/level 1/level 2").unwrap();
        let top = fs.open(&deep, "..\\..\\top.bin").unwrap();
        assert_eq!(top.size(), 3000);
        let root = fs.open(&deep, "../../..").unwrap();
        assert!(root.is_root());
        assert!(matches!(fs.open(&fs.root(), "names/nope"), Err(Error::NotFound { .. })));
        assert!(matches!(
            fs.open(&fs.root(), "empty.txt/x"),
            Err(Error::NotADirectory { .. })
        ));
        let mut dir = fs.open(&fs.root(), "names").unwrap();
        assert!(matches!(
            fs.read(&mut dir, 0, &mut [0; 4]),
            Err(Error::IsADirectory { .. })
        ));
    }

    #[test]
    fn reads_fragmented_file() {
        let img = Image::mkfs("frag", 4096, &["-F", "16", "-s", "1"]);
        for i in 0..20 {
            img.put(&format!("/f{i}.bin"), &pattern(1500, i));
        }
        for i in (0..20).step_by(2) {
            img.del(&format!("/f{i}.bin"));
        }
        let big = pattern(200_000, 99);
        img.put("/big.bin", &big);
        let disk = img.disk(512);
        let fs = mount(&disk);
        let mut f = fs.open(&fs.root(), "big.bin").unwrap();
        let before = disk.read_requests();
        assert_eq!(read_all(&fs, &mut f), big);
        // The first ten runs are three clusters each: one request per run at least.
        assert!(disk.read_requests() - before > 10);
        // Reads at odd offsets across run boundaries.
        for (off, len) in [(1, 1), (1499, 3), (1535, 1537), (4095, 10000), (199_990, 100)] {
            let mut buf = vec![0u8; len];
            let n = fs.read(&mut f, off as u64, &mut buf).unwrap();
            let want = &big[off..(off + len).min(big.len())];
            assert_eq!(&buf[..n], want, "read at {off}");
        }
        for i in (1..20).step_by(2) {
            assert_eq!(read_path(&fs, &format!("f{i}.bin")), pattern(1500, i));
        }
    }

    #[test]
    fn contiguous_file_reads_in_one_request() {
        for (args, block_size) in [
            (&["-F", "32", "-s", "1"][..], 512),
            (&["-F", "16", "-S", "4096", "-s", "2"][..], 4096),
        ] {
            let img = Image::mkfs("coalesce", 40960, args);
            let aligned = pattern(1 << 20, 1);
            let odd = pattern(100_001, 2);
            img.put("/aligned.bin", &aligned);
            img.put("/odd.bin", &odd);
            let disk = img.disk(block_size);
            let fs = mount(&disk);
            for (name, data) in [("aligned.bin", &aligned), ("odd.bin", &odd)] {
                let mut f = fs.open(&fs.root(), name).unwrap();
                let before = disk.read_requests();
                assert_eq!(&read_all(&fs, &mut f), data);
                assert_eq!(disk.read_requests() - before, 1, "{name} should be one request");
            }
            // A block-aligned range in the middle: one request, straight into the buffer.
            let mut f = fs.open(&fs.root(), "aligned.bin").unwrap();
            let mut buf = vec![0u8; 512 * 1024];
            let before = disk.read_requests();
            fs.read(&mut f, 4096 * 8, &mut buf).unwrap();
            assert_eq!(disk.read_requests() - before, 1);
            assert_eq!(buf, aligned[4096 * 8..4096 * 8 + 512 * 1024]);
        }
    }

    #[test]
    fn directories_read_once_are_served_again_without_device_requests() {
        let img = Image::mkfs("dircache", 40960, &["-F", "32", "-s", "1"]);
        img.mkdir("/loader");
        img.mkdir("/loader/entries");
        img.put("/loader/entries/a.conf", b"title A\n");
        let disk = img.disk(512);
        let fs = mount(&disk);
        assert_eq!(read_path(&fs, "loader/entries/a.conf"), b"title A\n");
        let before = disk.read_requests();
        let again = fs.open(&fs.root(), "loader/entries/a.conf").unwrap();
        assert_eq!(
            disk.read_requests(),
            before,
            "the path's directories come from the cache"
        );
        assert_eq!(again.size(), 8);
    }

    #[test]
    fn cached_directories_follow_changes_to_the_volume() {
        let img = Image::mkfs("dircache-write", 40960, &["-F", "32", "-s", "1"]);
        img.mkdir("/loader");
        img.put("/loader/old.conf", b"x");
        let disk = img.disk(512);
        let fs = mount(&disk);
        let dir = fs.open(&fs.root(), "loader").unwrap();
        let names = |fs: &FileSystem| -> Vec<String> { list(fs, &dir).iter().map(|f| f.name().to_string()).collect() };
        assert!(names(&fs).contains(&"old.conf".to_string()));
        let mut old = fs.open(&dir, "old.conf").unwrap();
        fs.rename(&mut old, "new+2.conf").unwrap();
        fs.create_file(&dir, "other.conf").unwrap();
        let after = names(&fs);
        assert!(after.contains(&"new+2.conf".to_string()), "{after:?}");
        assert!(after.contains(&"other.conf".to_string()), "{after:?}");
        assert!(!after.contains(&"old.conf".to_string()), "{after:?}");
        assert!(fs.open(&dir, "old.conf").is_err());
        img.save(&disk);
        img.fsck();
    }

    #[test]
    fn volume_info_reports_label_and_space() {
        let img = Image::mkfs("info", 40960, &["-F", "32", "-s", "1", "-n", "MYVOLUME"]);
        img.put("/a.bin", &pattern(10_000, 1));
        let disk = img.disk(512);
        let fs = mount(&disk);
        let info = fs.volume_info().unwrap();
        assert_eq!(info.label, "MYVOLUME");
        assert_eq!(info.bytes_per_cluster, 512);
        let mdir = img.mdir("/");
        let free: u64 = mdir
            .lines()
            .find(|l| l.contains("bytes free"))
            .and_then(|l| l.split("bytes free").next())
            .map(|n| n.replace([',', ' ', '\u{a0}'], "").parse().unwrap())
            .expect("mdir prints free bytes");
        assert_eq!(info.free_bytes, free);
        assert!(info.total_bytes > info.free_bytes);
    }

    // ---- writing, checked by fsck.fat and mtools ----

    fn write_scenario(tag: &str, kib: u64, args: &[&str], block_size: u32) {
        let img = Image::mkfs(tag, kib, args);
        img.mkdir("/existing");
        img.put("/existing/old.txt", b"old contents");
        img.put("/remove-me.bin", &pattern(5000, 3));
        let disk = img.disk(block_size);
        let fs = mount(&disk);
        let root = fs.root();

        // Create and write a short-named file, then append.
        let mut f = fs.create_file(&root, "NEW.TXT").unwrap();
        fs.write(&mut f, 0, b"hello ").unwrap();
        fs.write(&mut f, 6, b"world").unwrap();
        // A long name in a new directory, a large multi-cluster file.
        let dir = fs.create_dir(&root, "A Long Directory Name").unwrap();
        let big = pattern(300_000, 7);
        let mut g = fs.create_file(&dir, "big file with a long name.data").unwrap();
        let mut at = 0;
        for chunk in big.chunks(70_001) {
            at += fs.write(&mut g, at as u64, chunk).unwrap();
        }
        // Lowercase 8.3 names use the NT case bits.
        let mut l = fs.create_file(&dir, "lower.txt").unwrap();
        fs.write(&mut l, 0, b"lower").unwrap();
        // Truncate, extend with zeros, write past the end.
        let mut t = fs.create_file(&root, "truncated.bin").unwrap();
        fs.write(&mut t, 0, &pattern(20_000, 8)).unwrap();
        fs.set_size(&mut t, 1234).unwrap();
        let mut z = fs.create_file(&root, "sparse.bin").unwrap();
        fs.write(&mut z, 10_000, b"tail").unwrap();
        let mut e = fs.create_file(&root, "grown.bin").unwrap();
        fs.set_size(&mut e, 3000).unwrap();
        // Append to a file mtools wrote.
        let mut old = fs.open(&root, "existing/old.txt").unwrap();
        let end = old.size();
        fs.write(&mut old, end, b" and more").unwrap();
        // Delete a file and an empty directory; a non-empty one refuses.
        let victim = fs.open(&root, "REMOVE-ME.BIN").unwrap();
        fs.delete(victim).unwrap();
        let empty = fs.create_dir(&root, "gone").unwrap();
        fs.delete(empty).unwrap();
        let full = fs.open(&root, "existing").unwrap();
        assert!(matches!(fs.delete(full), Err(Error::DirectoryNotEmpty { .. })));
        assert!(matches!(
            fs.create_file(&root, "new.txt"),
            Err(Error::AlreadyExists { .. })
        ));
        assert!(matches!(
            fs.create_file(&root, "bad*name"),
            Err(Error::InvalidName { .. })
        ));
        // Many long names: the directory grows by clusters; similar names get
        // distinct ~N short names.
        let many = fs.create_dir(&root, "many").unwrap();
        for i in 0..150 {
            let mut h = fs.create_file(&many, &format!("Similar Long Name {i}.txt")).unwrap();
            fs.write(&mut h, 0, format!("file {i}").as_bytes()).unwrap();
        }
        let mut r = fs.create_file(&root, "rename me.txt").unwrap();
        fs.write(&mut r, 0, b"renamed").unwrap();
        fs.rename(&mut r, "Renamed File.txt").unwrap();
        fs.flush().unwrap();
        drop(fs);
        img.save(&disk);

        img.fsck();
        assert_eq!(img.get("/NEW.TXT"), b"hello world");
        assert_eq!(img.get("/A Long Directory Name/big file with a long name.data"), big);
        assert_eq!(img.get("/A Long Directory Name/lower.txt"), b"lower");
        assert_eq!(img.get("/truncated.bin"), pattern(20_000, 8)[..1234]);
        let mut sparse = vec![0u8; 10_000];
        sparse.extend_from_slice(b"tail");
        assert_eq!(img.get("/sparse.bin"), sparse);
        assert_eq!(img.get("/grown.bin"), vec![0u8; 3000]);
        assert_eq!(img.get("/existing/old.txt"), b"old contents and more");
        assert_eq!(img.get("/many/Similar Long Name 149.txt"), b"file 149");
        assert_eq!(img.get("/Renamed File.txt"), b"renamed");
        let listing = img.mdir("/");
        assert!(
            !listing.contains("remove-me") && !listing.contains("REMOVE-ME"),
            "{listing}"
        );
        assert!(!listing.contains("gone"), "{listing}");
        assert!(!listing.contains("rename me"), "{listing}");
        let sub = img.mdir("/A Long Directory Name");
        assert!(sub.contains("lower    txt") || sub.contains("lower.txt"), "{sub}");

        // And the driver reads its own writes after a fresh mount.
        let disk = img.disk(block_size);
        let fs = mount(&disk);
        assert_eq!(
            read_path(&fs, "a long directory name/BIG FILE WITH A LONG NAME.DATA"),
            big
        );
        assert_eq!(read_path(&fs, "A Long Directory Name/LOWER.TXT"), b"lower");
        assert_eq!(
            fs.open(&fs.root(), "a long directory name/lower.txt").unwrap().name(),
            "lower.txt"
        );
        let names = list(&fs, &fs.open(&fs.root(), "many").unwrap());
        assert_eq!(names.len(), 152);
    }

    #[test]
    fn writes_fat12_cleanly() {
        write_scenario("w12", 4096, &["-F", "12", "-s", "2"], 512);
        write_scenario("w12-4k", 8192, &["-F", "12", "-S", "4096", "-s", "1"], 4096);
    }

    #[test]
    fn writes_fat16_cleanly() {
        write_scenario("w16", 8192, &["-F", "16", "-s", "1"], 512);
        write_scenario("w16-s16", 65536, &["-F", "16", "-s", "16"], 4096);
    }

    #[test]
    fn writes_fat32_cleanly() {
        write_scenario("w32", 40960, &["-F", "32", "-s", "1"], 512);
    }

    #[test]
    fn fills_the_disk_then_reports_disk_full() {
        let img = Image::mkfs("full", 1024, &["-F", "12", "-s", "1"]);
        let disk = img.disk(512);
        let fs = mount(&disk);
        let mut f = fs.create_file(&fs.root(), "fill.bin").unwrap();
        let chunk = pattern(64 * 1024, 5);
        let mut at = 0u64;
        let err = loop {
            match fs.write(&mut f, at, &chunk) {
                Ok(n) => at += n as u64,
                Err(e) => break e,
            }
        };
        assert_eq!(err, Error::DiskFull);
        // Whole clusters still fit.
        let free = fs.volume_info().unwrap().free_bytes;
        fs.write(&mut f, at, &chunk[..free as usize]).unwrap();
        assert_eq!(fs.volume_info().unwrap().free_bytes, 0);
        assert_eq!(fs.create_dir(&fs.root(), "d").unwrap_err(), Error::DiskFull);
        fs.flush().unwrap();
        img.save(&disk);
        img.fsck();
        assert_eq!(img.get("/fill.bin").len() as u64, at + free);
    }

    #[test]
    fn fixed_root_directory_fills_up() {
        let img = Image::mkfs("rootfull", 1024, &["-F", "12", "-s", "1", "-r", "16"]);
        let disk = img.disk(512);
        let fs = mount(&disk);
        let mut made = 0;
        let err = loop {
            match fs.create_file(&fs.root(), &format!("F{made}")) {
                Ok(_) => made += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(err, Error::RootDirectoryFull);
        assert_eq!(made, 16);
        img.save(&disk);
        img.fsck();
    }

    #[test]
    fn read_only_device_refuses_writes() {
        let img = Image::mkfs("ro", 1024, &["-s", "1"]);
        img.put("/a.txt", b"abc");
        let disk: Arc<dyn BlockDevice> = Arc::new(MemoryDisk::new(std::fs::read(&img.path).unwrap(), 512).read_only());
        let fs = FileSystem::mount(disk).unwrap();
        let mut f = fs.open(&fs.root(), "a.txt").unwrap();
        assert_eq!(read_all(&fs, &mut f), b"abc");
        assert_eq!(fs.write(&mut f, 0, b"x"), Err(Error::ReadOnly));
        assert_eq!(fs.create_file(&fs.root(), "b").unwrap_err(), Error::ReadOnly);
        assert!(fs.volume_info().unwrap().read_only);
    }

    #[test]
    fn sets_attributes_and_times() {
        let img = Image::mkfs("attrs", 4096, &["-s", "1"]);
        let disk = img.disk(512);
        let fs = mount(&disk).with_clock(|| fw_drivers::fat::DateTime {
            year: 2024,
            month: 5,
            day: 17,
            hour: 13,
            minute: 45,
            second: 31,
            ..fw_drivers::fat::DateTime::FAT_EPOCH
        });
        let mut f = fs.create_file(&fs.root(), "t.txt").unwrap();
        assert_eq!(f.created().year, 2024);
        assert_eq!(
            (f.modified().hour, f.modified().minute, f.modified().second),
            (13, 45, 30)
        );
        assert_eq!(f.created().second, 31);
        fs.set_attributes(&mut f, fw_drivers::fat::ATTR_READ_ONLY | fw_drivers::fat::ATTR_HIDDEN)
            .unwrap();
        let when = fw_drivers::fat::DateTime {
            year: 2001,
            month: 2,
            day: 3,
            hour: 4,
            minute: 5,
            second: 6,
            ..fw_drivers::fat::DateTime::FAT_EPOCH
        };
        fs.set_times(&mut f, None, Some(when), Some(when)).unwrap();
        let again = fs.open(&fs.root(), "t.txt").unwrap();
        assert_eq!(
            again.attributes(),
            fw_drivers::fat::ATTR_READ_ONLY | fw_drivers::fat::ATTR_HIDDEN
        );
        assert_eq!(again.modified(), when);
        assert_eq!(again.accessed().year, 2001);
        assert_eq!(again.created().year, 2024);
        img.save(&disk);
        img.fsck();
    }

    // ---- broken images ----

    /// An 8 MiB FAT16 image with 512-byte clusters holding `file.bin` (three
    /// clusters) and `dir` (two clusters).
    fn broken_base(tag: &str) -> (Image, u32, u32, fw_drivers::fat::Geometry) {
        let img = Image::mkfs(tag, 8192, &["-F", "16", "-s", "1"]);
        img.put("/file.bin", &pattern(1500, 1));
        img.mkdir("/dir");
        for i in 0..20 {
            img.put(&format!("/dir/f{i}"), b"");
        }
        let disk = img.disk(512);
        let fs = mount(&disk);
        let file = fs.open(&fs.root(), "file.bin").unwrap().first_cluster();
        let dir = fs.open(&fs.root(), "dir").unwrap().first_cluster();
        (img, file, dir, fs.geometry().clone())
    }

    fn patch_fat16(bytes: &mut [u8], geo: &fw_drivers::fat::Geometry, cluster: u32, value: u16) {
        for copy in 0..geo.num_fats {
            let at = (geo.fat_offset(copy) + u64::from(cluster) * 2) as usize;
            bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
        }
    }

    fn mount_bytes(bytes: Vec<u8>) -> Result<FileSystem, Error> {
        FileSystem::mount(Arc::new(MemoryDisk::new(bytes, 512)))
    }

    #[test]
    fn cluster_loop_in_file_is_an_error() {
        let (img, file, _, geo) = broken_base("loop-file");
        let mut bytes = std::fs::read(&img.path).unwrap();
        patch_fat16(&mut bytes, &geo, file + 2, file as u16);
        let fs = mount_bytes(bytes).unwrap();
        assert!(matches!(
            fs.open(&fs.root(), "file.bin"),
            Err(Error::ClusterLoop { .. })
        ));
    }

    #[test]
    fn cluster_loop_in_directory_is_an_error() {
        let (img, _, dir, geo) = broken_base("loop-dir");
        let mut bytes = std::fs::read(&img.path).unwrap();
        let mut fs = mount_bytes(bytes.clone()).unwrap();
        let second = {
            let d = fs.open(&fs.root(), "dir").unwrap();
            assert_eq!(list(&fs, &d).len(), 22);
            dir + 1
        };
        patch_fat16(&mut bytes, &geo, second, dir as u16);
        fs = mount_bytes(bytes).unwrap();
        let d = fs.open(&fs.root(), "dir").unwrap();
        let mut pos = 0;
        assert!(matches!(fs.read_dir(&d, &mut pos), Err(Error::ClusterLoop { .. })));
        assert!(matches!(fs.open(&fs.root(), "dir/f3"), Err(Error::ClusterLoop { .. })));
        assert!(matches!(fs.create_file(&d, "new"), Err(Error::ClusterLoop { .. })));
    }

    #[test]
    fn chain_beyond_last_cluster_is_an_error() {
        let (img, file, _, geo) = broken_base("beyond");
        let mut bytes = std::fs::read(&img.path).unwrap();
        patch_fat16(&mut bytes, &geo, file, (geo.cluster_count + 10) as u16);
        let fs = mount_bytes(bytes).unwrap();
        assert_eq!(
            fs.open(&fs.root(), "file.bin").unwrap_err(),
            Error::ClusterOutOfRange {
                cluster: geo.cluster_count + 10
            }
        );
    }

    #[test]
    fn file_longer_than_its_chain_is_an_error() {
        let (img, file, _, geo) = broken_base("short-chain");
        let mut bytes = std::fs::read(&img.path).unwrap();
        patch_fat16(&mut bytes, &geo, file + 1, 0xFFFF);
        let fs = mount_bytes(bytes).unwrap();
        assert_eq!(
            fs.open(&fs.root(), "file.bin").unwrap_err(),
            Error::ChainTooShort {
                first_cluster: file,
                size: 1500,
                chain_bytes: 1024
            }
        );
    }

    #[test]
    fn bad_boot_sector_fields_are_named() {
        let img = Image::mkfs("bpb", 4096, &["-F", "16", "-s", "1"]);
        let good = std::fs::read(&img.path).unwrap();
        let cases: &[(usize, &[u8], &str, u64)] = &[
            (11, &[0, 0], "bytes per sector", 0),
            (11, &[0x2C, 0x01], "bytes per sector", 300),
            (11, &[0x00, 0x20], "bytes per sector", 8192),
            (13, &[3], "sectors per cluster", 3),
            (13, &[0], "sectors per cluster", 0),
            (14, &[0, 0], "reserved sectors", 0),
            (16, &[0], "number of FATs", 0),
            (21, &[0x12], "media descriptor", 0x12),
            (22, &[0, 0], "FAT size", 0),
            (19, &[0, 0], "total sectors", 0),
            (510, &[0, 0], "boot signature", 0),
        ];
        for &(at, patch, field, value) in cases {
            let mut bytes = good.clone();
            bytes[at..at + patch.len()].copy_from_slice(patch);
            if field == "total sectors" {
                bytes[32..36].copy_from_slice(&[0; 4]);
            }
            if field == "FAT size" {
                bytes[36..40].copy_from_slice(&[0; 4]);
            }
            match mount_bytes(bytes) {
                Err(Error::BadBootSector { field: f, value: v }) => assert_eq!((f, v), (field, value)),
                Err(e) => panic!("{field}: wrong error {e}"),
                Ok(_) => panic!("{field}: mounted"),
            }
        }
        // A volume larger than its device.
        let half = good[..good.len() / 2].to_vec();
        assert!(matches!(
            mount_bytes(half),
            Err(Error::BadBootSector {
                field: "total sectors",
                ..
            })
        ));
    }

    #[test]
    fn mismatched_long_name_falls_back_to_short_name() {
        let img = Image::mkfs("orphan", 4096, &["-F", "16", "-s", "1"]);
        img.put("/A Long File Name.txt", b"one");
        img.put("/Another Long Name.txt", b"two");
        let disk = img.disk(512);
        let geo = mount(&disk).geometry().clone();
        let mut bytes = std::fs::read(&img.path).unwrap();
        let root = geo.root_dir_offset() as usize;
        // Corrupt the checksum of the first name's first long-name entry, and drop
        // the ordinal-1 entry of the second (making an orphan).
        let slots: Vec<usize> = (0..64)
            .map(|i| root + i * 32)
            .filter(|&at| bytes[at + 11] == 0x0F && bytes[at] != 0xE5)
            .collect();
        assert!(slots.len() >= 4, "long-name entries expected");
        bytes[slots[0] + 13] ^= 0x55;
        let last_of_second = *slots.last().unwrap();
        bytes[last_of_second] = 0xE5;
        let fs = mount_bytes(bytes).unwrap();
        let names: Vec<String> = list(&fs, &fs.root()).iter().map(|f| f.name().to_string()).collect();
        assert_eq!(names, ["ALONGF~1.TXT", "ANOTHE~1.TXT"]);
        assert_eq!(read_path(&fs, "alongf~1.txt"), b"one");
        assert!(fs.open(&fs.root(), "A Long File Name.txt").is_err());
    }

    #[test]
    fn writes_into_fragmented_free_space() {
        let img = Image::mkfs("wfrag", 40960, &["-F", "32", "-s", "1"]);
        let disk = img.disk(512);
        let fs = mount(&disk);
        let root = fs.root();
        // Appending to two files in turn interleaves their clusters.
        let big = pattern(100_000, 77);
        let other = pattern(60_000, 78);
        let mut f = fs.create_file(&root, "fragmented.bin").unwrap();
        let mut g = fs.create_file(&root, "other.bin").unwrap();
        for i in 0..40 {
            fs.write(&mut f, i * 2500, &big[i as usize * 2500..][..2500]).unwrap();
            fs.write(&mut g, i * 1500, &other[i as usize * 1500..][..1500]).unwrap();
        }
        let mut again = fs.open(&root, "FRAGMENTED.BIN").unwrap();
        let before = disk.read_requests();
        assert_eq!(read_all(&fs, &mut again), big);
        assert!(disk.read_requests() - before >= 40, "the file should be in 40 runs");
        // Delete the other file (freeing 40 scattered runs) and write another.
        let gone = fs.open(&root, "other.bin").unwrap();
        fs.delete(gone).unwrap();
        let mut h = fs.create_file(&root, "holes.bin").unwrap();
        let fill = pattern(59_000, 79);
        fs.write(&mut h, 0, &fill).unwrap();
        // Shrink across a run boundary and grow again.
        fs.set_size(&mut f, 2000).unwrap();
        fs.write(&mut f, 50_000, b"end").unwrap();
        fs.flush().unwrap();
        img.save(&disk);
        img.fsck();
        let mut want = big[..2000].to_vec();
        want.resize(50_000, 0);
        want.extend_from_slice(b"end");
        assert_eq!(img.get("/fragmented.bin"), want);
        assert_eq!(img.get("/holes.bin"), fill);
    }
}
