//! Serial ports.

pub mod ns16550;
pub mod pl011;
