//! `lesson-10 measure`: placeholder until the measuring module lands.

use clap::Args as ClapArgs;

/// The measurement's flags.
#[derive(ClapArgs)]
pub struct Flags {}

pub fn run(_: &Flags) -> Result<(), Box<dyn std::error::Error>> {
    Err("measure is not built yet".into())
}
