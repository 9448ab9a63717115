//! Command-line front ends. Thin: parse, call the library, print, choose the exit code.

pub mod drivectl;
pub mod strata;
pub mod table;
