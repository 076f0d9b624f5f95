//! Byte-addressed access to a block device. FAT structures are addressed in
//! logical sectors, which need not match the device's block size (a volume with
//! 4096-byte sectors on a 512-byte disk, or the reverse), so the file system
//! works in byte offsets and this module turns them into block requests: an
//! aligned range goes straight to and from the caller's buffer in one request,
//! anything else through a bounce buffer (read-modify-write for partial blocks).
#![forbid(unsafe_code)]

use crate::block::{BlockDevice, BlockError};
use alloc::vec;

/// Unaligned ranges up to this size go through one bounce buffer in one request;
/// larger ones are split into a direct aligned middle and bounced edges.
const BOUNCE_LIMIT: u64 = 256 * 1024;

fn geometry(dev: &dyn BlockDevice, offset: u64, len: usize) -> (u64, u64, u64, u64) {
    let bs = u64::from(dev.block_size());
    let end = offset + len as u64;
    let aligned_start = offset / bs * bs;
    let aligned_end = end.div_ceil(bs) * bs;
    (bs, end, aligned_start, aligned_end)
}

/// Reads `buf.len()` bytes at byte `offset` of the device.
pub fn read_at(dev: &dyn BlockDevice, offset: u64, buf: &mut [u8]) -> Result<(), BlockError> {
    if buf.is_empty() {
        return Ok(());
    }
    let (bs, end, a_start, a_end) = geometry(dev, offset, buf.len());
    if a_start == offset && a_end == end {
        return dev.read_blocks(offset / bs, buf);
    }
    let mid_start = offset.div_ceil(bs) * bs;
    let mid_end = end / bs * bs;
    if a_end - a_start <= BOUNCE_LIMIT || mid_end <= mid_start {
        let mut tmp = vec![0u8; (a_end - a_start) as usize];
        dev.read_blocks(a_start / bs, &mut tmp)?;
        let skip = (offset - a_start) as usize;
        buf.copy_from_slice(&tmp[skip..skip + buf.len()]);
        return Ok(());
    }
    let mut block = vec![0u8; bs as usize];
    if mid_start > offset {
        dev.read_blocks(a_start / bs, &mut block)?;
        let n = (mid_start - offset) as usize;
        buf[..n].copy_from_slice(&block[(offset - a_start) as usize..]);
    }
    let m0 = (mid_start - offset) as usize;
    let m1 = (mid_end - offset) as usize;
    dev.read_blocks(mid_start / bs, &mut buf[m0..m1])?;
    if end > mid_end {
        dev.read_blocks(mid_end / bs, &mut block)?;
        let n = (end - mid_end) as usize;
        buf[m1..].copy_from_slice(&block[..n]);
    }
    Ok(())
}

/// Writes `data` at byte `offset` of the device; partial blocks are read,
/// patched and written back.
pub fn write_at(dev: &dyn BlockDevice, offset: u64, data: &[u8]) -> Result<(), BlockError> {
    if data.is_empty() {
        return Ok(());
    }
    let (bs, end, a_start, a_end) = geometry(dev, offset, data.len());
    if a_start == offset && a_end == end {
        return dev.write_blocks(offset / bs, data);
    }
    let mid_start = offset.div_ceil(bs) * bs;
    let mid_end = end / bs * bs;
    if a_end - a_start <= BOUNCE_LIMIT || mid_end <= mid_start {
        let len = (a_end - a_start) as usize;
        let mut tmp = vec![0u8; len];
        let last = len - bs as usize;
        if a_start != offset {
            dev.read_blocks(a_start / bs, &mut tmp[..bs as usize])?;
        }
        if a_end != end && (last != 0 || a_start == offset) {
            dev.read_blocks((a_end - bs) / bs, &mut tmp[last..])?;
        }
        let skip = (offset - a_start) as usize;
        tmp[skip..skip + data.len()].copy_from_slice(data);
        return dev.write_blocks(a_start / bs, &tmp);
    }
    let mut block = vec![0u8; bs as usize];
    if mid_start > offset {
        dev.read_blocks(a_start / bs, &mut block)?;
        let n = (mid_start - offset) as usize;
        block[(offset - a_start) as usize..].copy_from_slice(&data[..n]);
        dev.write_blocks(a_start / bs, &block)?;
    }
    let m0 = (mid_start - offset) as usize;
    let m1 = (mid_end - offset) as usize;
    dev.write_blocks(mid_start / bs, &data[m0..m1])?;
    if end > mid_end {
        dev.read_blocks(mid_end / bs, &mut block)?;
        let n = (end - mid_end) as usize;
        block[..n].copy_from_slice(&data[m1..]);
        dev.write_blocks(mid_end / bs, &block)?;
    }
    Ok(())
}
