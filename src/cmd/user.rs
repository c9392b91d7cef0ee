//! `chartscan user add|passwd|role|facilities`: add a user, set a user's password, role or facilities. Passwords
//! are read from stdin (prompted on a terminal), never from the command line. Changing a
//! password or a role ends the user's sessions; the audit names the operating-system user who
//! ran the command.

use super::{cli_actor, Context};
use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use std::io::{IsTerminal, Read, Write};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add a user; the password (12 characters or more, not a common one) is read from stdin.
    /// A name already taken is refused.
    Add {
        /// Login name.
        name: String,
        /// What they may do.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// A facility whose charts they see (repeat for several); none: every facility.
        #[arg(long = "facility", value_name = "CODE")]
        facilities: Vec<String>,
    },
    /// Set whose charts a user sees: facility codes, or --all; their sessions end.
    Facilities {
        /// Login name.
        name: String,
        /// Facility codes.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        codes: Vec<String>,
        /// Every facility.
        #[arg(long)]
        all: bool,
    },
    /// Set a user's password (read from stdin); their sessions end.
    Passwd {
        /// Login name.
        name: String,
    },
    /// Give a user another role; their sessions end.
    Role {
        /// Login name.
        name: String,
        /// What they may do from now on.
        #[arg(value_enum)]
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

/// A password from stdin: prompted for on a terminal, otherwise the whole input.
fn read_password(name: &str) -> Result<String> {
    let mut password = String::new();
    if std::io::stdin().is_terminal() {
        eprint!("password for {name}: ");
        std::io::stderr().flush()?;
        std::io::stdin().read_line(&mut password)?;
    } else {
        std::io::stdin().read_to_string(&mut password)?;
    }
    Ok(password.trim_end_matches(['\r', '\n']).to_string())
}

pub async fn run(ctx: &Context, command: Command) -> Result<i32> {
    let store = ctx.store().await?;
    let by = cli_actor();
    match command {
        Command::Add { name, role, facilities } => {
            let password = read_password(&name)?;
            let facilities = if facilities.is_empty() { store::Facilities::All } else { store::Facilities::Only(facilities) };
            let user = store.add_user_for(&name, role.into(), facilities, &password, &by).await?;
            eprintln!("user {} ({}, {}) added", user.name, user.role, user.facilities);
        }
        Command::Facilities { name, codes, all } => {
            let facilities = if all { store::Facilities::All } else { store::Facilities::Only(codes) };
            store.set_facilities(&name, facilities.clone(), &by).await?;
            eprintln!("{name} now sees {facilities}; their sessions have ended");
        }
        Command::Passwd { name } => {
            let password = read_password(&name)?;
            store.set_password(&name, &password, &by).await?;
            eprintln!("password of {name} set; their sessions have ended");
        }
        Command::Role { name, role } => {
            let role: chart::Role = role.into();
            store.set_role(&name, role, &by).await?;
            eprintln!("{name} is now {role}; their sessions have ended");
        }
    }
    Ok(0)
}
