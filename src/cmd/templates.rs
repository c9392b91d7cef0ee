//! `chartscan templates check|list`: explain every problem of a template file; list the
//! templates in use.

use super::Context;
use anyhow::{Context as _, Result};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a template file and explain every problem.
    Check {
        /// The template (.toml).
        file: PathBuf,
    },
    /// List the templates in use.
    List,
}

/// `check` exits with 2 when the template has problems.
pub fn run(ctx: &Context, command: Command) -> Result<i32> {
    match command {
        Command::List => {
            for t in ctx.templates.iter() {
                println!("{:8} {} ({} fields)", t.form, t.name, t.fields.len());
            }
            Ok(0)
        }
        Command::Check { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            match chart::Template::parse(&text) {
                Ok(t) => {
                    println!("{}: ok, form {:?} with {} field(s)", file.display(), t.form, t.fields.len());
                    Ok(0)
                }
                Err(e) => {
                    eprintln!("{}:", file.display());
                    for problem in &e.problems {
                        eprintln!("  {problem}");
                    }
                    Ok(2)
                }
            }
        }
    }
}
