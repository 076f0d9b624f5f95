//! Display controllers: the Bochs VBE "DISPI" interface of QEMU's standard
//! VGA and `bochs-display` ([`bochs`]).

pub mod bochs;
