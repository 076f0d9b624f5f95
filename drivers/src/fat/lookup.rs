//! Finding entries: reading directories slot by slot, matching names, and
//! resolving paths (fatgen103 §6, §7).

use super::{
    dir, is_separator, DirCursor, EntryLocation, Error, FatType, File, FileSystem, Found, Run, Span, State,
    ATTR_DIRECTORY, DIR_ATTR, DIR_ENTRY_SIZE, DIR_FST_CLUS_HI, DIR_FST_CLUS_LO, DIR_NAME, DOTDOT_NAME, ENTRY_END,
    ENTRY_FREE, MAX_DIR_BYTES, ROOT,
};
use crate::bytes::LeFields;
use alloc::vec;
use alloc::vec::Vec;

impl FileSystem {
    pub(super) fn entry_cluster(&self, raw: &[u8]) -> u32 {
        let lo = u32::from(raw.u16_le(DIR_FST_CLUS_LO).unwrap_or(0));
        if self.geo.fat_type == FatType::Fat32 {
            lo | u32::from(raw.u16_le(DIR_FST_CLUS_HI).unwrap_or(0)) << 16
        } else {
            lo
        }
    }

    pub(super) fn file_from_found(&self, dir: u32, found: Found) -> File {
        File {
            name: found.name(),
            first_cluster: self.entry_cluster(&found.raw),
            location: Some(EntryLocation {
                dir,
                index: found.index,
                first_slot: found.first_slot,
            }),
            raw: found.raw,
            runs: None,
        }
    }

    /// The chain of a directory (first cluster 0 = the root), bounded by the
    /// 65536-entry limit. Empty for the fixed FAT12/16 root.
    pub(super) fn dir_runs(&self, st: &mut State, first: u32) -> Result<Vec<Run>, Error> {
        let cluster = if first == ROOT { self.geo.root_cluster } else { first };
        if cluster == 0 {
            return Ok(Vec::new());
        }
        let max = MAX_DIR_BYTES.div_ceil(u64::from(self.geo.bytes_per_cluster)) as u32;
        self.chain_runs(
            st,
            cluster,
            Some((max, Error::DirectoryChainTooLong { first_cluster: cluster })),
        )
    }

    pub(super) fn dir_spans(&self, st: &mut State, first: u32) -> Result<Vec<Span>, Error> {
        if first == ROOT && self.geo.fat_type != FatType::Fat32 {
            return Ok(vec![Span {
                offset: self.geo.root_dir_offset(),
                len: u64::from(self.geo.root_entry_count) * DIR_ENTRY_SIZE as u64,
            }]);
        }
        let runs = self.dir_runs(st, first)?;
        Ok(self.run_spans(&runs))
    }

    pub(super) fn dir_cursor(&self, st: &mut State, first: u32) -> Result<DirCursor, Error> {
        let spans = self.dir_spans(st, first)?;
        let total: u64 = spans.iter().map(|s| s.len).sum();
        Ok(DirCursor {
            spans,
            slots: (total / DIR_ENTRY_SIZE as u64) as u32,
            chunk_bytes: u64::from(self.geo.bytes_per_cluster),
            chunk_start: None,
            chunk: Vec::new(),
        })
    }

    /// The raw slot `index`, or None past the directory's end.
    pub(super) fn slot(&self, cursor: &mut DirCursor, index: u32) -> Result<Option<[u8; DIR_ENTRY_SIZE]>, Error> {
        if index >= cursor.slots {
            return Ok(None);
        }
        let total = u64::from(cursor.slots) * DIR_ENTRY_SIZE as u64;
        let at = u64::from(index) * DIR_ENTRY_SIZE as u64;
        let start = at / cursor.chunk_bytes * cursor.chunk_bytes;
        if cursor.chunk_start != Some(start) {
            let len = cursor.chunk_bytes.min(total - start) as usize;
            cursor.chunk.resize(len, 0);
            cursor.chunk_start = None;
            self.read_dir_chunk(&cursor.spans, start, &mut cursor.chunk)?;
            cursor.chunk_start = Some(start);
        }
        let off = (at - start) as usize;
        let mut raw = [0u8; DIR_ENTRY_SIZE];
        raw.copy_from_slice(&cursor.chunk[off..off + DIR_ENTRY_SIZE]);
        Ok(Some(raw))
    }

    /// The next short entry from slot `*pos` on (volume labels included), with
    /// its long name; `*pos` moves past it.
    pub(super) fn next_found(&self, cursor: &mut DirCursor, pos: &mut u32) -> Result<Option<Found>, Error> {
        let mut lfn = dir::LongNameAssembler::new();
        while let Some(raw) = self.slot(cursor, *pos)? {
            let index = *pos;
            *pos += 1;
            match raw[DIR_NAME] {
                ENTRY_END => {
                    *pos = index;
                    return Ok(None);
                }
                ENTRY_FREE => lfn.reset(),
                _ if dir::is_long_name(&raw) => lfn.push(&raw, index),
                _ => {
                    let (long_name, first_slot) = match lfn.finish(&raw) {
                        Some((name, first)) => (Some(name), first),
                        None => (None, index),
                    };
                    return Ok(Some(Found {
                        raw,
                        index,
                        first_slot,
                        long_name,
                    }));
                }
            }
        }
        Ok(None)
    }

    pub(super) fn find_in_dir(&self, st: &mut State, dir: u32, name: &str) -> Result<Option<File>, Error> {
        let mut cursor = self.dir_cursor(st, dir)?;
        let mut pos = 0;
        while let Some(found) = self.next_found(&mut cursor, &mut pos)? {
            if dir::is_volume_label(&found.raw) || found.is_dot() {
                continue;
            }
            let long = found.long_name.as_deref().is_some_and(|l| dir::names_match(l, name));
            if long || dir::names_match(&dir::short_display(&found.raw), name) {
                let file = self.file_from_found(dir, found);
                if file.is_directory() && file.first_cluster == ROOT {
                    return Err(Error::ClusterOutOfRange { cluster: 0 });
                }
                return Ok(Some(file));
            }
        }
        Ok(None)
    }

    /// The directory containing `dir`.
    pub(super) fn parent(&self, st: &mut State, dir: &File) -> Result<File, Error> {
        let Some(loc) = dir.location else {
            return Ok(self.root());
        };
        if loc.dir == ROOT {
            return Ok(self.root());
        }
        // Find the parent's own entry in the grandparent, named by its "..".
        let mut cursor = self.dir_cursor(st, loc.dir)?;
        let mut pos = 0;
        let mut grandparent = None;
        while let Some(found) = self.next_found(&mut cursor, &mut pos)? {
            if found.raw[..11] == DOTDOT_NAME {
                grandparent = Some(self.entry_cluster(&found.raw));
                break;
            }
        }
        let not_found = || Error::NotFound { name: "..".into() };
        let grandparent = grandparent.ok_or_else(not_found)?;
        let mut cursor = self.dir_cursor(st, grandparent)?;
        let mut pos = 0;
        while let Some(found) = self.next_found(&mut cursor, &mut pos)? {
            if !found.is_dot() && found.raw[DIR_ATTR] & ATTR_DIRECTORY != 0 && self.entry_cluster(&found.raw) == loc.dir
            {
                return Ok(self.file_from_found(grandparent, found));
            }
        }
        Err(not_found())
    }

    pub(super) fn resolve(&self, st: &mut State, dir: &File, path: &str) -> Result<File, Error> {
        let mut cur = if path.starts_with(is_separator) {
            self.root()
        } else {
            dir.clone()
        };
        cur.runs = None;
        for comp in path.split(is_separator).filter(|c| !c.is_empty()) {
            if !cur.is_directory() {
                return Err(Error::NotADirectory { name: cur.name });
            }
            cur = match comp {
                "." => cur,
                ".." => self.parent(st, &cur)?,
                _ => self
                    .find_in_dir(st, cur.first_cluster, comp)?
                    .ok_or_else(|| Error::NotFound { name: comp.into() })?,
            };
        }
        Ok(cur)
    }
}
