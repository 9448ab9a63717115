//! Small pieces every part of Strata shares, one copy of each: crash-safe file writes and
//! locks (`fsutil`), sizes parsed from and printed for people (`size`). Depends on nothing of
//! ours.

pub mod fsutil;
pub mod size;
