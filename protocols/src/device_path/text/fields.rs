//! Reading a node's fields in order; a node must hold exactly its fields for
//! its kind's text to be used ([`Fields::end`]).
#![forbid(unsafe_code)]

/// A cursor over a node's data.
pub(crate) struct Fields<'a> {
    data: &'a [u8],
}

impl<'a> Fields<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Fields<'a> {
        Fields { data }
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.data.split_first_chunk::<N>()?;
        self.data = rest;
        Some(*head)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|[b]| b)
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_le_bytes)
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }

    /// Everything not read yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.data)
    }

    /// `Some` when every byte was read.
    pub(crate) fn end(&self) -> Option<()> {
        self.data.is_empty().then_some(())
    }
}
