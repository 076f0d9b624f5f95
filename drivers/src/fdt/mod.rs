//! The flattened device tree (Devicetree Specification v0.4, chapter 5: header
//! §5.2, memory reservation block §5.3, structure block §5.4, strings block §5.5),
//! read in place without allocating, and the standard properties the firmware
//! needs (§2.3: `compatible`, `reg`, `ranges`, `#address-cells`, `#size-cells`;
//! §3.4 `/memory`, §3.5 `/reserved-memory`, §3.6 `/chosen`) plus the PCI host
//! bridge `ranges` encoding (IEEE 1275 PCI bus binding §2.2.1.1).
//!
//! [`Fdt::new`] checks the whole blob once (header, token stream, names,
//! property bounds, nesting), so the iterators afterwards cannot go out of
//! bounds; on anything unexpected they simply end.
#![forbid(unsafe_code)]

use core::fmt;

#[cfg(test)]
mod tests;

/// `magic` of the header, big endian.
pub const FDT_MAGIC: u32 = 0xd00d_feed;
/// Size of the version 17 header.
pub const FDT_HEADER_SIZE: usize = 40;
/// The oldest layout this reader understands (`last_comp_version` ≤ 17).
const FDT_VERSION: u32 = 17;

const FDT_BEGIN_NODE: u32 = 0x1;
const FDT_END_NODE: u32 = 0x2;
const FDT_PROP: u32 = 0x3;
const FDT_NOP: u32 = 0x4;
const FDT_END: u32 = 0x9;

/// Deepest nesting accepted; real trees are 4 or 5 levels deep.
pub const MAX_DEPTH: usize = 16;

/// `#address-cells` and `#size-cells` when a node does not say (§2.3.5).
const DEFAULT_ADDRESS_CELLS: u32 = 2;
const DEFAULT_SIZE_CELLS: u32 = 1;

/// Why a blob is not a usable device tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The blob is shorter than its header or `totalsize` says.
    Truncated {
        /// The bytes needed.
        need: usize,
        /// The bytes there are.
        have: usize,
    },
    /// The header's magic is not 0xd00dfeed.
    BadMagic {
        /// The magic found.
        found: u32,
    },
    /// `last_comp_version` is newer than the version 17 this reader knows.
    UnsupportedVersion {
        /// The header's `last_comp_version`.
        last_compatible: u32,
    },
    /// A block the header locates lies outside the blob.
    BlockOutOfBounds {
        /// Which block (structure, strings, memory reservations).
        block: &'static str,
        /// Its offset.
        offset: usize,
        /// Its size.
        size: usize,
    },
    /// A structure token that is not one of the five.
    BadToken {
        /// The token.
        token: u32,
        /// Where it is.
        offset: usize,
    },
    /// A node or property name with no NUL within its block.
    UnterminatedName {
        /// Where it starts.
        offset: usize,
    },
    /// A property whose value or name offset lies outside its block.
    PropertyOutOfBounds {
        /// Where the property starts.
        offset: usize,
    },
    /// Nodes nested deeper than this reader follows.
    TooDeep {
        /// Where the too-deep node starts.
        offset: usize,
    },
    /// Nodes are not closed as they were opened.
    Unbalanced,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated { need, have } => {
                write!(f, "device tree truncated: {need} bytes needed, {have} present")
            }
            Error::BadMagic { found } => write!(f, "device tree magic is {found:#x}, expected {FDT_MAGIC:#x}"),
            Error::UnsupportedVersion { last_compatible } => {
                write!(f, "device tree needs a reader of version {last_compatible}")
            }
            Error::BlockOutOfBounds { block, offset, size } => {
                write!(
                    f,
                    "device tree {block} block at {offset:#x}+{size:#x} is outside the blob"
                )
            }
            Error::BadToken { token, offset } => write!(f, "device tree token {token:#x} at {offset:#x} is unknown"),
            Error::UnterminatedName { offset } => write!(f, "device tree name at {offset:#x} is unterminated"),
            Error::PropertyOutOfBounds { offset } => {
                write!(f, "device tree property at {offset:#x} runs past its block")
            }
            Error::TooDeep { offset } => {
                write!(f, "device tree node at {offset:#x} is nested deeper than {MAX_DEPTH}")
            }
            Error::Unbalanced => write!(f, "device tree nodes are not properly closed"),
        }
    }
}

fn be32(bytes: &[u8], offset: usize) -> Option<u32> {
    let b = bytes.get(offset..offset.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be64(bytes: &[u8], offset: usize) -> Option<u64> {
    Some(u64::from(be32(bytes, offset)?) << 32 | u64::from(be32(bytes, offset + 4)?))
}

/// The NUL-terminated string at `offset`, without the NUL.
fn c_str(bytes: &[u8], offset: usize) -> Option<&[u8]> {
    let rest = bytes.get(offset..)?;
    let len = rest.iter().position(|&b| b == 0)?;
    Some(&rest[..len])
}

fn align4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// The `totalsize` field of a header: how many bytes to read for the whole tree.
pub fn total_size(header: &[u8]) -> Result<usize, Error> {
    let magic = be32(header, 0).ok_or(Error::Truncated {
        need: 8,
        have: header.len(),
    })?;
    if magic != FDT_MAGIC {
        return Err(Error::BadMagic { found: magic });
    }
    be32(header, 4).map(|n| n as usize).ok_or(Error::Truncated {
        need: 8,
        have: header.len(),
    })
}

/// One `/memreserve/` entry (§5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// The reserved range's first byte.
    pub address: u64,
    /// Its length in bytes.
    pub size: u64,
}

/// A checked device tree.
#[derive(Clone, Copy)]
pub struct Fdt<'a> {
    blob: &'a [u8],
    structure: &'a [u8],
    strings: &'a [u8],
    reservations: &'a [u8],
}

/// One token of the structure block and the offset of the next.
enum Token<'a> {
    BeginNode { name: &'a [u8] },
    EndNode,
    Property { name_offset: u32, value: &'a [u8] },
    Nop,
    End,
}

impl<'a> Fdt<'a> {
    /// Checks `blob` (at least `totalsize` bytes) and returns a reader for it.
    pub fn new(blob: &'a [u8]) -> Result<Fdt<'a>, Error> {
        if blob.len() < FDT_HEADER_SIZE {
            return Err(Error::Truncated {
                need: FDT_HEADER_SIZE,
                have: blob.len(),
            });
        }
        let field = |i: usize| be32(blob, i * 4).unwrap_or(0) as usize;
        let total = total_size(blob)?;
        if total > blob.len() {
            return Err(Error::Truncated {
                need: total,
                have: blob.len(),
            });
        }
        let blob = &blob[..total];
        let last_compatible = field(6) as u32;
        if last_compatible > FDT_VERSION {
            return Err(Error::UnsupportedVersion { last_compatible });
        }
        let block = |block: &'static str, offset: usize, size: usize| {
            offset
                .checked_add(size)
                .and_then(|end| blob.get(offset..end))
                .ok_or(Error::BlockOutOfBounds { block, offset, size })
        };
        let structure = block("structure", field(2), field(9))?;
        let strings = block("strings", field(3), field(8))?;
        let rsv_offset = field(4);
        let reservations = block("memory reservation", rsv_offset, total.saturating_sub(rsv_offset))?;
        let fdt = Fdt {
            blob,
            structure,
            strings,
            reservations,
        };
        fdt.check_structure()?;
        Ok(fdt)
    }

    /// The whole blob (`totalsize` bytes).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.blob
    }

    fn token(&self, offset: usize) -> Result<(Token<'a>, usize), Error> {
        let s = self.structure;
        let token = be32(s, offset).ok_or(Error::BadToken { token: 0, offset })?;
        let body = offset + 4;
        Ok(match token {
            FDT_BEGIN_NODE => {
                let name = c_str(s, body).ok_or(Error::UnterminatedName { offset: body })?;
                (Token::BeginNode { name }, align4(body + name.len() + 1))
            }
            FDT_END_NODE => (Token::EndNode, body),
            FDT_PROP => {
                let bad = Error::PropertyOutOfBounds { offset };
                let len = be32(s, body).ok_or(bad)? as usize;
                let name_offset = be32(s, body + 4).ok_or(bad)?;
                let start = body + 8;
                let value = start.checked_add(len).and_then(|end| s.get(start..end)).ok_or(bad)?;
                c_str(self.strings, name_offset as usize).ok_or(bad)?;
                (Token::Property { name_offset, value }, align4(start + len))
            }
            FDT_NOP => (Token::Nop, body),
            FDT_END => (Token::End, body),
            token => return Err(Error::BadToken { token, offset }),
        })
    }

    /// Walks every token once: the iterators rely on what this proves.
    fn check_structure(&self) -> Result<(), Error> {
        let mut offset = 0;
        let mut depth = 0usize;
        let mut seen_root = false;
        loop {
            let (token, next) = self.token(offset)?;
            match token {
                Token::BeginNode { .. } => {
                    if depth == 0 && seen_root {
                        return Err(Error::Unbalanced);
                    }
                    seen_root = true;
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(Error::TooDeep { offset });
                    }
                }
                Token::EndNode => depth = depth.checked_sub(1).ok_or(Error::Unbalanced)?,
                Token::Property { .. } if depth == 0 => return Err(Error::Unbalanced),
                Token::Property { .. } | Token::Nop => {}
                Token::End => {
                    return if depth == 0 && seen_root {
                        Ok(())
                    } else {
                        Err(Error::Unbalanced)
                    };
                }
            }
            offset = next;
        }
    }

    /// The memory reservation block's entries.
    pub fn reservations(&self) -> impl Iterator<Item = Reservation> + 'a {
        let block = self.reservations;
        (0..block.len() / 16)
            .map(move |i| Reservation {
                address: be64(block, i * 16).unwrap_or(0),
                size: be64(block, i * 16 + 8).unwrap_or(0),
            })
            .take_while(|r| r.address != 0 || r.size != 0)
    }

    /// Every node in document order, the root first.
    pub fn nodes(&self) -> Nodes<'a> {
        Nodes {
            fdt: *self,
            offset: 0,
            depth: 0,
            cells: [(DEFAULT_ADDRESS_CELLS, DEFAULT_SIZE_CELLS); MAX_DEPTH + 1],
            path: [&[]; MAX_DEPTH + 1],
        }
    }

    /// The root node.
    pub fn root(&self) -> Option<Node<'a>> {
        self.nodes().next()
    }

    /// The first node whose `compatible` list holds `compatible`.
    pub fn find_compatible(&self, compatible: &str) -> Option<Node<'a>> {
        self.nodes().find(|n| n.is_compatible(compatible))
    }

    /// The node at an absolute `path` such as `/soc/serial@2000`. A component
    /// without a unit address also matches a node with one (§2.2.3).
    pub fn find_path(&self, path: &str) -> Option<Node<'a>> {
        let wanted = path.trim_end_matches('/');
        let components = || wanted.split('/').filter(|c| !c.is_empty());
        let depth = components().count();
        if depth >= MAX_DEPTH {
            return None;
        }
        self.nodes().find(|n| {
            n.depth == depth
                && n.path[2..=depth + 1]
                    .iter()
                    .zip(components())
                    .all(|(name, want)| name_matches(name, want))
        })
    }

    /// The node `/chosen/stdout-path` names (its `:options` suffix dropped).
    pub fn stdout(&self) -> Option<Node<'a>> {
        let chosen = self.find_path("/chosen")?;
        let path = chosen.str_property("stdout-path")?;
        let path = path.split(':').next().unwrap_or(path);
        if path.starts_with('/') {
            self.find_path(path)
        } else {
            // An alias: look it up in /aliases.
            let target = self.find_path("/aliases")?.str_property(path)?;
            self.find_path(target)
        }
    }

    fn string(&self, offset: u32) -> &'a [u8] {
        c_str(self.strings, offset as usize).unwrap_or(&[])
    }
}

fn name_matches(name: &[u8], wanted: &str) -> bool {
    let wanted = wanted.as_bytes();
    name == wanted || (!wanted.contains(&b'@') && name.split(|&b| b == b'@').next() == Some(wanted))
}

/// Iterator over the nodes of a tree.
pub struct Nodes<'a> {
    fdt: Fdt<'a>,
    offset: usize,
    depth: usize,
    /// `cells[d]`: the cells the children of the open node at depth `d` use.
    cells: [(u32, u32); MAX_DEPTH + 1],
    /// Names of the open nodes: the root's (empty) at index 1, a node at
    /// depth `d` at index `d + 1`.
    path: [&'a [u8]; MAX_DEPTH + 1],
}

impl<'a> Iterator for Nodes<'a> {
    type Item = Node<'a>;

    fn next(&mut self) -> Option<Node<'a>> {
        loop {
            let (token, next) = self.fdt.token(self.offset).ok()?;
            self.offset = next;
            match token {
                Token::BeginNode { name } => {
                    self.depth += 1;
                    let depth = self.depth;
                    if depth > MAX_DEPTH {
                        return None;
                    }
                    self.path[depth] = name;
                    let node = Node {
                        fdt: self.fdt,
                        name,
                        depth: depth - 1,
                        address_cells: self.cells[depth - 1].0,
                        size_cells: self.cells[depth - 1].1,
                        properties: next,
                        path: self.path,
                    };
                    let own = (
                        node.u32_property("#address-cells").unwrap_or(DEFAULT_ADDRESS_CELLS),
                        node.u32_property("#size-cells").unwrap_or(DEFAULT_SIZE_CELLS),
                    );
                    self.cells[depth] = own;
                    return Some(node);
                }
                Token::EndNode => self.depth = self.depth.saturating_sub(1),
                Token::Property { .. } | Token::Nop => {}
                Token::End => return None,
            }
        }
    }
}

/// One node: its name, where its properties start, and how its parent encodes
/// addresses (which is how this node's `reg` is read).
#[derive(Clone, Copy)]
pub struct Node<'a> {
    fdt: Fdt<'a>,
    name: &'a [u8],
    /// 0 for the root.
    pub depth: usize,
    /// The parent's `#address-cells`.
    pub address_cells: u32,
    /// The parent's `#size-cells`.
    pub size_cells: u32,
    properties: usize,
    path: [&'a [u8]; MAX_DEPTH + 1],
}

impl<'a> Node<'a> {
    /// The node name with its unit address (`pl011@9000000`), empty for the root.
    pub fn name(&self) -> &'a str {
        core::str::from_utf8(self.name).unwrap_or("")
    }

    /// Every property of this node, as (name, value).
    pub fn properties(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let fdt = self.fdt;
        let mut offset = self.properties;
        core::iter::from_fn(move || loop {
            let (token, next) = fdt.token(offset).ok()?;
            offset = next;
            match token {
                Token::Property { name_offset, value } => return Some((fdt.string(name_offset), value)),
                Token::Nop => {}
                _ => return None,
            }
        })
    }

    /// The value of the property `name`, if the node has it.
    pub fn property(&self, name: &str) -> Option<&'a [u8]> {
        self.properties()
            .find(|(n, _)| *n == name.as_bytes())
            .map(|(_, value)| value)
    }

    /// Whether the node has the property `name`.
    pub fn has_property(&self, name: &str) -> bool {
        self.property(name).is_some()
    }

    /// A string property, without its NUL.
    pub fn str_property(&self, name: &str) -> Option<&'a str> {
        let value = self.property(name)?;
        let value = value.strip_suffix(&[0]).unwrap_or(value);
        core::str::from_utf8(value).ok()
    }

    /// A one-cell (big-endian `u32`) property.
    pub fn u32_property(&self, name: &str) -> Option<u32> {
        let value = self.property(name)?;
        (value.len() == 4).then(|| be32(value, 0)).flatten()
    }

    /// A one- or two-cell number property (`linux,initrd-start`).
    pub fn number_property(&self, name: &str) -> Option<u64> {
        let value = self.property(name)?;
        match value.len() {
            4 => be32(value, 0).map(u64::from),
            8 => be64(value, 0),
            _ => None,
        }
    }

    /// Whether the `compatible` string list holds `compatible`.
    pub fn is_compatible(&self, compatible: &str) -> bool {
        self.property("compatible")
            .is_some_and(|list| list.split(|&b| b == 0).any(|entry| entry == compatible.as_bytes()))
    }

    /// `device_type = "memory"` (§3.4).
    pub fn is_memory(&self) -> bool {
        self.str_property("device_type") == Some("memory")
    }

    /// The `(address, size)` pairs of `reg`, read with the parent's cells.
    /// Addresses are in the parent's bus space; the firmware's machines map
    /// every bus 1:1 (`ranges;` or identity ranges), as QEMU and Cloud Hypervisor do.
    pub fn reg(&self) -> impl Iterator<Item = (u64, u64)> + 'a {
        Cells::new(
            self.property("reg").unwrap_or(&[]),
            [self.address_cells, self.size_cells, 0],
        )
        .map(|c| (c[0] as u64, c[1] as u64))
    }

    /// The first `reg` entry.
    pub fn first_reg(&self) -> Option<(u64, u64)> {
        self.reg().next()
    }

    /// The cells this node's children use: `(#address-cells, #size-cells)`.
    pub fn child_cells(&self) -> (u32, u32) {
        (
            self.u32_property("#address-cells").unwrap_or(DEFAULT_ADDRESS_CELLS),
            self.u32_property("#size-cells").unwrap_or(DEFAULT_SIZE_CELLS),
        )
    }

    /// The direct children of this node (they follow it in document order).
    pub fn children(&self) -> impl Iterator<Item = Node<'a>> + 'a {
        let depth = self.depth;
        let mut nodes = self.fdt.nodes();
        let start = self.properties;
        // Skip to this node: the first node whose properties start where ours do.
        let found = nodes.by_ref().any(|n| n.properties == start);
        nodes
            .take_while(move |n| found && n.depth > depth)
            .filter(move |n| n.depth == depth + 1)
    }

    /// The `bus-range` of a PCI host bridge, `0..=255` when absent.
    pub fn bus_range(&self) -> (u8, u8) {
        match self.property("bus-range") {
            Some(v) if v.len() == 8 => (
                be32(v, 0).unwrap_or(0).min(255) as u8,
                be32(v, 4).unwrap_or(255).min(255) as u8,
            ),
            _ => (0, 255),
        }
    }

    /// The windows of a PCI host bridge's `ranges`.
    pub fn pci_ranges(&self) -> impl Iterator<Item = PciRange> + 'a {
        let (_, size_cells) = self.child_cells();
        Cells::new(
            self.property("ranges").unwrap_or(&[]),
            [PCI_ADDRESS_CELLS, self.address_cells, size_cells],
        )
        .map(PciRange::from_cells)
    }
}

/// A PCI address is three cells: `phys.hi` (space code and flags), then the
/// 64-bit bus address.
const PCI_ADDRESS_CELLS: u32 = 3;
const PCI_SPACE_MASK: u64 = 0x0300_0000;
const PCI_SPACE_IO: u64 = 0x0100_0000;
const PCI_SPACE_MEM32: u64 = 0x0200_0000;
const PCI_SPACE_MEM64: u64 = 0x0300_0000;
const PCI_PREFETCHABLE: u64 = 0x4000_0000;

/// The address space of a PCI window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PciSpace {
    /// Configuration space.
    Config,
    /// I/O space.
    Io,
    /// 32-bit memory space.
    Memory32,
    /// 64-bit memory space.
    Memory64,
}

/// One window of a PCI host bridge: bus addresses `pci_address..+size`
/// appear at `cpu_address` in the CPU's physical address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PciRange {
    /// The window's address space.
    pub space: PciSpace,
    /// Whether the memory is prefetchable.
    pub prefetchable: bool,
    /// The first bus address.
    pub pci_address: u64,
    /// Where that address appears to the CPU.
    pub cpu_address: u64,
    /// The window's size in bytes.
    pub size: u64,
}

impl PciRange {
    fn from_cells(c: [u128; 3]) -> PciRange {
        let phys_hi = (c[0] >> 64) as u64;
        let space = match phys_hi & PCI_SPACE_MASK {
            PCI_SPACE_IO => PciSpace::Io,
            PCI_SPACE_MEM32 => PciSpace::Memory32,
            PCI_SPACE_MEM64 => PciSpace::Memory64,
            _ => PciSpace::Config,
        };
        PciRange {
            space,
            prefetchable: phys_hi & PCI_PREFETCHABLE != 0,
            pci_address: c[0] as u64,
            cpu_address: c[1] as u64,
            size: c[2] as u64,
        }
    }
}

/// Iterator over fixed-shape groups of numbers (`reg`, `ranges`): each group
/// is up to three numbers of the given cell counts (at most four cells each).
pub struct Cells<'a> {
    bytes: &'a [u8],
    shape: [u32; 3],
    offset: usize,
}

impl<'a> Cells<'a> {
    fn new(bytes: &'a [u8], shape: [u32; 3]) -> Cells<'a> {
        Cells {
            bytes,
            shape,
            offset: 0,
        }
    }
}

impl Iterator for Cells<'_> {
    type Item = [u128; 3];

    fn next(&mut self) -> Option<[u128; 3]> {
        if self.shape.iter().any(|&c| c > 4) {
            return None;
        }
        let len: usize = self.shape.iter().map(|&c| c as usize * 4).sum();
        if len == 0 || self.offset.checked_add(len)? > self.bytes.len() {
            return None;
        }
        let mut out = [0u128; 3];
        let mut at = self.offset;
        for (slot, &cells) in out.iter_mut().zip(&self.shape) {
            for _ in 0..cells {
                *slot = *slot << 32 | u128::from(be32(self.bytes, at)?);
                at += 4;
            }
        }
        self.offset += len;
        Some(out)
    }
}
