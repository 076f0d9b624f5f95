//! The file allocation table: fatgen103 §4 (entry widths, end-of-chain and bad
//! cluster values, FAT12 packing), cluster chains, allocation, and the FAT32
//! FSInfo hints (§5). All FAT copies are written (unless BPB_ExtFlags turns
//! mirroring off); one window of the FAT is cached and written back at `sync`.
#![forbid(unsafe_code)]

use super::bpb::{FatType, FSI_FREE_COUNT_OFFSET, FSI_UNKNOWN};
use super::{io, Error, FileSystem, Run, State};
use alloc::vec::Vec;
use log::debug;

/// Bytes of the FAT cached at a time (at least one sector). Walking a 14 MB
/// kernel's chain on a volume of 512-byte clusters reads 110 KB of FAT32: a
/// 32 KiB window makes that four device requests instead of 27.
const FAT_WINDOW: u64 = 32 * 1024;
const FAT12_EOC: u32 = 0xFFF;
const FAT16_EOC: u32 = 0xFFFF;
const FAT32_EOC: u32 = 0x0FFF_FFFF;
const FAT32_MASK: u32 = 0x0FFF_FFFF;
const FAT_FREE: u32 = 0;

/// What a FAT entry says comes after a cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Next {
    End,
    Cluster(u32),
    Free,
    Bad,
    /// A value that is neither a data cluster nor a marker (1, or past the end).
    Invalid(u32),
}

/// Cached part of the FAT.
pub(super) struct FatWindow {
    start: Option<u64>,
    buf: Vec<u8>,
    dirty: bool,
}

impl FatWindow {
    pub fn new() -> FatWindow {
        FatWindow {
            start: None,
            buf: Vec::new(),
            dirty: false,
        }
    }
}

impl FileSystem {
    fn window_size(&self) -> u64 {
        FAT_WINDOW.max(u64::from(self.geo.bytes_per_sector))
    }

    /// The FAT copy that is read (the active one, else the first).
    fn read_fat_index(&self) -> u32 {
        self.geo.active_fat.unwrap_or(0)
    }

    fn load_window(&self, st: &mut State, offset: u64) -> Result<(), Error> {
        let size = self.window_size();
        let start = offset / size * size;
        if st.fat.start == Some(start) {
            return Ok(());
        }
        self.write_back_fat(st)?;
        let len = size.min(self.geo.fat_bytes() - start) as usize;
        st.fat.buf.resize(len, 0);
        st.fat.start = None;
        let base = self.geo.fat_offset(self.read_fat_index());
        io::read_at(&*self.dev, base + start, &mut st.fat.buf)?;
        st.fat.start = Some(start);
        Ok(())
    }

    /// Writes the cached window to every FAT copy in use.
    pub(super) fn write_back_fat(&self, st: &mut State) -> Result<(), Error> {
        let Some(start) = st.fat.start else {
            return Ok(());
        };
        if !st.fat.dirty {
            return Ok(());
        }
        let copies = match self.geo.active_fat {
            Some(a) => a..a + 1,
            None => 0..self.geo.num_fats,
        };
        for copy in copies {
            io::write_at(&*self.dev, self.geo.fat_offset(copy) + start, &st.fat.buf)?;
        }
        st.fat.dirty = false;
        Ok(())
    }

    fn fat_byte(&self, st: &mut State, offset: u64) -> Result<u8, Error> {
        self.load_window(st, offset)?;
        let start = st.fat.start.unwrap_or(0);
        Ok(st.fat.buf[(offset - start) as usize])
    }

    /// `N` consecutive FAT bytes from `offset`: one window lookup when they lie
    /// in one window (always for FAT16/32 entries), byte by byte otherwise.
    fn fat_bytes<const N: usize>(&self, st: &mut State, offset: u64) -> Result<[u8; N], Error> {
        self.load_window(st, offset)?;
        let at = (offset - st.fat.start.unwrap_or(0)) as usize;
        if let Some(bytes) = st.fat.buf.get(at..at + N) {
            let mut out = [0u8; N];
            out.copy_from_slice(bytes);
            return Ok(out);
        }
        let mut out = [0u8; N];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = self.fat_byte(st, offset + i as u64)?;
        }
        Ok(out)
    }

    fn set_fat_byte(&self, st: &mut State, offset: u64, value: u8) -> Result<(), Error> {
        self.load_window(st, offset)?;
        let start = st.fat.start.unwrap_or(0);
        st.fat.buf[(offset - start) as usize] = value;
        st.fat.dirty = true;
        Ok(())
    }

    /// The raw FAT entry of `cluster` (a data cluster, checked by the caller).
    fn raw_entry(&self, st: &mut State, cluster: u32) -> Result<u32, Error> {
        let n = u64::from(cluster);
        Ok(match self.geo.fat_type {
            FatType::Fat12 => {
                let v = u32::from(u16::from_le_bytes(self.fat_bytes(st, n + n / 2)?));
                if cluster & 1 == 0 {
                    v & 0xFFF
                } else {
                    v >> 4
                }
            }
            FatType::Fat16 => u32::from(u16::from_le_bytes(self.fat_bytes(st, n * 2)?)),
            FatType::Fat32 => u32::from_le_bytes(self.fat_bytes(st, n * 4)?) & FAT32_MASK,
        })
    }

    fn set_raw_entry(&self, st: &mut State, cluster: u32, value: u32) -> Result<(), Error> {
        let n = u64::from(cluster);
        match self.geo.fat_type {
            FatType::Fat12 => {
                let off = n + n / 2;
                let lo = self.fat_byte(st, off)?;
                let hi = self.fat_byte(st, off + 1)?;
                let (lo, hi) = if cluster & 1 == 0 {
                    (value as u8, (hi & 0xF0) | ((value >> 8) as u8 & 0x0F))
                } else {
                    ((lo & 0x0F) | ((value as u8 & 0x0F) << 4), (value >> 4) as u8)
                };
                self.set_fat_byte(st, off, lo)?;
                self.set_fat_byte(st, off + 1, hi)?;
            }
            FatType::Fat16 => {
                let off = n * 2;
                self.set_fat_byte(st, off, value as u8)?;
                self.set_fat_byte(st, off + 1, (value >> 8) as u8)?;
            }
            FatType::Fat32 => {
                // The top four bits are reserved and must be preserved (§4).
                let off = n * 4;
                let top = self.fat_byte(st, off + 3)? & 0xF0;
                let v = value & FAT32_MASK;
                self.set_fat_byte(st, off, v as u8)?;
                self.set_fat_byte(st, off + 1, (v >> 8) as u8)?;
                self.set_fat_byte(st, off + 2, (v >> 16) as u8)?;
                self.set_fat_byte(st, off + 3, top | (v >> 24) as u8)?;
            }
        }
        Ok(())
    }

    fn end_of_chain(&self) -> u32 {
        match self.geo.fat_type {
            FatType::Fat12 => FAT12_EOC,
            FatType::Fat16 => FAT16_EOC,
            FatType::Fat32 => FAT32_EOC,
        }
    }

    /// The entry of `cluster`, classified.
    pub(super) fn next_cluster(&self, st: &mut State, cluster: u32) -> Result<Next, Error> {
        let v = self.raw_entry(st, cluster)?;
        let eoc_min = self.end_of_chain() & !7;
        Ok(if v >= eoc_min {
            Next::End
        } else if v == eoc_min - 1 {
            Next::Bad
        } else if v == FAT_FREE {
            Next::Free
        } else if self.geo.is_data_cluster(v) {
            Next::Cluster(v)
        } else {
            Next::Invalid(v)
        })
    }

    /// Walks the chain starting at `first` into runs of contiguous clusters.
    /// The walk is bounded by the cluster count and detects loops (Brent's
    /// algorithm), so a corrupt FAT yields an error, never a hang. A chain longer
    /// than `limit` clusters is still walked (to tell a loop from a long chain)
    /// and then reported with `too_long`.
    pub(super) fn chain_runs(
        &self,
        st: &mut State,
        first: u32,
        limit: Option<(u32, Error)>,
    ) -> Result<Vec<Run>, Error> {
        let mut runs: Vec<Run> = Vec::new();
        if first == 0 {
            return Ok(runs);
        }
        if !self.geo.is_data_cluster(first) {
            return Err(Error::ClusterOutOfRange { cluster: first });
        }
        let (max_len, too_long) = match limit {
            Some((n, e)) => (n, Some(e)),
            None => (u32::MAX, None),
        };
        let mut cur = first;
        let mut len: u32 = 0;
        let mut saved = first;
        let mut power: u32 = 1;
        let mut lam: u32 = 0;
        loop {
            len += 1;
            if len > self.geo.cluster_count {
                return Err(Error::ClusterLoop { cluster: cur });
            }
            if len <= max_len {
                match runs.last_mut() {
                    Some(r) if r.first + r.count == cur => r.count += 1,
                    _ => runs.push(Run { first: cur, count: 1 }),
                }
            }
            let next = match self.next_cluster(st, cur)? {
                Next::End => break,
                Next::Cluster(c) => c,
                Next::Free => return Err(Error::FreeClusterInChain { cluster: cur }),
                Next::Bad => return Err(Error::BadClusterInChain { cluster: cur }),
                Next::Invalid(v) => return Err(Error::ClusterOutOfRange { cluster: v }),
            };
            if next == saved {
                debug!("fat: cluster chain from {first} loops at {next}");
                return Err(Error::ClusterLoop { cluster: next });
            }
            lam += 1;
            if lam == power {
                saved = next;
                power = power.saturating_mul(2);
                lam = 0;
            }
            cur = next;
        }
        match too_long {
            Some(e) if len > max_len => Err(e),
            _ => Ok(runs),
        }
    }

    /// Makes sure the free-cluster count is known (counting the FAT if needed),
    /// so that FSInfo stays exact.
    pub(super) fn free_clusters(&self, st: &mut State) -> Result<u32, Error> {
        if let Some(n) = st.free_count {
            return Ok(n);
        }
        let mut free = 0;
        for c in 2..=self.geo.cluster_count + 1 {
            if self.raw_entry(st, c)? == FAT_FREE {
                free += 1;
            }
        }
        debug!("fat: counted {free} free clusters");
        st.free_count = Some(free);
        st.fsinfo_dirty = true;
        Ok(free)
    }

    fn find_free(&self, st: &mut State, hint: u32) -> Result<Option<u32>, Error> {
        let count = self.geo.cluster_count;
        let start = if self.geo.is_data_cluster(hint) { hint - 2 } else { 0 };
        for i in 0..count {
            let c = 2 + (start + i) % count;
            if self.raw_entry(st, c)? == FAT_FREE {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }

    /// Allocates `count` clusters as one chain and links it after `after` (the
    /// last cluster of an existing chain), preferring the clusters that follow
    /// it so files stay contiguous. On a full disk nothing is allocated.
    pub(super) fn allocate(&self, st: &mut State, count: u32, after: Option<u32>) -> Result<Vec<u32>, Error> {
        self.free_clusters(st)?;
        let eoc = self.end_of_chain();
        let mut got: Vec<u32> = Vec::with_capacity(count as usize);
        let mut hint = after.map_or(st.next_free, |c| c + 1);
        for _ in 0..count {
            match self.find_free(st, hint)? {
                Some(c) => {
                    self.set_raw_entry(st, c, eoc)?;
                    got.push(c);
                    hint = c + 1;
                }
                None => {
                    for &c in &got {
                        self.set_raw_entry(st, c, FAT_FREE)?;
                    }
                    return Err(Error::DiskFull);
                }
            }
        }
        for pair in got.windows(2) {
            self.set_raw_entry(st, pair[0], pair[1])?;
        }
        if let (Some(prev), Some(&first)) = (after, got.first()) {
            self.set_raw_entry(st, prev, first)?;
        }
        if let Some(&last) = got.last() {
            st.next_free = if self.geo.is_data_cluster(last + 1) {
                last + 1
            } else {
                2
            };
        }
        st.free_count = st.free_count.map(|n| n.saturating_sub(count));
        st.fsinfo_dirty = true;
        Ok(got)
    }

    /// Ends a chain at `cluster`.
    pub(super) fn set_end_of_chain(&self, st: &mut State, cluster: u32) -> Result<(), Error> {
        self.set_raw_entry(st, cluster, self.end_of_chain())
    }

    /// Marks every cluster of `runs` free.
    pub(super) fn release(&self, st: &mut State, runs: &[Run]) -> Result<(), Error> {
        self.free_clusters(st)?;
        let mut n: u32 = 0;
        for r in runs {
            for c in r.first..r.first + r.count {
                self.set_raw_entry(st, c, FAT_FREE)?;
                n += 1;
            }
        }
        st.free_count = st.free_count.map(|f| f.saturating_add(n).min(self.geo.cluster_count));
        st.fsinfo_dirty = true;
        Ok(())
    }

    /// Writes the cached FAT window and the FSInfo hints.
    pub(super) fn sync(&self, st: &mut State) -> Result<(), Error> {
        self.write_back_fat(st)?;
        if st.fsinfo_dirty {
            if let Some(sector) = st.fsinfo {
                let mut fields = [0u8; 8];
                fields[..4].copy_from_slice(&st.free_count.unwrap_or(FSI_UNKNOWN).to_le_bytes());
                fields[4..].copy_from_slice(&st.next_free.to_le_bytes());
                let off = u64::from(sector) * u64::from(self.geo.bytes_per_sector) + FSI_FREE_COUNT_OFFSET as u64;
                io::write_at(&*self.dev, off, &fields)?;
            }
            st.fsinfo_dirty = false;
        }
        Ok(())
    }
}
