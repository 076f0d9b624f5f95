//! Secure Boot checks on the EFI binaries Debian ships (the directory named
//! by `HVFW_EFI_BINARIES`, as for `crate::image::real_binaries`; `cargo xtask
//! test` fills it and runs these ignored tests) and on the Microsoft
//! certificates enrolled in Debian's OVMF_VARS_4M.ms.fd (package ovmf).
//!
//! The reference digests were computed by pesign 0.112 (Debian 12), with
//! `pesign -h -i FILE`, for shim-signed 1.51~1+deb12u1+16.1-2~deb12u1,
//! grub-efi-amd64-signed 1+2.06+13+deb12u2, systemd-boot-efi 252.39-1~deb12u2
//! and linux-image-6.1.0-57-cloud-amd64 6.1.192-3.

use super::authenticode;
use super::digest::HashAlgorithm;
use super::pkcs7;
use super::policy::{check, Approval, Refusal};
use super::signature_list::{self, Entry, Signature, CERT_X509};
use fw_efi_binaries::{self as binaries, read};
use r_efi::efi::Guid;
use std::string::String;
use std::vec::Vec;

const OWNER: Guid = Guid::from_fields(0x1234_5678, 1, 2, 3, 4, &[5; 6]);
const OVMF_MS_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd";

/// The cloud kernel's bytes.
fn kernel() -> Vec<u8> {
    binaries::kernel().1
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| std::format!("{b:02x}")).collect()
}

fn sha256(pe: &[u8]) -> Vec<u8> {
    authenticode::digest(pe, &authenticode::layout(pe).unwrap(), HashAlgorithm::Sha256)
}

#[test]
#[ignore = "needs Debian's EFI binaries (HVFW_EFI_BINARIES)"]
fn authenticode_digests_match_pesign() {
    for (name, expected) in [
        (
            "shimx64.efi.signed",
            "80a66d53a945d2286fcadd780fae1c225aa732079cd67b5225dc78aaab4e2ff8",
        ),
        (
            "grubx64.efi.signed",
            "a68f6d71ebddaa19751ff8d729f67d11b0df8e4c49400c3e7e90de16119e1265",
        ),
        (
            "systemd-bootx64.efi",
            "7843e376e57323bcdfebcffc8d5109eb39721c83d8bedab1dfd6431596875c2c",
        ),
        (
            "linuxx64.efi.stub",
            "28fd6b9a39b745449fa2389a31045900804eae49ea7edb0f8c152a131df0002c",
        ),
    ] {
        assert_eq!(hex(&sha256(&read(name))), expected, "{name}");
    }
    assert_eq!(
        hex(&sha256(&kernel())),
        "65c89335d8a5d25a8eeffd4de4a02087ac8dcf26165dbff8806a19f68ecd2842"
    );
}

#[test]
#[ignore = "needs Debian's EFI binaries (HVFW_EFI_BINARIES)"]
fn signatures_carry_the_digest_the_image_has() {
    for pe in [read("shimx64.efi.signed"), read("grubx64.efi.signed"), kernel()] {
        let layout = authenticode::layout(&pe).unwrap();
        let blobs = authenticode::signatures(&pe, &layout).unwrap();
        assert!(!blobs.is_empty());
        for blob in blobs {
            let s = pkcs7::verify_signed_data(blob).unwrap();
            assert_eq!(s.image_digest, authenticode::digest(&pe, &layout, s.digest_algorithm));
        }
    }
    // shim 16.1 carries two signatures: Microsoft's UEFI CA 2011 and 2023.
    let shim = read("shimx64.efi.signed");
    let layout = authenticode::layout(&shim).unwrap();
    assert_eq!(authenticode::signatures(&shim, &layout).unwrap().len(), 2);
}

/// Microsoft's certificate whose subject contains `cn`, from the ESLs in
/// Debian's Microsoft-enrolled OVMF variable store.
fn microsoft(cn: &str) -> Vec<u8> {
    let vars = std::fs::read(OVMF_MS_VARS).unwrap_or_else(|e| panic!("{OVMF_MS_VARS} (package ovmf): {e}"));
    signature_list::scan(&vars, &CERT_X509)
        .into_iter()
        .find_map(|s| match s.entry {
            Entry::X509(der) if subject_contains(der, cn) => Some(der.to_vec()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no certificate {cn} in {OVMF_MS_VARS}"))
}

fn subject_contains(der: &[u8], cn: &str) -> bool {
    let cert = pkcs7::Certificate::parse(der).unwrap();
    cert.subject.windows(cn.len()).any(|w| w == cn.as_bytes())
}

fn x509(der: &[u8]) -> Vec<u8> {
    signature_list::build(&CERT_X509, &OWNER, der)
}

fn sigs(esl: &[u8]) -> Vec<Signature<'_>> {
    signature_list::parse(esl).unwrap()
}

#[test]
#[ignore = "needs Debian's EFI binaries (HVFW_EFI_BINARIES)"]
fn shim_is_allowed_by_microsoft_uefi_ca_2011_in_db() {
    let ca = microsoft("Microsoft Corporation UEFI CA 2011");
    let db = x509(&ca);
    let shim = read("shimx64.efi.signed");
    assert_eq!(check(&shim, &sigs(&db), &[]), Ok(Approval::Signature));
    // Without it the signatures verify but chain to nothing trusted.
    assert_eq!(check(&shim, &[], &[]), Err(Refusal::UnknownKey));
    // Microsoft's KEK CA is not an image-signing authority.
    let kek = x509(&microsoft("Microsoft Corporation KEK CA 2011"));
    assert_eq!(check(&shim, &sigs(&kek), &[]), Err(Refusal::UnknownKey));
    // GRUB and the kernel are Debian's: shim checks them, not db.
    assert_eq!(
        check(&read("grubx64.efi.signed"), &sigs(&db), &[]),
        Err(Refusal::UnknownKey)
    );
    assert_eq!(check(&kernel(), &sigs(&db), &[]), Err(Refusal::UnknownKey));
}

#[test]
#[ignore = "needs Debian's EFI binaries (HVFW_EFI_BINARIES)"]
fn dbx_revokes_by_hash_and_by_certificate() {
    let ca = microsoft("Microsoft Corporation UEFI CA 2011");
    let db = x509(&ca);
    let shim = read("shimx64.efi.signed");
    let by_hash = signature_list::build(&signature_list::CERT_SHA256, &OWNER, &sha256(&shim));
    assert_eq!(check(&shim, &sigs(&db), &sigs(&by_hash)), Err(Refusal::HashRevoked));
    assert_eq!(check(&shim, &sigs(&db), &sigs(&db)), Err(Refusal::CertificateRevoked));
    let tbs_hash = {
        let cert = pkcs7::Certificate::parse(&ca).unwrap();
        let mut data = HashAlgorithm::Sha256.hash(cert.tbs);
        data.extend_from_slice(&[0; 16]);
        signature_list::build(&signature_list::CERT_X509_SHA256, &OWNER, &data)
    };
    assert_eq!(
        check(&shim, &sigs(&db), &sigs(&tbs_hash)),
        Err(Refusal::CertificateRevoked)
    );
}

#[test]
#[ignore = "needs Debian's EFI binaries (HVFW_EFI_BINARIES)"]
fn leaf_certificate_and_hash_in_db_and_modified_images() {
    // The kernel's signer (Debian's "linux" signing certificate) itself in db.
    let k = kernel();
    let layout = authenticode::layout(&k).unwrap();
    let blob = authenticode::signatures(&k, &layout).unwrap()[0];
    let leaf = pkcs7::verify_signed_data(blob).unwrap().signers[0]
        .certificate
        .der
        .to_vec();
    let db = x509(&leaf);
    assert_eq!(check(&k, &sigs(&db), &[]), Ok(Approval::Signature));
    let mut changed = k.clone();
    let middle = changed.len() / 2;
    changed[middle] ^= 0x01;
    assert_eq!(check(&changed, &sigs(&db), &[]), Err(Refusal::Modified));
    // An unsigned image: refused, unless its hash is in db.
    let boot = read("systemd-bootx64.efi");
    assert_eq!(check(&boot, &sigs(&db), &[]), Err(Refusal::Unsigned));
    let by_hash = signature_list::build(&signature_list::CERT_SHA256, &OWNER, &sha256(&boot));
    assert_eq!(
        check(&boot, &sigs(&by_hash), &[]),
        Ok(Approval::Hash(HashAlgorithm::Sha256))
    );
}

#[test]
#[ignore = "needs Debian's EFI binaries (HVFW_EFI_BINARIES)"]
fn a_revoked_second_signature_revokes_a_trusted_image() {
    // shim's first signature chains to the UEFI CA 2011 in db; its second
    // carries Microsoft's UEFI CA 2023, put in dbx here.
    let db = x509(&microsoft("Microsoft Corporation UEFI CA 2011"));
    let shim = read("shimx64.efi.signed");
    let layout = authenticode::layout(&shim).unwrap();
    let second = authenticode::signatures(&shim, &layout).unwrap()[1];
    let certs = pkcs7::certificates(second).unwrap();
    let ca_2023 = certs
        .iter()
        .find(|c| c.subject.windows(20).any(|w| w == b"Microsoft UEFI CA 20"))
        .expect("the 2023 CA in shim's second signature");
    let dbx = x509(ca_2023.der);
    assert_eq!(check(&shim, &sigs(&db), &sigs(&dbx)), Err(Refusal::CertificateRevoked));
}
