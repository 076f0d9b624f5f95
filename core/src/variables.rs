//! The EFI variable store (UEFI 2.10 §8.2): GetVariable, GetNextVariableName,
//! SetVariable and QueryVariableInfo semantics over a fixed byte arena.
//!
//! Runtime services keep working after ExitBootServices, when the firmware's heap
//! belongs to the OS. So the store never allocates: it lives in an arena the
//! firmware places in runtime-services memory. Variables are kept for the life of
//! the machine; the non-volatile ones are also kept in a file on the EFI system
//! partition when the firmware has one ([`crate::variable_file`]): they are
//! loaded from it at start ([`VariableStore::load`]) and written out from
//! [`VariableStore::non_volatile`].
//!
//! Each record: name length in UTF-16 units (u16), flags (u16), attributes (u32),
//! vendor GUID (16 bytes), data length (u32), reserved (u32), the time stamp of
//! a time-based authenticated variable (u64, 0 for others, see
//! [`crate::secure_boot::auth_write`]), the name (UTF-16LE, no terminator), the
//! data. Records are packed; deleting one moves the rest down,
//! so enumeration order is creation order.
#![forbid(unsafe_code)]

use crate::variable_file::{self, EntryRef, FileVariable, Refusal};
use core::fmt;
use fw_drivers::bytes::LeFields;
use r_efi::efi;

const HEADER: usize = 40;
const FLAG_READ_ONLY: u16 = 1;
/// Written by an authenticated write: never to the variable file, and
/// changed only by another authenticated write.
const FLAG_AUTHENTICATED: u16 = 2;

/// Attribute bits this store understands.
const KNOWN_ATTRIBUTES: u32 = efi::VARIABLE_NON_VOLATILE
    | efi::VARIABLE_BOOTSERVICE_ACCESS
    | efi::VARIABLE_RUNTIME_ACCESS
    | efi::VARIABLE_HARDWARE_ERROR_RECORD
    | efi::VARIABLE_AUTHENTICATED_WRITE_ACCESS
    | efi::VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS
    | efi::VARIABLE_APPEND_WRITE
    | efi::VARIABLE_ENHANCED_AUTHENTICATED_ACCESS;

/// Largest single variable (name + data) accepted.
pub const MAX_VARIABLE_SIZE: usize = 32 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// Why a variable service failed; [`VariableError::status`] gives the EFI status.
pub enum VariableError {
    /// No variable of that name and GUID.
    NotFound,
    /// The caller's buffer is too small; `needed` bytes are required.
    BufferTooSmall {
        /// The bytes the data (or name) needs.
        needed: usize,
    },
    /// Empty name, or a name that is not an existing variable (GetNextVariableName).
    InvalidName,
    /// Unknown bits, or RUNTIME_ACCESS without BOOTSERVICE_ACCESS.
    BadAttributes {
        /// The attributes given.
        attributes: u32,
    },
    /// Rewriting a variable with other attributes.
    AttributeMismatch {
        /// The attributes the variable has.
        existing: u32,
        /// The attributes the caller gave.
        requested: u32,
    },
    /// A variable the firmware owns (SecureBoot, SetupMode, ...).
    WriteProtected,
    /// Authenticated writes need a signature check this firmware does not do.
    AuthenticationUnsupported,
    /// The variable is too large, or the store is full.
    OutOfResources,
    /// After ExitBootServices, only RUNTIME_ACCESS variables exist.
    NotRuntimeAccessible,
}

impl VariableError {
    /// The status the specification names for this error.
    pub fn status(&self) -> efi::Status {
        match self {
            VariableError::NotFound | VariableError::NotRuntimeAccessible => efi::Status::NOT_FOUND,
            VariableError::BufferTooSmall { .. } => efi::Status::BUFFER_TOO_SMALL,
            VariableError::InvalidName
            | VariableError::BadAttributes { .. }
            | VariableError::AttributeMismatch { .. } => efi::Status::INVALID_PARAMETER,
            VariableError::WriteProtected => efi::Status::WRITE_PROTECTED,
            VariableError::AuthenticationUnsupported => efi::Status::SECURITY_VIOLATION,
            VariableError::OutOfResources => efi::Status::OUT_OF_RESOURCES,
        }
    }
}

impl fmt::Display for VariableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VariableError::NotFound => write!(f, "variable not found"),
            VariableError::BufferTooSmall { needed } => {
                write!(f, "buffer too small, {needed} bytes needed")
            }
            VariableError::InvalidName => write!(f, "invalid variable name"),
            VariableError::BadAttributes { attributes } => {
                write!(f, "invalid attributes {attributes:#x}")
            }
            VariableError::AttributeMismatch { existing, requested } => {
                write!(f, "variable exists with attributes {existing:#x}, not {requested:#x}")
            }
            VariableError::WriteProtected => write!(f, "variable is read-only"),
            VariableError::AuthenticationUnsupported => {
                write!(f, "authenticated variables are not supported")
            }
            VariableError::OutOfResources => write!(f, "variable store is full"),
            VariableError::NotRuntimeAccessible => write!(f, "variable not accessible at runtime"),
        }
    }
}

/// Where a record starts in the arena, and its fields.
#[derive(Clone, Copy, Debug)]
struct Record {
    offset: usize,
    name_units: usize,
    flags: u16,
    attributes: u32,
    data_len: usize,
}

impl Record {
    fn len(&self) -> usize {
        HEADER + self.name_units * 2 + self.data_len
    }
    fn name_range(&self) -> core::ops::Range<usize> {
        let start = self.offset + HEADER;
        start..start + self.name_units * 2
    }
    fn data_range(&self) -> core::ops::Range<usize> {
        let start = self.offset + HEADER + self.name_units * 2;
        start..start + self.data_len
    }
}

/// What [`VariableStore::load`] did with a file's variables.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadSummary {
    /// Variables that entered the store.
    pub loaded: usize,
    /// Variables that did not.
    pub refused: usize,
    /// Why the first refused one was refused.
    pub first_refusal: Option<LoadRefusal>,
}

/// Why a variable of the file did not enter the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadRefusal {
    /// A Secure Boot key or an authenticated variable: never from a file.
    Authenticated,
    /// A volatile variable in a file of non-volatile ones.
    Volatile,
    /// The store refused it as it would refuse SetVariable (bad attributes,
    /// full).
    Store(VariableError),
}

/// What QueryVariableInfo reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreInfo {
    /// Bytes the store holds in all.
    pub maximum_storage: u64,
    /// Bytes still free.
    pub remaining_storage: u64,
    /// The largest variable (name and data) accepted.
    pub maximum_variable_size: u64,
}

/// The variables, packed into an arena of bytes that the runtime services can reach.
pub struct VariableStore<A> {
    arena: A,
    used: usize,
}

/// A name without its terminating NUL (and anything after one).
fn trim_name(name: &[u16]) -> &[u16] {
    match name.iter().position(|&c| c == 0) {
        Some(end) => &name[..end],
        None => name,
    }
}

/// The records of a store, in order (a plain iterator, so it can be cloned).
#[derive(Clone)]
struct Records<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl Iterator for Records<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        let (bytes, offset) = (self.bytes, self.offset);
        if offset + HEADER > bytes.len() {
            return None;
        }
        let record = Record {
            offset,
            name_units: bytes.u16_le(offset)? as usize,
            flags: bytes.u16_le(offset + 2)?,
            attributes: bytes.u32_le(offset + 4)?,
            data_len: bytes.u32_le(offset + 24)? as usize,
        };
        self.offset += record.len();
        Some(record)
    }
}

impl<A: AsRef<[u8]> + AsMut<[u8]>> VariableStore<A> {
    /// An empty store in `arena`.
    pub fn new(arena: A) -> Self {
        VariableStore { arena, used: 0 }
    }

    fn bytes(&self) -> &[u8] {
        &self.arena.as_ref()[..self.used]
    }

    fn records(&self) -> Records<'_> {
        Records {
            bytes: self.bytes(),
            offset: 0,
        }
    }

    fn guid_of(&self, r: &Record) -> efi::Guid {
        let mut g = [0u8; 16];
        g.copy_from_slice(&self.bytes()[r.offset + 8..r.offset + 24]);
        efi::Guid::from_bytes(&g)
    }

    fn name_matches(&self, r: &Record, name: &[u16]) -> bool {
        r.name_units == name.len()
            && self.bytes()[r.name_range()]
                .chunks_exact(2)
                .zip(name)
                .all(|(b, &c)| u16::from_le_bytes([b[0], b[1]]) == c)
    }

    fn find(&self, name: &[u16], guid: &efi::Guid) -> Option<Record> {
        self.records()
            .find(|r| self.guid_of(r) == *guid && self.name_matches(r, name))
    }

    fn visible(r: &Record, runtime: bool) -> bool {
        !runtime || r.attributes & efi::VARIABLE_RUNTIME_ACCESS != 0
    }

    /// GetVariable: the attributes and data of a variable. `runtime` is true
    /// after ExitBootServices.
    pub fn get(&self, name: &[u16], guid: &efi::Guid, runtime: bool) -> Result<(u32, &[u8]), VariableError> {
        let name = trim_name(name);
        if name.is_empty() {
            return Err(VariableError::InvalidName);
        }
        let r = self.find(name, guid).ok_or(VariableError::NotFound)?;
        if !Self::visible(&r, runtime) {
            return Err(VariableError::NotRuntimeAccessible);
        }
        Ok((r.attributes, &self.bytes()[r.data_range()]))
    }

    /// GetNextVariableName: writes the name after `name`/`guid` (the first one
    /// for an empty name) with its NUL into `out`, and returns its GUID.
    pub fn next_name(
        &self,
        name: &[u16],
        guid: &efi::Guid,
        runtime: bool,
        out: &mut [u16],
    ) -> Result<efi::Guid, VariableError> {
        let name = trim_name(name);
        let mut candidates = self.records().filter(|r| Self::visible(r, runtime));
        if !name.is_empty() {
            // Skip up to and including the current one; it must exist.
            candidates
                .by_ref()
                .find(|r| self.guid_of(r) == *guid && self.name_matches(r, name))
                .ok_or(VariableError::InvalidName)?;
        }
        let next = candidates.next().ok_or(VariableError::NotFound)?;
        let needed = next.name_units + 1;
        if out.len() < needed {
            return Err(VariableError::BufferTooSmall { needed: needed * 2 });
        }
        for (slot, b) in out.iter_mut().zip(self.bytes()[next.name_range()].chunks_exact(2)) {
            *slot = u16::from_le_bytes([b[0], b[1]]);
        }
        out[next.name_units] = 0;
        Ok(self.guid_of(&next))
    }

    /// SetVariable from an application. Empty `data` without APPEND_WRITE deletes.
    pub fn set(
        &mut self,
        name: &[u16],
        guid: &efi::Guid,
        attributes: u32,
        data: &[u8],
        runtime: bool,
    ) -> Result<(), VariableError> {
        let name = trim_name(name);
        if name.is_empty() {
            return Err(VariableError::InvalidName);
        }
        if attributes & !KNOWN_ATTRIBUTES != 0 {
            return Err(VariableError::BadAttributes { attributes });
        }
        if attributes
            & (efi::VARIABLE_AUTHENTICATED_WRITE_ACCESS
                | efi::VARIABLE_TIME_BASED_AUTHENTICATED_WRITE_ACCESS
                | efi::VARIABLE_ENHANCED_AUTHENTICATED_ACCESS)
            != 0
        {
            return Err(VariableError::AuthenticationUnsupported);
        }
        // PK, KEK, db and dbx change only through authenticated writes
        // (`crate::secure_boot::authenticated`): as edk2, a write without
        // the time-based attribute is an invalid parameter.
        if crate::secure_boot::keys::is_key_variable(name, guid) {
            return Err(VariableError::BadAttributes { attributes });
        }
        let append = attributes & efi::VARIABLE_APPEND_WRITE != 0;
        let stored_attributes = attributes & !efi::VARIABLE_APPEND_WRITE;
        let existing = self.find(name, guid);
        if let Some(r) = existing {
            if r.flags & FLAG_READ_ONLY != 0 {
                return Err(VariableError::WriteProtected);
            }
            // Only an authenticated write changes it (`secure_boot::auth_write`).
            if r.flags & FLAG_AUTHENTICATED != 0 {
                return Err(VariableError::BadAttributes { attributes });
            }
            if runtime && !Self::visible(&r, runtime) {
                return Err(VariableError::NotFound);
            }
        }
        // Runtime access implies boot-services access (UEFI 2.10 §8.2.3): a
        // request with RUNTIME_ACCESS alone is an invalid combination of
        // attribute bits, not a request without access attributes.
        if stored_attributes & efi::VARIABLE_RUNTIME_ACCESS != 0
            && stored_attributes & efi::VARIABLE_BOOTSERVICE_ACCESS == 0
        {
            return Err(VariableError::BadAttributes { attributes });
        }
        let deleting = !append && (data.is_empty() || stored_attributes & efi::VARIABLE_BOOTSERVICE_ACCESS == 0);
        if deleting {
            let r = existing.ok_or(VariableError::NotFound)?;
            if stored_attributes != 0 && stored_attributes != r.attributes {
                return Err(VariableError::AttributeMismatch {
                    existing: r.attributes,
                    requested: stored_attributes,
                });
            }
            self.remove(r);
            return Ok(());
        }
        if runtime && stored_attributes & efi::VARIABLE_RUNTIME_ACCESS == 0 {
            return Err(VariableError::BadAttributes { attributes });
        }
        match existing {
            Some(r) if r.attributes != stored_attributes => Err(VariableError::AttributeMismatch {
                existing: r.attributes,
                requested: stored_attributes,
            }),
            Some(r) if append => {
                if data.is_empty() {
                    return Ok(());
                }
                let old_len = r.data_len;
                self.replace(r, name, guid, stored_attributes, 0, &[], Some((r, old_len)), data)
            }
            Some(r) => self.replace(r, name, guid, stored_attributes, 0, data, None, &[]),
            None if append && data.is_empty() => Ok(()),
            None => self.insert(name, guid, stored_attributes, 0, data),
        }
    }

    /// Creates or replaces a variable the firmware owns; applications cannot
    /// change it.
    pub fn set_read_only(
        &mut self,
        name: &[u16],
        guid: &efi::Guid,
        attributes: u32,
        data: &[u8],
    ) -> Result<(), VariableError> {
        let name = trim_name(name);
        if name.is_empty() {
            return Err(VariableError::InvalidName);
        }
        if let Some(r) = self.find(name, guid) {
            self.remove(r);
        }
        self.insert(name, guid, attributes, FLAG_READ_ONLY, data)
    }

    /// A variable whatever its flags and visibility, with its time stamp:
    /// what an authenticated write is checked against.
    pub fn authenticated(&self, name: &[u16], guid: &efi::Guid) -> Option<(u32, &[u8], u64)> {
        let r = self.find(trim_name(name), guid)?;
        let timestamp = self.bytes().u64_le(r.offset + 32)?;
        Some((r.attributes, &self.bytes()[r.data_range()], timestamp))
    }

    /// Creates or replaces a variable after an authenticated write was
    /// checked (whatever flags it had), with its new `timestamp`; empty
    /// `data` deletes it. Such variables never go to the variable file.
    pub fn set_authenticated(
        &mut self,
        name: &[u16],
        guid: &efi::Guid,
        attributes: u32,
        data: &[u8],
        timestamp: u64,
    ) -> Result<(), VariableError> {
        let name = trim_name(name);
        if name.is_empty() {
            return Err(VariableError::InvalidName);
        }
        let existing = self.find(name, guid);
        if data.is_empty() {
            self.remove(existing.ok_or(VariableError::NotFound)?);
            return Ok(());
        }
        let offset = match existing {
            Some(r) => {
                self.replace(r, name, guid, attributes, FLAG_AUTHENTICATED, data, None, &[])?;
                r.offset
            }
            None => {
                let at = self.used;
                self.insert(name, guid, attributes, FLAG_AUTHENTICATED, data)?;
                at
            }
        };
        self.arena.as_mut()[offset + 32..offset + 40].copy_from_slice(&timestamp.to_le_bytes());
        Ok(())
    }

    /// QueryVariableInfo (UEFI 2.10 §8.2.4) for variables with `attributes`.
    /// Volatile and non-volatile variables share one arena, so both are
    /// answered with its real capacity and free space. Invalid combinations
    /// (none of the access bits, runtime access without boot-services access,
    /// after ExitBootServices anything without runtime access) are refused;
    /// hardware error records and the older authenticated variables (count-based,
    /// enhanced) are not supported.
    pub fn info(&self, attributes: u32, runtime: bool) -> Result<StoreInfo, VariableError> {
        let bs = efi::VARIABLE_BOOTSERVICE_ACCESS;
        let rt = efi::VARIABLE_RUNTIME_ACCESS;
        if attributes & !KNOWN_ATTRIBUTES != 0
            || attributes & (efi::VARIABLE_NON_VOLATILE | bs | rt) == 0
            || (attributes & rt != 0 && attributes & bs == 0)
            || (runtime && attributes & rt == 0)
        {
            return Err(VariableError::BadAttributes { attributes });
        }
        // Time-based authenticated variables (the Secure Boot keys) share
        // the arena too; Linux asks before it writes one.
        if attributes
            & (efi::VARIABLE_HARDWARE_ERROR_RECORD
                | efi::VARIABLE_AUTHENTICATED_WRITE_ACCESS
                | efi::VARIABLE_ENHANCED_AUTHENTICATED_ACCESS)
            != 0
        {
            return Err(VariableError::AuthenticationUnsupported);
        }
        let capacity = self.arena.as_ref().len();
        Ok(StoreInfo {
            maximum_storage: capacity as u64,
            remaining_storage: (capacity - self.used) as u64,
            maximum_variable_size: MAX_VARIABLE_SIZE as u64,
        })
    }

    /// The non-volatile variables applications wrote (not the firmware's own
    /// read-only ones), in enumeration order: what the variable file holds.
    pub fn non_volatile(&self) -> impl Iterator<Item = EntryRef<'_>> + Clone + '_ {
        self.records()
            .filter(|r| {
                r.attributes & efi::VARIABLE_NON_VOLATILE != 0 && r.flags & (FLAG_READ_ONLY | FLAG_AUTHENTICATED) == 0
            })
            .map(|r| EntryRef {
                name_le: &self.bytes()[r.name_range()],
                guid: self.guid_of(&r),
                attributes: r.attributes,
                time: 0,
                data: &self.bytes()[r.data_range()],
            })
    }

    /// Whether `name`/`guid` exists and is non-volatile.
    pub fn is_non_volatile(&self, name: &[u16], guid: &efi::Guid) -> bool {
        self.find(trim_name(name), guid)
            .is_some_and(|r| r.attributes & efi::VARIABLE_NON_VOLATILE != 0)
    }

    /// Takes the variables of a variable file that may enter the store (see
    /// [`variable_file::admissible`]), as SetVariable would store them.
    pub fn load(&mut self, variables: &[FileVariable<'_>]) -> LoadSummary {
        let mut summary = LoadSummary::default();
        for v in variables {
            let result = match variable_file::admissible(v) {
                Err(Refusal::Authenticated) => Err(LoadRefusal::Authenticated),
                Err(Refusal::Volatile) => Err(LoadRefusal::Volatile),
                Ok(()) => self
                    .set(&v.name, &v.guid, v.attributes, v.data, false)
                    .map_err(LoadRefusal::Store),
            };
            match result {
                Ok(()) => summary.loaded += 1,
                Err(reason) => {
                    if summary.first_refusal.is_none() {
                        summary.first_refusal = Some(reason);
                    }
                    summary.refused += 1;
                }
            }
        }
        summary
    }

    fn remove(&mut self, r: Record) {
        let end = r.offset + r.len();
        let used = self.used;
        self.arena.as_mut().copy_within(end..used, r.offset);
        self.used -= r.len();
    }

    fn check_space(&self, name: &[u16], data_len: usize, freed: usize) -> Result<(), VariableError> {
        let size = name.len() * 2 + data_len;
        if size > MAX_VARIABLE_SIZE || name.len() > u16::MAX as usize {
            return Err(VariableError::OutOfResources);
        }
        if self.used - freed + HEADER + size > self.arena.as_ref().len() {
            return Err(VariableError::OutOfResources);
        }
        Ok(())
    }

    fn insert(
        &mut self,
        name: &[u16],
        guid: &efi::Guid,
        attributes: u32,
        flags: u16,
        data: &[u8],
    ) -> Result<(), VariableError> {
        self.check_space(name, data.len(), 0)?;
        let at = self.used;
        let bytes = self.arena.as_mut();
        bytes[at..at + 2].copy_from_slice(&(name.len() as u16).to_le_bytes());
        bytes[at + 2..at + 4].copy_from_slice(&flags.to_le_bytes());
        bytes[at + 4..at + 8].copy_from_slice(&attributes.to_le_bytes());
        bytes[at + 8..at + 24].copy_from_slice(guid.as_bytes());
        bytes[at + 24..at + 28].copy_from_slice(&(data.len() as u32).to_le_bytes());
        bytes[at + 28..at + 40].copy_from_slice(&[0; 12]);
        let mut p = at + HEADER;
        for c in name {
            bytes[p..p + 2].copy_from_slice(&c.to_le_bytes());
            p += 2;
        }
        bytes[p..p + data.len()].copy_from_slice(data);
        self.used = p + data.len();
        Ok(())
    }

    /// Replaces record `r` by one with `data` (or, when appending, the old data
    /// followed by `tail`), keeping its place in the enumeration order.
    #[allow(clippy::too_many_arguments)]
    fn replace(
        &mut self,
        r: Record,
        name: &[u16],
        guid: &efi::Guid,
        attributes: u32,
        flags: u16,
        data: &[u8],
        appending: Option<(Record, usize)>,
        tail: &[u8],
    ) -> Result<(), VariableError> {
        let new_len = match appending {
            Some((_, old)) => old + tail.len(),
            None => data.len(),
        };
        self.check_space(name, new_len, r.len())?;
        // Move the records after `r` to make the exact room needed, then rewrite in place.
        let old_end = r.offset + r.len();
        let new_end = r.offset + HEADER + name.len() * 2 + new_len;
        let used = self.used;
        let bytes = self.arena.as_mut();
        if appending.is_some() {
            // Data grows at the end of the record: shift what follows, then write the tail.
            bytes.copy_within(old_end..used, new_end);
            bytes[old_end..old_end + tail.len()].copy_from_slice(tail);
        } else {
            bytes.copy_within(old_end..used, new_end);
            let data_start = r.offset + HEADER + name.len() * 2;
            bytes[data_start..data_start + data.len()].copy_from_slice(data);
        }
        bytes[r.offset + 2..r.offset + 4].copy_from_slice(&flags.to_le_bytes());
        bytes[r.offset + 4..r.offset + 8].copy_from_slice(&attributes.to_le_bytes());
        bytes[r.offset + 8..r.offset + 24].copy_from_slice(guid.as_bytes());
        bytes[r.offset + 24..r.offset + 28].copy_from_slice(&(new_len as u32).to_le_bytes());
        self.used = used - old_end + new_end;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
