//! A small cache of directory clusters, keyed by their device offset. Path
//! lookups read the same few directories (the root, `\\loader`,
//! `\\EFI\\BOOT`) many times during a boot; each miss is a device request.
//! The file system empties the cache whenever it changes the volume, so a
//! cached cluster is never stale.
#![forbid(unsafe_code)]

use alloc::vec::Vec;

/// Clusters kept at most.
const MAX_ENTRIES: usize = 16;
/// Bytes kept at most (a volume of 64 KiB clusters keeps one).
const MAX_BYTES: usize = 64 * 1024;

pub(super) struct DirCache {
    /// Least recently used first.
    entries: Vec<(u64, Vec<u8>)>,
}

impl DirCache {
    pub fn new() -> DirCache {
        DirCache { entries: Vec::new() }
    }

    /// Fills `buf` from the cached chunk at `device_offset` of exactly its
    /// length; false (and `buf` untouched) when there is none.
    pub fn get(&mut self, device_offset: u64, buf: &mut [u8]) -> bool {
        let Some(at) = self
            .entries
            .iter()
            .position(|(offset, data)| *offset == device_offset && data.len() == buf.len())
        else {
            return false;
        };
        let entry = self.entries.remove(at);
        buf.copy_from_slice(&entry.1);
        self.entries.push(entry);
        true
    }

    /// Keeps a copy of `data`, read at `device_offset`, evicting the least
    /// recently used chunks to stay within the limits.
    pub fn insert(&mut self, device_offset: u64, data: &[u8]) {
        if data.len() > MAX_BYTES {
            return;
        }
        self.entries.retain(|(offset, _)| *offset != device_offset);
        let mut bytes: usize = self.entries.iter().map(|(_, d)| d.len()).sum();
        while !self.entries.is_empty() && (self.entries.len() >= MAX_ENTRIES || bytes + data.len() > MAX_BYTES) {
            bytes -= self.entries.remove(0).1.len();
        }
        self.entries.push((device_offset, data.to_vec()));
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn a_chunk_is_found_only_at_its_offset_and_length() {
        let mut cache = DirCache::new();
        cache.insert(4096, &[7; 512]);
        let mut buf = [0u8; 512];
        assert!(cache.get(4096, &mut buf));
        assert_eq!(buf, [7; 512]);
        assert!(!cache.get(4608, &mut buf));
        let mut other = [0u8; 1024];
        assert!(!cache.get(4096, &mut other));
    }

    #[test]
    fn the_least_recently_used_chunk_goes_first() {
        let mut cache = DirCache::new();
        for i in 0..MAX_ENTRIES as u64 {
            cache.insert(i * 512, &[i as u8; 512]);
        }
        let mut buf = [0u8; 512];
        // Touch the oldest, then add one more: the second oldest is evicted.
        assert!(cache.get(0, &mut buf));
        cache.insert(99 * 512, &[99; 512]);
        assert!(cache.get(0, &mut buf));
        assert!(!cache.get(512, &mut buf));
        assert!(cache.get(99 * 512, &mut buf));
    }

    #[test]
    fn the_byte_limit_holds_and_oversized_chunks_are_not_kept() {
        let mut cache = DirCache::new();
        cache.insert(0, &vec![1; MAX_BYTES / 2]);
        cache.insert(MAX_BYTES as u64, &vec![2; MAX_BYTES / 2]);
        cache.insert(2 * MAX_BYTES as u64, &vec![3; MAX_BYTES / 2]);
        let mut half = vec![0u8; MAX_BYTES / 2];
        assert!(!cache.get(0, &mut half));
        assert!(cache.get(2 * MAX_BYTES as u64, &mut half));
        cache.insert(9 << 20, &vec![4; MAX_BYTES + 1]);
        let mut big = vec![0u8; MAX_BYTES + 1];
        assert!(!cache.get(9 << 20, &mut big));
    }

    #[test]
    fn clear_forgets_everything() {
        let mut cache = DirCache::new();
        cache.insert(0, &[1; 512]);
        cache.clear();
        assert!(!cache.get(0, &mut [0u8; 512]));
    }
}
