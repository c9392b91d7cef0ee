//! `chartscan templates`: check a template file, list the templates in use and their stored
//! versions, move stored templates between installations as TOML files (`export`, `import`),
//! and extract a facility's unapproved charts again with the templates in use.

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
    /// List the templates in use, and every stored version.
    List,
    /// Write the newest stored version of each template to DIR as TOML (FORM[-FACILITY].toml).
    Export {
        /// Folder to write into (created if missing).
        dir: PathBuf,
    },
    /// Store template files as the next version of their form (and facility); they are used
    /// from the next extraction on.
    Import {
        /// Template files (.toml).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Extract again, with the templates in use, the charts that are not approved yet (of
    /// one facility, or all). Reviewers' corrections of those charts are replaced.
    Reextract {
        /// Only this facility's charts.
        #[arg(long)]
        facility: Option<String>,
    },
}

/// `check` exits with 2 when the template has problems.
pub async fn run(ctx: &Context, command: Command) -> Result<i32> {
    match command {
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
        Command::List => {
            let store = ctx.store().await?;
            for t in store.templates().iter() {
                let scope = t.facility.as_deref().map(|f| format!(" [facility {f}]")).unwrap_or_default();
                println!("{:8} {}{scope} ({} fields)", t.form, t.name, t.fields.len());
            }
            let stored = store.stored_templates();
            if !stored.is_empty() {
                println!("\nstored versions:");
                for s in stored {
                    let at = store::rfc3339(s.saved_at);
                    println!("  {:8} {:8} v{:<3} saved by {} at {at}", s.form, s.facility.as_deref().unwrap_or("(all)"), s.version, s.saved_by);
                }
            }
            Ok(0)
        }
        Command::Export { dir } => {
            let store = ctx.store().await?;
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let mut newest: std::collections::BTreeMap<(String, Option<String>), store::StoredTemplate> = Default::default();
            for s in store.stored_templates() {
                let key = (s.form.clone(), s.facility.clone());
                if newest.get(&key).is_none_or(|n| n.version < s.version) {
                    newest.insert(key, s);
                }
            }
            for ((form, facility), s) in &newest {
                let name = match facility {
                    Some(f) => format!("{form}-{f}.toml"),
                    None => format!("{form}.toml"),
                };
                let path = dir.join(name);
                let text = format!("# {form} v{} saved by {} at {}\n{}", s.version, s.saved_by, store::rfc3339(s.saved_at), toml::to_string(&s.template)?);
                std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
                println!("{}", path.display());
            }
            eprintln!("{} template(s) written to {}", newest.len(), dir.display());
            Ok(0)
        }
        Command::Import { files } => {
            let store = ctx.store().await?;
            let mut templates = Vec::new();
            for file in &files {
                let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
                templates.push(chart::Template::parse(&text).with_context(|| format!("template {}", file.display()))?);
            }
            for (t, file) in templates.iter().zip(&files) {
                let saved = store.save_template(t, &super::cli_actor()).await?;
                let scope = saved.facility.as_deref().map(|f| format!(" for facility {f}")).unwrap_or_default();
                eprintln!("{}: stored as {} v{}{scope}", file.display(), saved.form, saved.version);
            }
            Ok(0)
        }
        Command::Reextract { facility } => {
            let store = ctx.store().await?;
            let n = store.reextract_charts(facility.as_deref(), &super::cli_actor()).await?;
            eprintln!("{n} chart(s) extracted again");
            Ok(0)
        }
    }
}
