//! The specification's names for EFI_STATUS codes (UEFI 2.10 Appendix D), for
//! messages on the console.
#![forbid(unsafe_code)]

use alloc::string::String;
use uefi_raw::Status;

/// The specification's name for a status (`NOT_FOUND`), or its number.
pub fn status_name(status: Status) -> String {
    let name = match status {
        Status::SUCCESS => "SUCCESS",
        Status::LOAD_ERROR => "LOAD_ERROR",
        Status::INVALID_PARAMETER => "INVALID_PARAMETER",
        Status::UNSUPPORTED => "UNSUPPORTED",
        Status::BAD_BUFFER_SIZE => "BAD_BUFFER_SIZE",
        Status::BUFFER_TOO_SMALL => "BUFFER_TOO_SMALL",
        Status::NOT_FOUND => "NOT_FOUND",
        Status::ACCESS_DENIED => "ACCESS_DENIED",
        Status::SECURITY_VIOLATION => "SECURITY_VIOLATION",
        Status::OUT_OF_RESOURCES => "OUT_OF_RESOURCES",
        Status::ABORTED => "ABORTED",
        Status::DEVICE_ERROR => "DEVICE_ERROR",
        Status::VOLUME_CORRUPTED => "VOLUME_CORRUPTED",
        Status::END_OF_FILE => "END_OF_FILE",
        _ => return alloc::format!("status {:#x}", status.0),
    };
    String::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_statuses_have_their_names_and_others_their_number() {
        assert_eq!(status_name(Status::NOT_FOUND), "NOT_FOUND");
        assert_eq!(status_name(Status::SUCCESS), "SUCCESS");
        assert_eq!(status_name(Status(0x1234)), "status 0x1234");
    }
}
