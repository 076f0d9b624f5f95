//! Why a handle-database operation failed, and the `EFI_STATUS` UEFI 2.10 §7.3
//! names for each case.

use alloc::vec::Vec;
use core::fmt;

use r_efi::efi::{Guid, Status};

use super::device_path::PathError;
use super::{GuidText, HandleId, Interface, RegistrationId};

/// Why a handle-database operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The handle is not in the database (never existed, or freed).
    InvalidHandle {
        /// The handle the caller named.
        handle: HandleId,
    },
    /// `InstallProtocolInterface` on a handle that already has the protocol.
    AlreadyInstalled {
        /// The handle.
        handle: HandleId,
        /// The protocol already on it.
        guid: Guid,
    },
    /// `InstallMultipleProtocolInterfaces` named the same protocol twice.
    DuplicateProtocol {
        /// The protocol named twice.
        guid: Guid,
    },
    /// `InstallMultipleProtocolInterfaces` with an empty list.
    NoProtocols,
    /// `InstallMultipleProtocolInterfaces` of a device path that `handle` already has.
    DevicePathExists {
        /// The handle that has a device path already.
        handle: HandleId,
    },
    /// A device path interface could not be read (NULL, or not a bounded path).
    UnreadableDevicePath {
        /// The interface given as a device path.
        interface: Interface,
    },
    /// A device path given by the caller is malformed.
    MalformedDevicePath(PathError),
    /// The protocol is not on the handle (uninstall, reinstall, open information).
    NotInstalled {
        /// The handle.
        handle: HandleId,
        /// The protocol it does not have.
        guid: Guid,
    },
    /// The protocol is on the handle, but with another interface than the caller named.
    InterfaceMismatch {
        /// The handle.
        handle: HandleId,
        /// The protocol.
        guid: Guid,
        /// The interface installed for it.
        installed: Interface,
        /// The interface the caller named.
        given: Interface,
    },
    /// `UninstallMultipleProtocolInterfaces`: one pair was not installed.
    NotAllInstalled {
        /// The handle.
        handle: HandleId,
        /// The protocol that was not installed with the interface named.
        guid: Guid,
    },
    /// The interface is open by drivers or exclusively; `drivers` are the agents that
    /// have it open `BY_DRIVER` and may release it when `DisconnectController` stops them.
    InUse {
        /// The handle.
        handle: HandleId,
        /// The protocol.
        guid: Guid,
        /// The agents that have it open `BY_DRIVER`.
        drivers: Vec<HandleId>,
    },
    /// `OpenProtocol`/`HandleProtocol` of a protocol the handle does not support.
    Unsupported {
        /// The handle.
        handle: HandleId,
        /// The protocol it does not support.
        guid: Guid,
    },
    /// `OpenProtocol` attributes that are not one of the legal combinations.
    InvalidAttributes {
        /// The attributes given.
        attributes: u32,
    },
    /// The attributes need an agent handle and none was given.
    MissingAgent {
        /// The attributes given.
        attributes: u32,
    },
    /// The agent handle is not in the database.
    InvalidAgent {
        /// The agent handle given.
        agent: HandleId,
    },
    /// The attributes need a controller handle and none was given.
    MissingController {
        /// The attributes given.
        attributes: u32,
    },
    /// The controller handle is not in the database.
    InvalidController {
        /// The controller handle given.
        controller: HandleId,
    },
    /// `BY_CHILD_CONTROLLER` with the controller equal to the handle.
    ControllerIsHandle {
        /// The handle, also given as the controller.
        handle: HandleId,
    },
    /// The same agent already has the interface open `BY_DRIVER` for this controller;
    /// the interface is still returned to the caller (bus drivers rely on it).
    AlreadyOpen {
        /// The handle.
        handle: HandleId,
        /// The protocol.
        guid: Guid,
        /// The agent that has it open.
        agent: HandleId,
        /// The interface, returned all the same.
        interface: Interface,
    },
    /// Another driver has the interface open `BY_DRIVER`.
    OpenByOtherDriver {
        /// The handle.
        handle: HandleId,
        /// The protocol.
        guid: Guid,
        /// The driver that has it open.
        driver: HandleId,
    },
    /// Someone has the interface open `EXCLUSIVE`.
    OpenExclusively {
        /// The handle.
        handle: HandleId,
        /// The protocol.
        guid: Guid,
        /// The agent that has it open exclusively.
        agent: HandleId,
    },
    /// `CloseProtocol` for an agent and controller that have no open.
    NotOpened {
        /// The handle.
        handle: HandleId,
        /// The protocol.
        guid: Guid,
        /// The agent given.
        agent: HandleId,
        /// The controller given.
        controller: Option<HandleId>,
    },
    /// `LocateHandle`/`LocateProtocol` found nothing.
    NothingFound,
    /// The registration is not in the database.
    UnknownRegistration {
        /// The registration key given.
        registration: RegistrationId,
    },
    /// `LocateDevicePath` found no handle whose device path is a prefix.
    NoDevicePathMatch {
        /// The protocol whose handles were searched.
        guid: Guid,
    },
    /// The id range is exhausted.
    OutOfIds,
}

impl Error {
    /// The `EFI_STATUS` the specification names for this failure.
    pub fn status(&self) -> Status {
        match self {
            Error::InvalidHandle { .. }
            | Error::AlreadyInstalled { .. }
            | Error::DuplicateProtocol { .. }
            | Error::NoProtocols
            | Error::UnreadableDevicePath { .. }
            | Error::MalformedDevicePath(_)
            | Error::NotAllInstalled { .. }
            | Error::InvalidAttributes { .. }
            | Error::MissingAgent { .. }
            | Error::InvalidAgent { .. }
            | Error::MissingController { .. }
            | Error::InvalidController { .. }
            | Error::ControllerIsHandle { .. }
            | Error::UnknownRegistration { .. } => Status::INVALID_PARAMETER,
            Error::DevicePathExists { .. } | Error::AlreadyOpen { .. } => Status::ALREADY_STARTED,
            Error::NotInstalled { .. }
            | Error::InterfaceMismatch { .. }
            | Error::NotOpened { .. }
            | Error::NothingFound
            | Error::NoDevicePathMatch { .. } => Status::NOT_FOUND,
            Error::InUse { .. } | Error::OpenByOtherDriver { .. } | Error::OpenExclusively { .. } => {
                Status::ACCESS_DENIED
            }
            Error::Unsupported { .. } => Status::UNSUPPORTED,
            Error::OutOfIds => Status::OUT_OF_RESOURCES,
        }
    }

    /// The drivers the thunk should stop with `DisconnectController(handle, driver, NULL)`
    /// before trying again (UEFI 2.10 §7.3.3, §7.3.4, §7.3.9 `EXCLUSIVE`). Empty when
    /// retrying cannot help.
    pub fn drivers_to_disconnect(&self) -> &[HandleId] {
        match self {
            Error::InUse { drivers, .. } => drivers,
            _ => &[],
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidHandle { handle } => write!(f, "{handle} does not exist"),
            Error::AlreadyInstalled { handle, guid } => {
                write!(f, "protocol {} is already on {handle}", GuidText(guid))
            }
            Error::DuplicateProtocol { guid } => {
                write!(f, "protocol {} is named twice", GuidText(guid))
            }
            Error::NoProtocols => f.write_str("no protocols to install"),
            Error::DevicePathExists { handle } => {
                write!(f, "the device path is already installed on {handle}")
            }
            Error::UnreadableDevicePath { interface } => {
                write!(f, "device path at {:#x} cannot be read", interface.0)
            }
            Error::MalformedDevicePath(error) => write!(f, "malformed device path: {error}"),
            Error::NotInstalled { handle, guid } => {
                write!(f, "protocol {} is not on {handle}", GuidText(guid))
            }
            Error::InterfaceMismatch {
                handle,
                guid,
                installed,
                given,
            } => write!(
                f,
                "protocol {} on {handle} has interface {:#x}, not {:#x}",
                GuidText(guid),
                installed.0,
                given.0
            ),
            Error::NotAllInstalled { handle, guid } => write!(
                f,
                "protocol {} is not on {handle} with the given interface",
                GuidText(guid)
            ),
            Error::InUse { handle, guid, drivers } => write!(
                f,
                "protocol {} on {handle} is in use ({} drivers have it open)",
                GuidText(guid),
                drivers.len()
            ),
            Error::Unsupported { handle, guid } => {
                write!(f, "{handle} does not support protocol {}", GuidText(guid))
            }
            Error::InvalidAttributes { attributes } => {
                write!(f, "open attributes {attributes:#x} are not a legal combination")
            }
            Error::MissingAgent { attributes } => {
                write!(f, "open attributes {attributes:#x} need an agent handle")
            }
            Error::InvalidAgent { agent } => write!(f, "agent {agent} does not exist"),
            Error::MissingController { attributes } => {
                write!(f, "open attributes {attributes:#x} need a controller handle")
            }
            Error::InvalidController { controller } => {
                write!(f, "controller {controller} does not exist")
            }
            Error::ControllerIsHandle { handle } => {
                write!(f, "{handle} cannot be its own child controller")
            }
            Error::AlreadyOpen {
                handle, guid, agent, ..
            } => write!(
                f,
                "protocol {} on {handle} is already open by driver {agent}",
                GuidText(guid)
            ),
            Error::OpenByOtherDriver { handle, guid, driver } => write!(
                f,
                "protocol {} on {handle} is open by another driver ({driver})",
                GuidText(guid)
            ),
            Error::OpenExclusively { handle, guid, agent } => write!(
                f,
                "protocol {} on {handle} is open exclusively by {agent}",
                GuidText(guid)
            ),
            Error::NotOpened {
                handle,
                guid,
                agent,
                controller,
            } => {
                write!(
                    f,
                    "protocol {} on {handle} is not open by agent {agent}",
                    GuidText(guid)
                )?;
                match controller {
                    Some(controller) => write!(f, " for controller {controller}"),
                    None => Ok(()),
                }
            }
            Error::NothingFound => f.write_str("no matching handle"),
            Error::UnknownRegistration { registration } => {
                write!(f, "{registration} does not exist")
            }
            Error::NoDevicePathMatch { guid } => write!(
                f,
                "no handle with protocol {} has a device path prefix of the path",
                GuidText(guid)
            ),
            Error::OutOfIds => f.write_str("out of handle ids"),
        }
    }
}
