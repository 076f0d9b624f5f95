//! The one AML object the firmware reads: `\_S5`'s sleep type values
//! (ACPI 6.5 §7.4.2, encodings of §20.2).

const AML_PACKAGE_OP: u8 = 0x12;
const AML_ZERO_OP: u8 = 0x00;
const AML_ONE_OP: u8 = 0x01;
const AML_BYTE_PREFIX: u8 = 0x0a;

/// One integer element of a package: ZeroOp, OneOp or a ByteConst. Returns the
/// value and the bytes it took.
fn aml_small_integer(bytes: &[u8]) -> Option<(u8, usize)> {
    match *bytes.first()? {
        AML_ZERO_OP => Some((0, 1)),
        AML_ONE_OP => Some((1, 1)),
        AML_BYTE_PREFIX => Some((*bytes.get(1)?, 2)),
        _ => None,
    }
}

/// The SLP_TYPa/SLP_TYPb values of `\_S5` in AML (the DSDT body): the name is
/// followed by a package whose first two elements are small integers. This is
/// the one AML object the firmware needs, so it is found by its encoding rather
/// than by interpreting AML.
pub fn s5_sleep_type(aml: &[u8]) -> Option<(u8, u8)> {
    let at = aml.windows(4).position(|w| w == b"_S5_")?;
    let rest = aml.get(at + 4..)?;
    if *rest.first()? != AML_PACKAGE_OP {
        return None;
    }
    // PkgLength: bits 6-7 of the lead byte count the bytes that follow it.
    let length_bytes = 1 + usize::from(rest.get(1)? >> 6);
    let elements = rest.get(1 + length_bytes + 1..)?;
    let (a, used) = aml_small_integer(elements)?;
    let (b, _) = aml_small_integer(elements.get(used..)?)?;
    Some((a, b))
}
