//! Serial ports.

pub mod ns16550;
