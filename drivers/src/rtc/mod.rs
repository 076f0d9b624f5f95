//! Real-time clocks and the calendar arithmetic around them.

pub mod calendar;
pub mod cmos;
pub mod goldfish;
pub mod pl031;
