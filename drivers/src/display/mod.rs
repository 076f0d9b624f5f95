//! Display controllers: the Bochs VBE "DISPI" interface of QEMU's standard
//! VGA and `bochs-display` ([`bochs`]), and `ramfb` ([`ramfb`]).

pub mod bochs;
pub mod ramfb;
