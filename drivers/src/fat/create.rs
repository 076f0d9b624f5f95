//! Creating files and directories: a free run of directory slots, the long
//! name entries and a unique short name (fatgen103 §7), and the new
//! directory's "." and ".." entries.

use super::{
    dir, io, is_separator, put16, EntryLocation, Error, File, FileSystem, Run, State, ATTR_ARCHIVE, ATTR_DIRECTORY,
    DIR_ATTR, DIR_CRT_DATE, DIR_CRT_TIME, DIR_CRT_TIME_TENTH, DIR_ENTRY_SIZE, DIR_FST_CLUS_HI, DIR_FST_CLUS_LO,
    DIR_LST_ACC_DATE, DIR_NAME, DIR_NTRES, DIR_WRT_DATE, DIR_WRT_TIME, DOTDOT_NAME, DOT_NAME, ENTRY_END, ENTRY_FREE,
    MAX_DIR_BYTES, MAX_NUMERIC_TAIL, ROOT,
};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use log::debug;

impl FileSystem {
    pub(super) fn store_entry(&self, st: &mut State, file: &File) -> Result<(), Error> {
        let Some(loc) = file.location else {
            return Ok(());
        };
        let spans = self.dir_spans(st, loc.dir)?;
        self.write_spans(&spans, u64::from(loc.index) * DIR_ENTRY_SIZE as u64, &file.raw)
    }

    pub(super) fn create(&self, dir: &File, path: &str, directory: bool) -> Result<File, Error> {
        let path = path.trim_end_matches(is_separator);
        let (parent_path, leaf) = match path.rfind(is_separator) {
            Some(i) => (&path[..=i], &path[i + 1..]),
            None => ("", path),
        };
        let invalid = || Error::InvalidName { name: leaf.into() };
        if leaf == "." || leaf == ".." {
            return Err(invalid());
        }
        let plan = dir::plan_name(leaf).ok_or_else(invalid)?;
        self.mutate(|st| {
            let parent = self.resolve(st, dir, parent_path)?;
            if !parent.is_directory() {
                return Err(Error::NotADirectory { name: parent.name });
            }
            if self.find_in_dir(st, parent.first_cluster, leaf)?.is_some() {
                return Err(Error::AlreadyExists { name: leaf.into() });
            }
            let now = (self.clock)();
            let (date, time, tenths) = now.to_fat();
            let mut raw = [0u8; DIR_ENTRY_SIZE];
            raw[DIR_ATTR] = if directory { ATTR_DIRECTORY } else { ATTR_ARCHIVE };
            raw[DIR_CRT_TIME_TENTH] = tenths;
            put16(&mut raw, DIR_CRT_TIME, time);
            put16(&mut raw, DIR_CRT_DATE, date);
            put16(&mut raw, DIR_LST_ACC_DATE, date);
            put16(&mut raw, DIR_WRT_TIME, time);
            put16(&mut raw, DIR_WRT_DATE, date);
            let mut file = File {
                name: leaf.trim_end_matches([' ', '.']).into(),
                raw,
                first_cluster: 0,
                location: None,
                runs: Some(Vec::new()),
            };
            if directory {
                let cluster = self.allocate(st, 1, None)?[0];
                file.set_first_cluster(cluster);
                file.runs = None;
                if let Err(e) = self.init_dir_cluster(cluster, &file.raw, parent.first_cluster) {
                    self.release(
                        st,
                        &[Run {
                            first: cluster,
                            count: 1,
                        }],
                    )?;
                    return Err(e);
                }
            }
            match self.add_entry(st, parent.first_cluster, &plan, &mut file.raw) {
                Ok(loc) => file.location = Some(loc),
                Err(e) => {
                    if file.first_cluster != 0 {
                        self.release(
                            st,
                            &[Run {
                                first: file.first_cluster,
                                count: 1,
                            }],
                        )?;
                    }
                    return Err(e);
                }
            }
            debug!(
                "fat: created {:?} in directory cluster {}",
                file.name, parent.first_cluster
            );
            Ok(file)
        })
    }

    /// Zeroes a new directory cluster and writes its "." and ".." entries.
    pub(super) fn init_dir_cluster(&self, cluster: u32, raw: &[u8; DIR_ENTRY_SIZE], parent: u32) -> Result<(), Error> {
        let mut data = vec![0u8; self.geo.bytes_per_cluster as usize];
        let mut dot = *raw;
        dot[..11].copy_from_slice(&DOT_NAME);
        let mut dotdot = *raw;
        dotdot[..11].copy_from_slice(&DOTDOT_NAME);
        put16(&mut dotdot, DIR_FST_CLUS_HI, (parent >> 16) as u16);
        put16(&mut dotdot, DIR_FST_CLUS_LO, parent as u16);
        data[..DIR_ENTRY_SIZE].copy_from_slice(&dot);
        data[DIR_ENTRY_SIZE..2 * DIR_ENTRY_SIZE].copy_from_slice(&dotdot);
        Ok(io::write_at(&*self.dev, self.geo.cluster_offset(cluster), &data)?)
    }

    /// Writes a new entry (with long-name entries when the plan needs them)
    /// into directory `dir`, growing it by whole clusters when no run of free
    /// slots is long enough. Fills in `raw`'s name and case bits.
    pub(super) fn add_entry(
        &self,
        st: &mut State,
        dir: u32,
        plan: &dir::NamePlan,
        raw: &mut [u8; DIR_ENTRY_SIZE],
    ) -> Result<EntryLocation, Error> {
        let lfn_slots = match plan {
            dir::NamePlan::Short { .. } => 0,
            dir::NamePlan::Long { units, .. } => units.len().div_ceil(13) as u32,
        };
        let needed = lfn_slots + 1;
        let mut cursor = self.dir_cursor(st, dir)?;
        let mut shorts: Vec<[u8; 11]> = Vec::new();
        let mut fit = None;
        let mut run_start = 0;
        let mut run_len = 0;
        let mut index = 0;
        while let Some(slot) = self.slot(&mut cursor, index)? {
            if slot[DIR_NAME] == ENTRY_END {
                break;
            }
            if slot[DIR_NAME] == ENTRY_FREE {
                if run_len == 0 {
                    run_start = index;
                }
                run_len += 1;
                if run_len >= needed && fit.is_none() {
                    fit = Some(run_start);
                }
            } else {
                run_len = 0;
                if !dir::is_long_name(&slot) {
                    let mut name = [0u8; 11];
                    name.copy_from_slice(&slot[..11]);
                    shorts.push(name);
                }
            }
            index += 1;
        }
        // Slots from `index` on are free (never used, or past the end).
        let tail_start = if run_len > 0 { run_start } else { index };
        if fit.is_none() && cursor.slots - tail_start >= needed {
            fit = Some(tail_start);
        }
        let start = match fit {
            Some(s) => s,
            None => {
                let cluster = if dir == ROOT { self.geo.root_cluster } else { dir };
                if cluster == 0 {
                    return Err(Error::RootDirectoryFull);
                }
                let missing = u64::from(needed - (cursor.slots - tail_start)) * DIR_ENTRY_SIZE as u64;
                let bpc = u64::from(self.geo.bytes_per_cluster);
                let grow = missing.div_ceil(bpc);
                if u64::from(cursor.slots) * DIR_ENTRY_SIZE as u64 + grow * bpc > MAX_DIR_BYTES {
                    return Err(Error::DirectoryTooLarge { first_cluster: cluster });
                }
                let runs = self.dir_runs(st, dir)?;
                let last = runs.last().map(|r| r.first + r.count - 1);
                let new = self.allocate(st, grow as u32, last)?;
                let zeros = vec![0u8; bpc as usize];
                for &c in &new {
                    io::write_at(&*self.dev, self.geo.cluster_offset(c), &zeros)?;
                }
                tail_start
            }
        };
        let (short, nt) = match plan {
            dir::NamePlan::Short { name, nt } => (*name, *nt),
            dir::NamePlan::Long { base, ext, .. } => {
                shorts.sort_unstable();
                let short = (1..=MAX_NUMERIC_TAIL)
                    .map(|n| dir::numbered_short_name(base, ext, n))
                    .find(|s| shorts.binary_search(s).is_err())
                    .ok_or_else(|| Error::AlreadyExists {
                        name: String::from_utf8_lossy(base).into(),
                    })?;
                (short, 0)
            }
        };
        raw[..11].copy_from_slice(&short);
        raw[DIR_NTRES] = nt;
        let mut entries: Vec<u8> = Vec::with_capacity(needed as usize * DIR_ENTRY_SIZE);
        if let dir::NamePlan::Long { units, .. } = plan {
            for e in dir::long_name_entries(units, dir::lfn_checksum(&short)) {
                entries.extend_from_slice(&e);
            }
        }
        entries.extend_from_slice(raw);
        let spans = self.dir_spans(st, dir)?;
        self.write_spans(&spans, u64::from(start) * DIR_ENTRY_SIZE as u64, &entries)?;
        Ok(EntryLocation {
            dir,
            index: start + needed - 1,
            first_slot: start,
        })
    }
}
