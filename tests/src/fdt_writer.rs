//! Writes flattened device tree blobs (Devicetree Specification v0.4 §5):
//! the header, an empty memory reservation block, the structure block and
//! the strings block, version 17. Enough for the test harness to build the
//! tree another VMM would hand the firmware, property by property, without
//! a device tree compiler on the machine.

const FDT_MAGIC: u32 = 0xd00d_feed;
const FDT_BEGIN_NODE: u32 = 0x1;
const FDT_END_NODE: u32 = 0x2;
const FDT_PROP: u32 = 0x3;
const FDT_END: u32 = 0x9;
/// §5.2: the header is ten big-endian 32-bit fields.
const HEADER_SIZE: usize = 40;
/// §5.3: one (address, size) pair of zeros ends the reservation block.
const EMPTY_RESERVATIONS: usize = 16;

/// A device tree under construction. Nodes nest by calling
/// [`FdtWriter::begin_node`] and [`FdtWriter::end_node`] in pairs; the root
/// node's name is empty.
#[derive(Default)]
pub struct FdtWriter {
    structure: Vec<u8>,
    strings: Vec<u8>,
    depth: usize,
}

impl FdtWriter {
    pub fn new() -> FdtWriter {
        FdtWriter::default()
    }

    fn word(&mut self, value: u32) {
        self.structure.extend_from_slice(&value.to_be_bytes());
    }

    /// §5.4.1: tokens are 32-bit aligned, so names and values are padded.
    fn pad(&mut self) {
        while !self.structure.len().is_multiple_of(4) {
            self.structure.push(0);
        }
    }

    /// Offset of `name` in the strings block, added once.
    fn name_offset(&mut self, name: &str) -> u32 {
        let mut at = 0;
        while at < self.strings.len() {
            let end = at + self.strings[at..].iter().position(|&b| b == 0).unwrap_or(0);
            if &self.strings[at..end] == name.as_bytes() {
                return at as u32;
            }
            at = end + 1;
        }
        let offset = self.strings.len() as u32;
        self.strings.extend_from_slice(name.as_bytes());
        self.strings.push(0);
        offset
    }

    pub fn begin_node(&mut self, name: &str) {
        self.word(FDT_BEGIN_NODE);
        self.structure.extend_from_slice(name.as_bytes());
        self.structure.push(0);
        self.pad();
        self.depth += 1;
    }

    pub fn end_node(&mut self) {
        assert!(self.depth > 0, "end_node without begin_node");
        self.word(FDT_END_NODE);
        self.depth -= 1;
    }

    /// A property with raw bytes as its value.
    pub fn property(&mut self, name: &str, value: &[u8]) {
        let offset = self.name_offset(name);
        self.word(FDT_PROP);
        self.word(value.len() as u32);
        self.word(offset);
        self.structure.extend_from_slice(value);
        self.pad();
    }

    /// A property with no value (`dma-coherent;`).
    pub fn property_null(&mut self, name: &str) {
        self.property(name, &[]);
    }

    pub fn property_string(&mut self, name: &str, value: &str) {
        self.property_strings(name, &[value]);
    }

    /// A string list (`compatible = "arm,pl011", "arm,primecell";`).
    pub fn property_strings(&mut self, name: &str, values: &[&str]) {
        let mut bytes = Vec::new();
        for v in values {
            bytes.extend_from_slice(v.as_bytes());
            bytes.push(0);
        }
        self.property(name, &bytes);
    }

    pub fn property_u32(&mut self, name: &str, value: u32) {
        self.property_u32s(name, &[value]);
    }

    /// Big-endian 32-bit cells.
    pub fn property_u32s(&mut self, name: &str, values: &[u32]) {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
        self.property(name, &bytes);
    }

    /// Big-endian 64-bit values, two cells each (`reg` with
    /// `#address-cells = <2>` and `#size-cells = <2>`).
    pub fn property_u64s(&mut self, name: &str, values: &[u64]) {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
        self.property(name, &bytes);
    }

    /// The blob: header, reservation block, structure block, strings block.
    pub fn finish(mut self) -> Vec<u8> {
        assert_eq!(self.depth, 0, "unclosed device tree node");
        self.word(FDT_END);
        let reservations = HEADER_SIZE;
        let structure = reservations + EMPTY_RESERVATIONS;
        let strings = structure + self.structure.len();
        let total = strings + self.strings.len();
        let header = [
            FDT_MAGIC,
            total as u32,
            structure as u32,
            strings as u32,
            reservations as u32,
            17, // version
            16, // last compatible version
            0,  // boot CPU
            self.strings.len() as u32,
            self.structure.len() as u32,
        ];
        let mut blob: Vec<u8> = header.iter().flat_map(|v| v.to_be_bytes()).collect();
        blob.resize(structure, 0);
        blob.extend_from_slice(&self.structure);
        blob.extend_from_slice(&self.strings);
        blob
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fw_drivers::fdt::Fdt;

    #[test]
    fn the_firmware_parser_reads_what_is_written() {
        let mut w = FdtWriter::new();
        w.begin_node("");
        w.property_u32("#address-cells", 2);
        w.property_u32("#size-cells", 2);
        w.begin_node("memory@40000000");
        w.property_string("device_type", "memory");
        w.property_u64s("reg", &[0x4000_0000, 0x2000_0000]);
        w.end_node();
        w.begin_node("pl011@9000000");
        w.property_strings("compatible", &["arm,pl011", "arm,primecell"]);
        w.property_u64s("reg", &[0x900_0000, 0x1000]);
        w.property_null("dma-coherent");
        w.end_node();
        w.end_node();
        let blob = w.finish();

        let fdt = Fdt::new(&blob).unwrap();
        assert_eq!(fdt.as_bytes().len(), blob.len());
        let memory: Vec<_> = fdt.nodes().filter(|n| n.is_memory()).flat_map(|n| n.reg()).collect();
        assert_eq!(memory, [(0x4000_0000, 0x2000_0000)]);
        let uart = fdt.find_compatible("arm,primecell").unwrap();
        assert_eq!(uart.name(), "pl011@9000000");
        assert!(uart.is_compatible("arm,pl011"));
        assert_eq!(uart.first_reg(), Some((0x900_0000, 0x1000)));
        assert!(uart.has_property("dma-coherent"));
    }

    #[test]
    fn property_names_are_stored_once() {
        let mut w = FdtWriter::new();
        w.begin_node("");
        for name in ["a@1", "a@2", "a@3"] {
            w.begin_node(name);
            w.property_string("compatible", "x");
            w.end_node();
        }
        w.end_node();
        let blob = w.finish();
        let strings = &blob[u32::from_be_bytes(blob[12..16].try_into().unwrap()) as usize..];
        assert_eq!(strings, b"compatible\0");
        assert_eq!(
            Fdt::new(&blob)
                .unwrap()
                .nodes()
                .filter(|n| n.is_compatible("x"))
                .count(),
            3
        );
    }
}
