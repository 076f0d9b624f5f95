//! Finding handles: UEFI 2.10 §7.3.5 `RegisterProtocolNotify`, §7.3.6
//! `LocateHandle`, §7.3.8 `LocateDevicePath`, §7.3.15 `LocateHandleBuffer` and
//! §7.3.18 `LocateProtocol`.

use alloc::vec::Vec;

use log::debug;
use r_efi::efi::Guid;
use r_efi::protocols::device_path;

use super::database::Registration;
use super::device_path as path;
use super::{Database, Error, EventId, HandleId, Interface, RegistrationId};

/// The `SearchType` of `LocateHandle` with its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Search {
    /// `AllHandles`: every handle.
    AllHandles,
    /// `ByProtocol`: the handles with this protocol.
    ByProtocol(Guid),
    /// `ByRegisterNotify`: the next handle this registration was notified of.
    ByRegisterNotify(RegistrationId),
}

/// What `LocateDevicePath` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathMatch {
    /// The handle whose device path is the longest prefix.
    pub handle: HandleId,
    /// How many bytes of the caller's path that device path covers; the thunk
    /// advances the caller's pointer by this much.
    pub consumed: usize,
}

impl Database {
    /// `RegisterProtocolNotify` (§7.3.5): `event` is to be signalled whenever `guid` is
    /// installed or reinstalled from now on.
    pub fn register_protocol_notify(&mut self, guid: Guid, event: EventId) -> Result<RegistrationId, Error> {
        let raw = self.registration_ids.allocate().ok_or(Error::OutOfIds)?;
        let registration = RegistrationId(raw);
        self.registrations.insert(
            registration,
            Registration {
                guid,
                event,
                position: self.sequence,
            },
        );
        debug!("handles: {registration} for event {:#x}", event.0);
        Ok(registration)
    }

    /// Drops one registration.
    pub fn unregister_protocol_notify(&mut self, registration: RegistrationId) -> Result<(), Error> {
        self.registrations
            .remove(&registration)
            .map(|_| ())
            .ok_or(Error::UnknownRegistration { registration })
    }

    /// Drops every registration of `event` (for `CloseEvent`, §7.1.3).
    pub fn unregister_event(&mut self, event: EventId) {
        self.registrations.retain(|_, registration| registration.event != event);
    }

    /// The oldest installation `registration` has not returned yet:
    /// (handle, interface, sequence).
    fn next_notified(&self, registration: RegistrationId) -> Result<Option<(HandleId, Interface, u64)>, Error> {
        let Registration { guid, position, .. } = self
            .registrations
            .get(&registration)
            .ok_or(Error::UnknownRegistration { registration })?;
        let mut best: Option<(HandleId, Interface, u64)> = None;
        for (&handle, entry) in &self.handles {
            if let Some(protocol) = entry.protocol(guid) {
                if protocol.sequence > *position && best.is_none_or(|(_, _, sequence)| protocol.sequence < sequence) {
                    best = Some((handle, protocol.interface, protocol.sequence));
                }
            }
        }
        Ok(best)
    }

    fn consume_notified(&mut self, registration: RegistrationId) -> Result<(HandleId, Interface), Error> {
        let (handle, interface, sequence) = self.next_notified(registration)?.ok_or(Error::NothingFound)?;
        if let Some(entry) = self.registrations.get_mut(&registration) {
            entry.position = sequence;
        }
        Ok((handle, interface))
    }

    /// The handle `ByRegisterNotify` would return next, without consuming it (for
    /// the thunk's `EFI_BUFFER_TOO_SMALL` path, which must not advance).
    pub fn peek_notified(&self, registration: RegistrationId) -> Result<HandleId, Error> {
        self.next_notified(registration)?
            .map(|(handle, _, _)| handle)
            .ok_or(Error::NothingFound)
    }

    /// `LocateHandle` (§7.3.6) and `LocateHandleBuffer` (§7.3.15): matching handles
    /// in creation order, [`Error::NothingFound`] (NOT_FOUND) when there are none.
    /// `ByRegisterNotify` returns one handle at a time, each installation once, and
    /// consumes it.
    pub fn locate_handle(&mut self, search: Search) -> Result<Vec<HandleId>, Error> {
        let handles: Vec<HandleId> = match search {
            Search::AllHandles => self.all_handles(),
            Search::ByProtocol(guid) => self
                .handles
                .iter()
                .filter(|(_, entry)| entry.protocol(&guid).is_some())
                .map(|(&handle, _)| handle)
                .collect(),
            Search::ByRegisterNotify(registration) => {
                let (handle, _) = self.consume_notified(registration)?;
                alloc::vec![handle]
            }
        };
        if handles.is_empty() {
            return Err(Error::NothingFound);
        }
        Ok(handles)
    }

    /// `LocateProtocol` (§7.3.18): the interface of `guid` on the first handle that
    /// has it, or with a registration the next installation that registration has not
    /// returned (consuming it; `guid` is then the registration's).
    pub fn locate_protocol(&mut self, guid: &Guid, registration: Option<RegistrationId>) -> Result<Interface, Error> {
        if let Some(registration) = registration {
            return self.consume_notified(registration).map(|(_, interface)| interface);
        }
        self.handles
            .values()
            .find_map(|entry| entry.protocol(guid))
            .map(|protocol| protocol.interface)
            .ok_or(Error::NothingFound)
    }

    /// `LocateDevicePath` (§7.3.8): among the handles with `guid` and a device path,
    /// the one whose device path is the longest prefix of the first instance of
    /// `path`. `device_path_of` reads the device path at an interface address
    /// (`None` when it cannot be read; such handles are skipped).
    pub fn locate_device_path<'a>(
        &self,
        guid: &Guid,
        path: &[u8],
        mut device_path_of: impl FnMut(Interface) -> Option<&'a [u8]>,
    ) -> Result<PathMatch, Error> {
        let wanted = path::first_instance(path).map_err(Error::MalformedDevicePath)?;
        let mut best: Option<PathMatch> = None;
        for (&handle, entry) in &self.handles {
            if entry.protocol(guid).is_none() {
                continue;
            }
            let Some(candidate) = entry.protocol(&device_path::PROTOCOL_GUID) else {
                continue;
            };
            let Some(candidate) = device_path_of(candidate.interface) else {
                continue;
            };
            let candidate = match path::body(candidate) {
                Ok(candidate) => candidate,
                Err(error) => {
                    debug!("handles: skipping bad device path on {handle}: {error}");
                    continue;
                }
            };
            // Both are well-formed node sequences, so a byte prefix ends on a node
            // boundary of `wanted`.
            if wanted.starts_with(candidate) && best.is_none_or(|best| candidate.len() > best.consumed) {
                best = Some(PathMatch {
                    handle,
                    consumed: candidate.len(),
                });
            }
        }
        best.ok_or(Error::NoDevicePathMatch { guid: *guid })
    }
}
