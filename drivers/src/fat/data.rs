//! File and directory contents as device byte ranges: cluster runs become
//! spans, read, written or zeroed a piece at a time, and chains grow or shrink
//! with the file (fatgen103 §4).

use super::{io, Error, File, FileSystem, Run, Span, State, ZERO_CHUNK};
use alloc::vec;
use alloc::vec::Vec;

impl FileSystem {
    pub(super) fn run_spans(&self, runs: &[Run]) -> Vec<Span> {
        let bpc = u64::from(self.geo.bytes_per_cluster);
        runs.iter()
            .map(|r| Span {
                offset: self.geo.cluster_offset(r.first),
                len: u64::from(r.count) * bpc,
            })
            .collect()
    }

    /// Calls `f(device_offset, range)` for each piece of `offset..offset+len`
    /// of the stream made of `spans`: one call per contiguous span.
    pub(super) fn for_each_piece(
        spans: &[Span],
        offset: u64,
        len: usize,
        mut f: impl FnMut(u64, core::ops::Range<usize>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let end = offset + len as u64;
        let mut pos = 0u64;
        let mut done = 0usize;
        for span in spans {
            let (s, e) = (pos, pos + span.len);
            pos = e;
            if e <= offset || s >= end {
                continue;
            }
            let from = offset.max(s);
            let to = end.min(e);
            let n = (to - from) as usize;
            f(span.offset + (from - s), done..done + n)?;
            done += n;
        }
        if done < len {
            // The caller sized the request from the chain; a shortfall means
            // the chain is shorter than the stream claims.
            return Err(Error::ChainTooShort {
                first_cluster: 0,
                size: end,
                chain_bytes: pos,
            });
        }
        Ok(())
    }

    pub(super) fn read_spans(&self, spans: &[Span], offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        Self::for_each_piece(spans, offset, buf.len(), |dev_off, range| {
            Ok(io::read_at(&*self.dev, dev_off, &mut buf[range])?)
        })
    }

    /// A chunk of a directory: from the cache when it holds the same device
    /// bytes, else read (and kept when it is one contiguous device range).
    pub(super) fn read_dir_chunk(&self, spans: &[Span], offset: u64, buf: &mut [u8]) -> Result<(), Error> {
        let mut pieces = 0;
        let mut device_offset = 0;
        Self::for_each_piece(spans, offset, buf.len(), |dev_off, range| {
            if range.start == 0 {
                device_offset = dev_off;
            }
            pieces += 1;
            Ok(())
        })?;
        if pieces == 1 && self.dir_cache.lock().get(device_offset, buf) {
            return Ok(());
        }
        self.read_spans(spans, offset, buf)?;
        if pieces == 1 {
            self.dir_cache.lock().insert(device_offset, buf);
        }
        Ok(())
    }

    pub(super) fn write_spans(&self, spans: &[Span], offset: u64, data: &[u8]) -> Result<(), Error> {
        Self::for_each_piece(spans, offset, data.len(), |dev_off, range| {
            Ok(io::write_at(&*self.dev, dev_off, &data[range])?)
        })
    }

    pub(super) fn zero_spans(&self, spans: &[Span], offset: u64, len: u64) -> Result<(), Error> {
        let zeros = vec![0u8; (len.min(ZERO_CHUNK as u64)) as usize];
        let mut done = 0;
        while done < len {
            let n = (len - done).min(ZERO_CHUNK as u64) as usize;
            self.write_spans(spans, offset + done, &zeros[..n])?;
            done += n as u64;
        }
        Ok(())
    }

    /// A file's chain, checked to hold its size.
    pub(super) fn file_runs(&self, st: &mut State, file: &File) -> Result<Vec<Run>, Error> {
        let runs = self.chain_runs(st, file.first_cluster, None)?;
        let chain_bytes: u64 =
            runs.iter().map(|r| u64::from(r.count)).sum::<u64>() * u64::from(self.geo.bytes_per_cluster);
        if chain_bytes < file.size() {
            return Err(Error::ChainTooShort {
                first_cluster: file.first_cluster,
                size: file.size(),
                chain_bytes,
            });
        }
        Ok(runs)
    }

    /// Grows or shrinks a file's chain to hold `size` bytes exactly.
    pub(super) fn resize_chain(&self, st: &mut State, file: &mut File, size: u64) -> Result<(), Error> {
        let bpc = u64::from(self.geo.bytes_per_cluster);
        let need = size.div_ceil(bpc) as u32;
        let mut runs = match file.runs.take() {
            Some(r) => r,
            None => self.file_runs(st, file)?,
        };
        let have: u32 = runs.iter().map(|r| r.count).sum();
        if need > have {
            let last = runs.last().map(|r| r.first + r.count - 1);
            let new = self.allocate(st, need - have, last)?;
            if last.is_none() {
                if let Some(&first) = new.first() {
                    file.set_first_cluster(first);
                }
            }
            for c in new {
                match runs.last_mut() {
                    Some(r) if r.first + r.count == c => r.count += 1,
                    _ => runs.push(Run { first: c, count: 1 }),
                }
            }
        } else if need < have {
            let mut kept = 0u32;
            let mut cut = Vec::new();
            let mut keep_runs = Vec::new();
            for r in runs {
                if kept >= need {
                    cut.push(r);
                } else if kept + r.count <= need {
                    kept += r.count;
                    keep_runs.push(r);
                } else {
                    let k = need - kept;
                    keep_runs.push(Run {
                        first: r.first,
                        count: k,
                    });
                    cut.push(Run {
                        first: r.first + k,
                        count: r.count - k,
                    });
                    kept = need;
                }
            }
            match keep_runs.last() {
                Some(r) => self.set_end_of_chain(st, r.first + r.count - 1)?,
                None => file.set_first_cluster(0),
            }
            self.release(st, &cut)?;
            runs = keep_runs;
        }
        file.runs = Some(runs);
        Ok(())
    }
}
