//! `chartscan user add`: add a user or reset their password and role; the password is read
//! from stdin (prompted on a terminal), never from the command line.

use super::Context;
use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use std::io::{IsTerminal, Read, Write};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add a user (or reset their password and role); the password is read from stdin.
    Add {
        /// Login name.
        name: String,
        /// What they may do.
        #[arg(long, value_enum)]
        role: RoleArg,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Clerk,
    Reviewer,
    Manager,
    Admin,
}

impl From<RoleArg> for chart::Role {
    fn from(r: RoleArg) -> chart::Role {
        match r {
            RoleArg::Clerk => chart::Role::Clerk,
            RoleArg::Reviewer => chart::Role::Reviewer,
            RoleArg::Manager => chart::Role::Manager,
            RoleArg::Admin => chart::Role::Admin,
        }
    }
}

pub async fn run(ctx: &Context, command: Command) -> Result<i32> {
    let Command::Add { name, role } = command;
    let store = ctx.store().await?;
    let mut password = String::new();
    if std::io::stdin().is_terminal() {
        eprint!("password for {name}: ");
        std::io::stderr().flush()?;
        std::io::stdin().read_line(&mut password)?;
    } else {
        std::io::stdin().read_to_string(&mut password)?;
    }
    let password = password.trim_end_matches(['\r', '\n']);
    let user = store.add_user(&name, role.into(), password).await?;
    eprintln!("user {} ({}) saved", user.name, user.role);
    Ok(0)
}
