//! UEFI Secure Boot (UEFI 2.10 §32): which images may run.
//!
//! - [`authenticode`]: the PE digest and the signatures in a PE image;
//! - [`pkcs7`]: Authenticode's SignedData and X.509 certificates, verified
//!   with RustCrypto's `rsa`, `sha1` and `sha2`;
//! - [`signature_list`]: EFI_SIGNATURE_LIST, the format of PK, KEK, db, dbx;
//! - [`policy`]: the db/dbx decision with a typed reason;
//! - [`load_policy`]: what LoadImage and StartImage do with FileAuthentication's
//!   status (loaded, loaded but not startable, not loaded);
//! - [`auth_write`]: time-based authenticated writes of PK, KEK, db, dbx
//!   (over [`detached`] PKCS#7 signatures).
//!
//! All of it is safe Rust and tested on the host; `crate::efi::image` calls
//! [`policy::check`] from the Security2 architectural protocol's
//! FileAuthentication, which LoadImage asks about every image.
#![forbid(unsafe_code)]

pub mod asn1;
pub mod auth_write;
pub mod authenticode;
pub mod detached;
pub mod digest;
pub mod keys;
pub mod load_policy;
pub mod pkcs7;
pub mod policy;
pub mod signature_list;

#[cfg(test)]
mod real_binaries;
#[cfg(test)]
pub use digest::HashAlgorithm;
pub use policy::{check, Approval, Refusal};

/// EFI_IMAGE_SECURITY_DATABASE_GUID: the vendor GUID of db and dbx.
pub const IMAGE_SECURITY_DATABASE: r_efi::efi::Guid = r_efi::efi::Guid::from_fields(
    0xd719_b2cb,
    0x3d3a,
    0x4596,
    0xa3,
    0xbc,
    &[0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f],
);
