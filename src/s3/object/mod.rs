//! Object operations, one file each: get (GET, HEAD, attributes), put, copy, delete.

pub mod copy;
pub mod delete;
pub mod get;
pub mod put;
