//! A walk over DER: the `der` crate decodes each tag-length-value, and this
//! module keeps both the raw bytes (which signatures cover) and the value.
//!
//! The signature checks need the exact bytes that were signed (a certificate's
//! `tbsCertificate`, a signer's `signedAttrs`), so the structures are walked
//! field by field rather than decoded into types and encoded again.
#![forbid(unsafe_code)]

use der::asn1::AnyRef;
use der::{Decode, Reader, SliceReader, Tagged};

// The identifier octets of the tags the walk meets (ITU-T X.690 §8.1.2).

/// INTEGER.
pub const INTEGER: u8 = 0x02;
/// BIT STRING.
pub const BIT_STRING: u8 = 0x03;
/// OCTET STRING.
pub const OCTET_STRING: u8 = 0x04;
/// NULL.
pub const NULL: u8 = 0x05;
/// OBJECT IDENTIFIER.
pub const OID: u8 = 0x06;
/// SEQUENCE (and SEQUENCE OF), constructed.
pub const SEQUENCE: u8 = 0x30;
/// SET (and SET OF), constructed.
pub const SET: u8 = 0x31;
/// Context-specific `[0]`, constructed.
pub const CONTEXT_0: u8 = 0xa0;
/// Context-specific `[1]`, constructed.
pub const CONTEXT_1: u8 = 0xa1;

/// What was being read when the DER was not what it should be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asn1Error(pub &'static str);

/// One element: its tag, its whole encoding and its contents.
#[derive(Clone, Copy, Debug)]
pub struct Tlv<'a> {
    /// The identifier octet (tag number, class and constructed bit).
    pub tag: u8,
    /// The whole encoding: identifier, length and contents.
    pub raw: &'a [u8],
    /// The contents alone.
    pub value: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// The first element of `bytes`; anything after it is ignored (a
    /// WIN_CERTIFICATE pads its PKCS#7 blob to eight bytes).
    pub fn first(bytes: &'a [u8], what: &'static str) -> Result<Tlv<'a>, Asn1Error> {
        let mut reader = SliceReader::new(bytes).map_err(|_| Asn1Error(what))?;
        read(&mut reader, what)
    }

    /// The elements inside a constructed element.
    pub fn children(&self, what: &'static str) -> Result<Children<'a>, Asn1Error> {
        if self.tag & 0x20 == 0 {
            return Err(Asn1Error(what));
        }
        Children::new(self.value, what)
    }

    /// The element itself if it carries `tag`, else an error naming `what`.
    pub fn expect(self, tag: u8, what: &'static str) -> Result<Tlv<'a>, Asn1Error> {
        if self.tag == tag {
            Ok(self)
        } else {
            Err(Asn1Error(what))
        }
    }
}

fn read<'a>(reader: &mut SliceReader<'a>, what: &'static str) -> Result<Tlv<'a>, Asn1Error> {
    let raw = reader.tlv_bytes().map_err(|_| Asn1Error(what))?;
    let any = AnyRef::from_der(raw).map_err(|_| Asn1Error(what))?;
    Ok(Tlv {
        tag: any.tag().octet(),
        raw,
        value: any.value(),
    })
}

/// The elements of a SEQUENCE or SET, in order.
pub struct Children<'a> {
    reader: SliceReader<'a>,
}

impl<'a> Children<'a> {
    /// The elements encoded back to back in `value` (a constructed
    /// element's contents); `what` names it in errors.
    pub fn new(value: &'a [u8], what: &'static str) -> Result<Children<'a>, Asn1Error> {
        Ok(Children {
            reader: SliceReader::new(value).map_err(|_| Asn1Error(what))?,
        })
    }

    /// The next element, which must exist and carry `tag`.
    pub fn next(&mut self, tag: u8, what: &'static str) -> Result<Tlv<'a>, Asn1Error> {
        self.any(what)?.expect(tag, what)
    }

    /// The next element, whatever its tag.
    pub fn any(&mut self, what: &'static str) -> Result<Tlv<'a>, Asn1Error> {
        if self.reader.is_finished() {
            return Err(Asn1Error(what));
        }
        read(&mut self.reader, what)
    }

    /// The next element if it carries `tag` (an OPTIONAL field).
    pub fn optional(&mut self, tag: u8, what: &'static str) -> Result<Option<Tlv<'a>>, Asn1Error> {
        if self.reader.is_finished() {
            return Ok(None);
        }
        let header = self.reader.peek_header().map_err(|_| Asn1Error(what))?;
        if header.tag.octet() != tag {
            return Ok(None);
        }
        read(&mut self.reader, what).map(Some)
    }

    /// Whether every element has been read.
    pub fn is_empty(&self) -> bool {
        self.reader.is_finished()
    }
}

impl<'a> Iterator for Children<'a> {
    type Item = Result<Tlv<'a>, Asn1Error>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.reader.is_finished() {
            return None;
        }
        Some(read(&mut self.reader, "element of a SEQUENCE or SET"))
    }
}

/// An INTEGER's magnitude without the sign-padding zero byte.
pub fn unsigned(value: &[u8]) -> &[u8] {
    let mut v = value;
    while v.len() > 1 && v[0] == 0 {
        v = &v[1..];
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_a_sequence_and_keeps_raw_bytes() {
        // SEQUENCE { INTEGER 5, OCTET STRING 'ab', [0] { NULL } }
        let der = [
            0x30, 0x0b, 0x02, 0x01, 0x05, 0x04, 0x02, b'a', b'b', 0xa0, 0x02, 0x05, 0x00, 0xff, 0xff,
        ];
        let seq = Tlv::first(&der, "test").unwrap();
        assert_eq!(seq.tag, SEQUENCE);
        assert_eq!(seq.raw.len(), 13);
        let mut c = seq.children("test").unwrap();
        assert_eq!(c.next(INTEGER, "i").unwrap().value, &[5]);
        assert!(c.optional(CONTEXT_0, "x").unwrap().is_none());
        assert_eq!(c.next(OCTET_STRING, "o").unwrap().value, b"ab");
        let ctx = c.optional(CONTEXT_0, "x").unwrap().unwrap();
        assert_eq!(ctx.children("x").unwrap().next(NULL, "n").unwrap().value, &[] as &[u8]);
        assert!(c.is_empty());
        assert!(c.any("end").is_err());
    }

    #[test]
    fn refuses_truncated_and_non_minimal_encodings() {
        assert!(Tlv::first(&[0x30, 0x05, 0x02, 0x01], "t").is_err());
        assert!(Tlv::first(&[], "t").is_err());
        // Long form for a short length is not DER.
        assert!(Tlv::first(&[0x04, 0x81, 0x01, 0x00], "t").is_err());
    }
}
