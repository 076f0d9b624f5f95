//! Opening and closing protocol interfaces: UEFI 2.10 §7.3.7 `HandleProtocol`,
//! §7.3.9 `OpenProtocol` (the attribute rules), §7.3.10 `CloseProtocol`,
//! §7.3.11 `OpenProtocolInformation`, and the open-list queries
//! `ConnectController`/`DisconnectController` (§7.3.12, §7.3.13) need.

use alloc::vec::Vec;

use log::debug;
use r_efi::efi::{
    Guid, OPEN_PROTOCOL_BY_CHILD_CONTROLLER, OPEN_PROTOCOL_BY_DRIVER, OPEN_PROTOCOL_BY_HANDLE_PROTOCOL,
    OPEN_PROTOCOL_EXCLUSIVE, OPEN_PROTOCOL_GET_PROTOCOL, OPEN_PROTOCOL_TEST_PROTOCOL,
};

use super::database::{driver_agents, OpenInfo};
use super::{Database, Error, GuidText, HandleId, Interface};

const BY_DRIVER_EXCLUSIVE: u32 = OPEN_PROTOCOL_BY_DRIVER | OPEN_PROTOCOL_EXCLUSIVE;

impl Database {
    fn require_agent(&self, agent: Option<HandleId>, attributes: u32) -> Result<(), Error> {
        let agent = agent.ok_or(Error::MissingAgent { attributes })?;
        if !self.is_valid(agent) {
            return Err(Error::InvalidAgent { agent });
        }
        Ok(())
    }

    fn require_controller(&self, controller: Option<HandleId>, attributes: u32) -> Result<HandleId, Error> {
        let controller = controller.ok_or(Error::MissingController { attributes })?;
        if !self.is_valid(controller) {
            return Err(Error::InvalidController { controller });
        }
        Ok(controller)
    }

    /// The parameter checks of §7.3.9 that depend on the attributes alone.
    fn check_open_parameters(
        &self,
        handle: HandleId,
        agent: Option<HandleId>,
        controller: Option<HandleId>,
        attributes: u32,
    ) -> Result<(), Error> {
        self.entry(handle)?;
        match attributes {
            OPEN_PROTOCOL_BY_CHILD_CONTROLLER => {
                self.require_agent(agent, attributes)?;
                if self.require_controller(controller, attributes)? == handle {
                    return Err(Error::ControllerIsHandle { handle });
                }
            }
            OPEN_PROTOCOL_BY_DRIVER | BY_DRIVER_EXCLUSIVE => {
                self.require_agent(agent, attributes)?;
                self.require_controller(controller, attributes)?;
            }
            OPEN_PROTOCOL_EXCLUSIVE => self.require_agent(agent, attributes)?,
            OPEN_PROTOCOL_BY_HANDLE_PROTOCOL | OPEN_PROTOCOL_GET_PROTOCOL | OPEN_PROTOCOL_TEST_PROTOCOL => {}
            _ => return Err(Error::InvalidAttributes { attributes }),
        }
        Ok(())
    }

    /// `OpenProtocol` (§7.3.9): returns the interface and records the open for `agent`
    /// (nothing is recorded without an agent). Errors follow the specification's
    /// attribute table:
    /// - `BY_DRIVER`/`BY_DRIVER|EXCLUSIVE` already open the same way by the same agent
    ///   for the same controller: [`Error::AlreadyOpen`] (ALREADY_STARTED, interface
    ///   still returned);
    /// - `BY_DRIVER` while another driver has it `BY_DRIVER`: [`Error::OpenByOtherDriver`];
    /// - `BY_DRIVER`, `EXCLUSIVE` or `BY_DRIVER|EXCLUSIVE` while something has it
    ///   `EXCLUSIVE`: [`Error::OpenExclusively`] (both ACCESS_DENIED);
    /// - `EXCLUSIVE` or `BY_DRIVER|EXCLUSIVE` while drivers have it `BY_DRIVER`:
    ///   [`Error::InUse`]; the thunk disconnects those drivers and retries once, and
    ///   returns ACCESS_DENIED if a disconnect fails or the retry fails again;
    /// - the protocol not on the handle: [`Error::Unsupported`] (the thunk stores NULL
    ///   in `*Interface`).
    pub fn open_protocol(
        &mut self,
        handle: HandleId,
        guid: &Guid,
        agent: Option<HandleId>,
        controller: Option<HandleId>,
        attributes: u32,
    ) -> Result<Interface, Error> {
        self.check_open_parameters(handle, agent, controller, attributes)?;
        let protocol = self
            .entry_mut(handle)?
            .protocol_mut(guid)
            .ok_or(Error::Unsupported { handle, guid: *guid })?;
        let interface = protocol.interface;

        let mut exact = None;
        let mut exclusive_holder = None;
        for (index, open) in protocol.opens.iter().enumerate() {
            let same = Some(open.agent) == agent && open.controller == controller && open.attributes == attributes;
            if same && open.attributes & OPEN_PROTOCOL_BY_DRIVER != 0 {
                return Err(Error::AlreadyOpen {
                    handle,
                    guid: *guid,
                    agent: open.agent,
                    interface,
                });
            }
            if open.attributes & OPEN_PROTOCOL_EXCLUSIVE != 0 {
                exclusive_holder.get_or_insert(open.agent);
            } else if same {
                exact.get_or_insert(index);
            }
        }
        if let Some(open) = exact.and_then(|index| protocol.opens.get_mut(index)) {
            open.open_count = open.open_count.saturating_add(1);
            return Ok(interface);
        }

        if matches!(
            attributes,
            OPEN_PROTOCOL_BY_DRIVER | OPEN_PROTOCOL_EXCLUSIVE | BY_DRIVER_EXCLUSIVE
        ) {
            if let Some(agent) = exclusive_holder {
                return Err(Error::OpenExclusively {
                    handle,
                    guid: *guid,
                    agent,
                });
            }
            let drivers = driver_agents(protocol.opens.iter());
            if let Some(&driver) = drivers.first() {
                if attributes == OPEN_PROTOCOL_BY_DRIVER {
                    return Err(Error::OpenByOtherDriver {
                        handle,
                        guid: *guid,
                        driver,
                    });
                }
                return Err(Error::InUse {
                    handle,
                    guid: *guid,
                    drivers,
                });
            }
        }

        if let Some(agent) = agent {
            protocol.opens.push(OpenInfo {
                agent,
                controller,
                attributes,
                open_count: 1,
            });
            debug!(
                "handles: {agent} opened {} on {handle} with {attributes:#x}",
                GuidText(guid)
            );
        }
        Ok(interface)
    }

    /// `HandleProtocol` (§7.3.7): the interface, recording no open. (The thunk may
    /// instead call [`Database::open_protocol`] with the firmware's image handle as
    /// agent and `BY_HANDLE_PROTOCOL` to have these uses listed.)
    pub fn handle_protocol(&mut self, handle: HandleId, guid: &Guid) -> Result<Interface, Error> {
        self.open_protocol(handle, guid, None, None, OPEN_PROTOCOL_BY_HANDLE_PROTOCOL)
    }

    /// `CloseProtocol` (§7.3.10): removes every open of `guid` on `handle` by `agent`
    /// for `controller`, whatever its attributes and count.
    pub fn close_protocol(
        &mut self,
        handle: HandleId,
        guid: &Guid,
        agent: Option<HandleId>,
        controller: Option<HandleId>,
    ) -> Result<(), Error> {
        self.entry(handle)?;
        let agent = agent.ok_or(Error::MissingAgent { attributes: 0 })?;
        if !self.is_valid(agent) {
            return Err(Error::InvalidAgent { agent });
        }
        if let Some(controller) = controller {
            if !self.is_valid(controller) {
                return Err(Error::InvalidController { controller });
            }
        }
        let protocol = self
            .entry_mut(handle)?
            .protocol_mut(guid)
            .ok_or(Error::NotInstalled { handle, guid: *guid })?;
        let before = protocol.opens.len();
        protocol
            .opens
            .retain(|open| !(open.agent == agent && open.controller == controller));
        if protocol.opens.len() == before {
            return Err(Error::NotOpened {
                handle,
                guid: *guid,
                agent,
                controller,
            });
        }
        debug!("handles: {agent} closed {} on {handle}", GuidText(guid));
        Ok(())
    }

    /// `OpenProtocolInformation` (§7.3.11): the open list of `guid` on `handle`,
    /// oldest first. A handle that does not exist or lacks the protocol gives
    /// [`Error::NotInstalled`] (NOT_FOUND, the only failure the service names).
    pub fn open_protocol_information(&self, handle: HandleId, guid: &Guid) -> Result<Vec<OpenInfo>, Error> {
        self.handles
            .get(&handle)
            .and_then(|entry| entry.protocol(guid))
            .map(|protocol| protocol.opens.clone())
            .ok_or(Error::NotInstalled { handle, guid: *guid })
    }

    /// The drivers that have any protocol of `controller` open `BY_DRIVER`, each once
    /// (the drivers `DisconnectController(controller, NULL, ...)` stops).
    pub fn drivers_managing(&self, controller: HandleId) -> Vec<HandleId> {
        match self.handles.get(&controller) {
            Some(entry) => driver_agents(entry.protocols.iter().flat_map(|protocol| protocol.opens.iter())),
            None => Vec::new(),
        }
    }

    /// The child handles `driver` created for `controller`: the controllers of its
    /// `BY_CHILD_CONTROLLER` opens on `controller`'s protocols, each once.
    pub fn children_of(&self, controller: HandleId, driver: HandleId) -> Vec<HandleId> {
        let mut children: Vec<HandleId> = Vec::new();
        let Some(entry) = self.handles.get(&controller) else {
            return children;
        };
        for open in entry.protocols.iter().flat_map(|p| p.opens.iter()) {
            if open.agent == driver && open.attributes == OPEN_PROTOCOL_BY_CHILD_CONTROLLER {
                if let Some(child) = open.controller {
                    if !children.contains(&child) {
                        children.push(child);
                    }
                }
            }
        }
        children
    }

    /// Closes every open whose agent is `agent` (for `UnloadImage`, §7.4.4, and
    /// `Exit` of an image that forgot to close what it opened).
    pub fn close_opens_by_agent(&mut self, agent: HandleId) {
        for entry in self.handles.values_mut() {
            for protocol in &mut entry.protocols {
                protocol.opens.retain(|open| open.agent != agent);
            }
        }
    }
}
