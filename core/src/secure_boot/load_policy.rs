//! What LoadImage and StartImage do with an image's authentication (UEFI
//! 2.10 §7.4.1 LoadImage, §7.4.2 StartImage; UEFI PI 1.8 vol. 2 §12.9
//! EFI_SECURITY2_ARCH_PROTOCOL.FileAuthentication).
//!
//! LoadImage asks FileAuthentication (the firmware's own db/dbx check, or a
//! function a program put in its place) about every image, and its status
//! decides:
//! - `SUCCESS` (or a warning): the image is loaded and may be started;
//! - `SECURITY_VIOLATION`: the image is loaded and gets a handle with
//!   LoadedImage, LoadImage returns `SECURITY_VIOLATION`, and StartImage
//!   refuses it with the same status; UnloadImage frees it (as edk2 does);
//! - `ACCESS_DENIED`: not loaded, and `*ImageHandle` is NULL;
//! - any other error: not loaded, LoadImage returns it.
#![forbid(unsafe_code)]

use super::policy::{Approval, Refusal};
use r_efi::efi::Status;

/// What LoadImage does with an image after FileAuthentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Load it; StartImage may run it.
    Load,
    /// Load it and give it a handle, but StartImage refuses it; LoadImage
    /// returns `SECURITY_VIOLATION`.
    LoadNotStartable,
    /// Do not load it; LoadImage returns this status (with a NULL handle for
    /// `ACCESS_DENIED`).
    Refuse(Status),
}

impl Verdict {
    /// The verdict for FileAuthentication's status.
    pub fn from_authentication(status: Status) -> Verdict {
        if status == Status::SECURITY_VIOLATION {
            Verdict::LoadNotStartable
        } else if status.is_error() {
            Verdict::Refuse(status)
        } else {
            Verdict::Load
        }
    }

    /// The status LoadImage returns once the image is loaded, for a verdict
    /// that loads it.
    pub fn load_status(self) -> Status {
        match self {
            Verdict::Load => Status::SUCCESS,
            Verdict::LoadNotStartable => Status::SECURITY_VIOLATION,
            Verdict::Refuse(status) => status,
        }
    }
}

/// The status the firmware's own FileAuthentication returns: `SUCCESS` when
/// Secure Boot is off (`decision` is `None`) or db allows the image,
/// `SECURITY_VIOLATION` when it is refused (edk2's image verification answers
/// the same for every refusal: unsigned, unknown key, revoked, modified).
pub fn authentication_status(decision: Option<Result<Approval, Refusal>>) -> Status {
    match decision {
        None | Some(Ok(_)) => Status::SUCCESS,
        Some(Err(_)) => Status::SECURITY_VIOLATION,
    }
}

/// Whether LoadImage must read a whole file into memory before loading it:
/// FileAuthentication takes the file's bytes, so whenever it has to be asked.
/// It need not when it is the firmware's own function and Secure Boot is off
/// (it would allow anything): the image is then read section by section
/// straight into place.
pub fn needs_file_buffer(secure_boot_on: bool, own_function_installed: bool) -> bool {
    secure_boot_on || !own_function_installed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secure_boot::authenticode::PeError;
    use crate::secure_boot::digest::HashAlgorithm;

    #[test]
    fn statuses_of_file_authentication_become_verdicts() {
        assert_eq!(Verdict::from_authentication(Status::SUCCESS), Verdict::Load);
        assert_eq!(
            Verdict::from_authentication(Status::SECURITY_VIOLATION),
            Verdict::LoadNotStartable
        );
        assert_eq!(
            Verdict::from_authentication(Status::ACCESS_DENIED),
            Verdict::Refuse(Status::ACCESS_DENIED)
        );
        // Another error is LoadImage's status as it is, as in edk2.
        assert_eq!(
            Verdict::from_authentication(Status::OUT_OF_RESOURCES),
            Verdict::Refuse(Status::OUT_OF_RESOURCES)
        );
        // A warning is not a refusal.
        assert_eq!(Verdict::from_authentication(Status::WARN_UNKNOWN_GLYPH), Verdict::Load);
    }

    #[test]
    fn loaded_images_report_whether_they_may_start() {
        assert_eq!(Verdict::Load.load_status(), Status::SUCCESS);
        assert_eq!(Verdict::LoadNotStartable.load_status(), Status::SECURITY_VIOLATION);
        assert_eq!(
            Verdict::Refuse(Status::ACCESS_DENIED).load_status(),
            Status::ACCESS_DENIED
        );
    }

    #[test]
    fn the_firmware_check_allows_when_off_or_trusted_and_defers_refusals() {
        assert_eq!(authentication_status(None), Status::SUCCESS);
        assert_eq!(authentication_status(Some(Ok(Approval::Signature))), Status::SUCCESS);
        assert_eq!(
            authentication_status(Some(Ok(Approval::Hash(HashAlgorithm::Sha256)))),
            Status::SUCCESS
        );
        for refusal in [
            Refusal::Unsigned,
            Refusal::UnknownKey,
            Refusal::Modified,
            Refusal::HashRevoked,
            Refusal::CertificateRevoked,
            Refusal::NotPe(PeError::NotPe),
        ] {
            assert_eq!(
                authentication_status(Some(Err(refusal))),
                Status::SECURITY_VIOLATION,
                "{refusal}"
            );
        }
    }

    #[test]
    fn files_are_buffered_only_when_someone_must_see_them() {
        assert!(!needs_file_buffer(false, true));
        assert!(needs_file_buffer(true, true));
        // A program replaced FileAuthentication: it is asked even with Secure Boot off.
        assert!(needs_file_buffer(false, false));
        assert!(needs_file_buffer(true, false));
    }
}
