//! Windows: SIDs and DACLs, reparse points, console control events and job objects.

pub mod env;
pub mod fs;
pub mod process;
pub mod user;
