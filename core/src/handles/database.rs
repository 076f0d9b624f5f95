//! The database itself and the install/uninstall/reinstall services
//! (UEFI 2.10 §7.3.2 to §7.3.4, §7.3.16, §7.3.17).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use log::debug;
use r_efi::efi::{
    Guid, OPEN_PROTOCOL_BY_DRIVER, OPEN_PROTOCOL_BY_HANDLE_PROTOCOL, OPEN_PROTOCOL_GET_PROTOCOL,
    OPEN_PROTOCOL_TEST_PROTOCOL,
};
use r_efi::protocols::device_path;

use super::device_path as path;
use super::{
    Error, EventId, GuidText, HandleId, IdAllocator, Interface, RegistrationId, HANDLE_ID_BASE, REGISTRATION_ID_BASE,
};

/// One entry of a protocol's open list, as `OpenProtocolInformation` reports it
/// (`EFI_OPEN_PROTOCOL_INFORMATION_ENTRY`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenInfo {
    /// The handle that opened it (an image or a driver).
    pub agent: HandleId,
    /// The controller it was opened for, by a driver or for a child.
    pub controller: Option<HandleId>,
    /// The `EFI_OPEN_PROTOCOL_*` attributes.
    pub attributes: u32,
    /// How many times this agent, controller and attributes opened it.
    pub open_count: u32,
}

/// What an install did: the handle (new or given) and the notify events to signal
/// once the lock is released.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    /// The handle the protocols are on, new or given.
    pub handle: HandleId,
    /// The RegisterProtocolNotify events to signal.
    pub events: Vec<EventId>,
}

#[derive(Debug)]
pub(super) struct ProtocolEntry {
    pub(super) guid: Guid,
    pub(super) interface: Interface,
    /// The open list, oldest first.
    pub(super) opens: Vec<OpenInfo>,
    /// When the interface was (re)installed; registrations remember the last one seen.
    pub(super) sequence: u64,
}

#[derive(Debug, Default)]
pub(super) struct HandleEntry {
    /// In installation order (`ProtocolsPerHandle` order).
    pub(super) protocols: Vec<ProtocolEntry>,
}

impl HandleEntry {
    pub(super) fn protocol(&self, guid: &Guid) -> Option<&ProtocolEntry> {
        self.protocols.iter().find(|entry| entry.guid == *guid)
    }

    pub(super) fn protocol_mut(&mut self, guid: &Guid) -> Option<&mut ProtocolEntry> {
        self.protocols.iter_mut().find(|entry| entry.guid == *guid)
    }
}

#[derive(Debug)]
pub(super) struct Registration {
    pub(super) guid: Guid,
    pub(super) event: EventId,
    /// Sequence number of the last installation this registration has returned.
    pub(super) position: u64,
}

/// The handle and protocol database (UEFI 2.10 §7.3).
#[derive(Debug)]
pub struct Database {
    /// Ids only grow, so key order is creation order.
    pub(super) handles: BTreeMap<HandleId, HandleEntry>,
    pub(super) registrations: BTreeMap<RegistrationId, Registration>,
    handle_ids: IdAllocator,
    pub(super) registration_ids: IdAllocator,
    /// Sequence number of the latest install or reinstall.
    pub(super) sequence: u64,
}

impl Default for Database {
    fn default() -> Self {
        Database::new()
    }
}

/// Opens the uninstall/reinstall logic closes by itself (§7.3.3: after drivers are
/// disconnected, these are closed; any other open left denies access).
fn closes_by_itself(attributes: u32) -> bool {
    matches!(
        attributes,
        OPEN_PROTOCOL_BY_HANDLE_PROTOCOL | OPEN_PROTOCOL_GET_PROTOCOL | OPEN_PROTOCOL_TEST_PROTOCOL
    )
}

/// Agents of `BY_DRIVER` opens, each once, in open-list order.
pub(super) fn driver_agents<'a>(opens: impl Iterator<Item = &'a OpenInfo>) -> Vec<HandleId> {
    let mut drivers: Vec<HandleId> = Vec::new();
    for open in opens {
        if open.attributes & OPEN_PROTOCOL_BY_DRIVER != 0 && !drivers.contains(&open.agent) {
            drivers.push(open.agent);
        }
    }
    drivers
}

impl Database {
    /// An empty database (usable in a `static`).
    pub const fn new() -> Database {
        Database {
            handles: BTreeMap::new(),
            registrations: BTreeMap::new(),
            handle_ids: IdAllocator::new(HANDLE_ID_BASE),
            registration_ids: IdAllocator::new(REGISTRATION_ID_BASE),
            sequence: 0,
        }
    }

    /// Whether `handle` names a live handle.
    pub fn is_valid(&self, handle: HandleId) -> bool {
        self.handles.contains_key(&handle)
    }

    /// All handles, in creation order.
    pub fn all_handles(&self) -> Vec<HandleId> {
        self.handles.keys().copied().collect()
    }

    /// How many handles exist.
    pub fn handle_count(&self) -> usize {
        self.handles.len()
    }

    pub(super) fn entry(&self, handle: HandleId) -> Result<&HandleEntry, Error> {
        self.handles.get(&handle).ok_or(Error::InvalidHandle { handle })
    }

    pub(super) fn entry_mut(&mut self, handle: HandleId) -> Result<&mut HandleEntry, Error> {
        self.handles.get_mut(&handle).ok_or(Error::InvalidHandle { handle })
    }

    /// The interface of `guid` on `handle`, without recording an open (for the
    /// firmware's own use).
    pub fn interface(&self, handle: HandleId, guid: &Guid) -> Option<Interface> {
        let entry = self.handles.get(&handle)?;
        entry.protocol(guid).map(|protocol| protocol.interface)
    }

    /// `ProtocolsPerHandle` (§7.3.14): the protocols on `handle`, in installation order.
    pub fn protocols_per_handle(&self, handle: HandleId) -> Result<Vec<Guid>, Error> {
        Ok(self
            .entry(handle)?
            .protocols
            .iter()
            .map(|protocol| protocol.guid)
            .collect())
    }

    fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// Events registered for `guid`, each once.
    fn notify_events(&self, guid: &Guid) -> Vec<EventId> {
        let mut events: Vec<EventId> = Vec::new();
        for registration in self.registrations.values() {
            if registration.guid == *guid && !events.contains(&registration.event) {
                events.push(registration.event);
            }
        }
        events
    }

    /// `InstallProtocolInterface` (§7.3.2): adds `guid` with `interface` to `handle`,
    /// or to a new handle when `handle` is `None`.
    pub fn install_protocol(
        &mut self,
        handle: Option<HandleId>,
        guid: Guid,
        interface: Interface,
    ) -> Result<Installed, Error> {
        // Only §7.3.16 checks device paths for duplicates.
        self.insert_protocols(handle, &[(guid, interface)])
    }

    /// `InstallMultipleProtocolInterfaces` (§7.3.16): installs all pairs or none.
    ///
    /// A device path protocol whose path already is on another handle fails with
    /// [`Error::DevicePathExists`] (ALREADY_STARTED). `device_path_of` reads the device
    /// path at an interface address (the new one, and those already installed); it
    /// returns `None` when the path cannot be read.
    pub fn install_multiple<'a>(
        &mut self,
        handle: Option<HandleId>,
        protocols: &[(Guid, Interface)],
        mut device_path_of: impl FnMut(Interface) -> Option<&'a [u8]>,
    ) -> Result<Installed, Error> {
        self.check_install(handle, protocols)?;
        for (guid, interface) in protocols {
            if *guid == device_path::PROTOCOL_GUID {
                self.check_device_path_is_new(*interface, &mut device_path_of)?;
            }
        }
        self.insert_protocols(handle, protocols)
    }

    fn check_install(&self, handle: Option<HandleId>, protocols: &[(Guid, Interface)]) -> Result<(), Error> {
        if protocols.is_empty() {
            return Err(Error::NoProtocols);
        }
        let existing = match handle {
            Some(handle) => Some((handle, self.entry(handle)?)),
            None => None,
        };
        for (index, (guid, _)) in protocols.iter().enumerate() {
            if let Some((handle, entry)) = existing {
                if entry.protocol(guid).is_some() {
                    return Err(Error::AlreadyInstalled { handle, guid: *guid });
                }
            }
            if protocols
                .get(..index)
                .is_some_and(|earlier| earlier.iter().any(|(other, _)| other == guid))
            {
                return Err(Error::DuplicateProtocol { guid: *guid });
            }
        }
        Ok(())
    }

    fn check_device_path_is_new<'a>(
        &self,
        interface: Interface,
        device_path_of: &mut impl FnMut(Interface) -> Option<&'a [u8]>,
    ) -> Result<(), Error> {
        let new = device_path_of(interface).ok_or(Error::UnreadableDevicePath { interface })?;
        let new = path::body(new).map_err(Error::MalformedDevicePath)?;
        for (&handle, entry) in &self.handles {
            let Some(existing) = entry.protocol(&device_path::PROTOCOL_GUID) else {
                continue;
            };
            let Some(existing) = device_path_of(existing.interface) else {
                continue;
            };
            match path::body(existing) {
                Ok(existing) if existing == new => {
                    debug!("handles: device path already on {handle}");
                    return Err(Error::DevicePathExists { handle });
                }
                Ok(_) => {}
                Err(error) => debug!("handles: skipping bad device path on {handle}: {error}"),
            }
        }
        Ok(())
    }

    /// Checks and installs pairs (no device path check).
    fn insert_protocols(
        &mut self,
        handle: Option<HandleId>,
        protocols: &[(Guid, Interface)],
    ) -> Result<Installed, Error> {
        self.check_install(handle, protocols)?;
        let handle = match handle {
            Some(handle) => handle,
            None => {
                let raw = self.handle_ids.allocate().ok_or(Error::OutOfIds)?;
                let handle = HandleId(raw);
                self.handles.insert(handle, HandleEntry::default());
                handle
            }
        };
        let mut events: Vec<EventId> = Vec::new();
        for &(guid, interface) in protocols {
            let sequence = self.next_sequence();
            let entry = self.entry_mut(handle)?;
            entry.protocols.push(ProtocolEntry {
                guid,
                interface,
                opens: Vec::new(),
                sequence,
            });
            debug!(
                "handles: installed {} at {:#x} on {handle}",
                GuidText(&guid),
                interface.0
            );
            for event in self.notify_events(&guid) {
                if !events.contains(&event) {
                    events.push(event);
                }
            }
        }
        Ok(Installed { handle, events })
    }

    /// The checks shared by uninstall and reinstall: the pair exists and nothing but
    /// opens that close by themselves holds it.
    fn check_removable(&self, handle: HandleId, guid: &Guid, interface: Interface) -> Result<(), Error> {
        let entry = self.entry(handle)?;
        let protocol = entry
            .protocol(guid)
            .ok_or(Error::NotInstalled { handle, guid: *guid })?;
        if protocol.interface != interface {
            return Err(Error::InterfaceMismatch {
                handle,
                guid: *guid,
                installed: protocol.interface,
                given: interface,
            });
        }
        if protocol.opens.iter().any(|open| !closes_by_itself(open.attributes)) {
            return Err(Error::InUse {
                handle,
                guid: *guid,
                drivers: driver_agents(protocol.opens.iter()),
            });
        }
        Ok(())
    }

    /// `UninstallProtocolInterface` (§7.3.3): removes `guid` with `interface` from
    /// `handle`, closing its `BY_HANDLE_PROTOCOL`/`GET_PROTOCOL`/`TEST_PROTOCOL` opens.
    /// The handle is freed with its last protocol.
    ///
    /// Any other open gives [`Error::InUse`] (ACCESS_DENIED) and changes nothing; the
    /// thunk disconnects [`Error::drivers_to_disconnect`], retries once, and on a
    /// second failure reconnects them and returns ACCESS_DENIED.
    pub fn uninstall_protocol(&mut self, handle: HandleId, guid: &Guid, interface: Interface) -> Result<(), Error> {
        self.check_removable(handle, guid, interface)?;
        self.remove_checked(handle, guid);
        Ok(())
    }

    fn remove_checked(&mut self, handle: HandleId, guid: &Guid) {
        let Some(entry) = self.handles.get_mut(&handle) else {
            return;
        };
        entry.protocols.retain(|protocol| protocol.guid != *guid);
        debug!("handles: uninstalled {} from {handle}", GuidText(guid));
        if entry.protocols.is_empty() {
            self.handles.remove(&handle);
            debug!("handles: freed {handle}");
        }
    }

    /// `UninstallMultipleProtocolInterfaces` (§7.3.17): removes all pairs or none.
    ///
    /// A pair that is not installed gives [`Error::NotAllInstalled`]
    /// (INVALID_PARAMETER). [`Error::InUse`] is handled by the thunk as for
    /// [`Database::uninstall_protocol`], but a final failure returns INVALID_PARAMETER,
    /// the only error this service names.
    pub fn uninstall_multiple(&mut self, handle: HandleId, protocols: &[(Guid, Interface)]) -> Result<(), Error> {
        self.entry(handle)?;
        let mut in_use: Option<Error> = None;
        for (index, (guid, interface)) in protocols.iter().enumerate() {
            if protocols
                .get(..index)
                .is_some_and(|earlier| earlier.iter().any(|(other, _)| other == guid))
            {
                return Err(Error::DuplicateProtocol { guid: *guid });
            }
            match self.check_removable(handle, guid, *interface) {
                Ok(()) => {}
                Err(Error::InUse { drivers, .. }) => {
                    let error = in_use.get_or_insert(Error::InUse {
                        handle,
                        guid: *guid,
                        drivers: Vec::new(),
                    });
                    if let Error::InUse { drivers: all, .. } = error {
                        for driver in drivers {
                            if !all.contains(&driver) {
                                all.push(driver);
                            }
                        }
                    }
                }
                Err(_) => return Err(Error::NotAllInstalled { handle, guid: *guid }),
            }
        }
        if let Some(error) = in_use {
            return Err(error);
        }
        for (guid, _) in protocols {
            self.remove_checked(handle, guid);
        }
        Ok(())
    }

    /// `ReinstallProtocolInterface` (§7.3.4): replaces `old` with `new` for `guid` on
    /// `handle`, closing the opens that close by themselves. Returns the notify events
    /// to signal; the thunk then calls `ConnectController(handle, NULL, NULL, TRUE)`.
    ///
    /// Errors as for [`Database::uninstall_protocol`].
    pub fn reinstall_protocol(
        &mut self,
        handle: HandleId,
        guid: &Guid,
        old: Interface,
        new: Interface,
    ) -> Result<Vec<EventId>, Error> {
        self.check_removable(handle, guid, old)?;
        let sequence = self.next_sequence();
        let protocol = self
            .entry_mut(handle)?
            .protocol_mut(guid)
            .ok_or(Error::NotInstalled { handle, guid: *guid })?;
        protocol.opens.clear();
        protocol.interface = new;
        protocol.sequence = sequence;
        debug!(
            "handles: reinstalled {} on {handle}: {:#x} -> {:#x}",
            GuidText(guid),
            old.0,
            new.0
        );
        Ok(self.notify_events(guid))
    }
}
