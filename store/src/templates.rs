//! Form templates kept in the database: taught in the studio or imported from files, every
//! saved version kept and audited. The templates in use are the base set (bundled, or a
//! folder given to the command line) with each stored (form, facility)'s newest version in
//! place of the base template of that form and facility, or added to them.

use crate::{audit, now_ms, Result, Store, StoreError};
use chart::Template;
use std::collections::HashMap;
use std::sync::Arc;

/// A saved version of a template.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredTemplate {
    /// Row id (what a chart records as the template it was extracted with).
    pub id: i64,
    /// The form.
    pub form: String,
    /// The facility whose variant it is.
    pub facility: Option<String>,
    /// 1, 2, ... per (form, facility).
    pub version: i64,
    /// Who saved it.
    pub saved_by: String,
    /// When (Unix ms).
    pub saved_at: i64,
    /// The template.
    pub template: Template,
}

/// The templates a store extracts with (shared by all clones of the store, so that a template
/// saved through one is used by all).
#[derive(Debug, Default)]
pub(crate) struct TemplateSet {
    base: Arc<Vec<Template>>,
    stored: Vec<StoredTemplate>,
    merged: Arc<Vec<Template>>,
}

impl TemplateSet {
    pub(crate) fn new(base: Arc<Vec<Template>>) -> TemplateSet {
        TemplateSet { merged: base.clone(), base, stored: Vec::new() }
    }

    fn key(form: &str, facility: Option<&str>) -> (String, String) {
        (form.to_string(), facility.unwrap_or("").to_string())
    }

    /// The newest stored version of each (form, facility).
    fn newest(&self) -> HashMap<(String, String), &StoredTemplate> {
        let mut newest: HashMap<(String, String), &StoredTemplate> = HashMap::new();
        for s in &self.stored {
            let k = Self::key(&s.form, s.facility.as_deref());
            if newest.get(&k).is_none_or(|n| n.version < s.version) {
                newest.insert(k, s);
            }
        }
        newest
    }

    fn remerge(&mut self) {
        let newest = self.newest();
        let mut merged: Vec<Template> = self.base.iter().filter(|t| !newest.contains_key(&Self::key(&t.form, t.facility.as_deref()))).cloned().collect();
        let mut stored: Vec<&&StoredTemplate> = newest.values().collect();
        stored.sort_by_key(|s| (s.form.clone(), s.facility.clone()));
        merged.extend(stored.into_iter().map(|s| s.template.clone()));
        self.merged = Arc::new(merged);
    }

    pub(crate) fn clone_stored(&self) -> Vec<StoredTemplate> {
        self.stored.clone()
    }

    pub(crate) fn set_stored(&mut self, stored: Vec<StoredTemplate>) {
        self.stored = stored;
        self.remerge();
    }

    pub(crate) fn set_base(&mut self, base: Arc<Vec<Template>>) {
        self.base = base;
        self.remerge();
    }

    pub(crate) fn merged(&self) -> Arc<Vec<Template>> {
        self.merged.clone()
    }

    /// The stored template in use for (form, facility), if the one in use is stored.
    pub(crate) fn in_use_id(&self, form: &str, facility: Option<&str>) -> Option<i64> {
        self.newest().get(&Self::key(form, facility)).map(|s| s.id)
    }
}

fn parse_stored(toml_text: &str, what: &str) -> Result<Template> {
    Template::parse(toml_text).map_err(|e| StoreError::Invalid(format!("stored template {what}: {e}")))
}

impl Store {
    /// Reads the stored templates into the set in use: at start, and whenever a long-running
    /// process (a worker, a watcher) starts a round of work, so that a version saved by
    /// another process on another machine is used from its next round on.
    pub async fn reload_templates(&self) -> Result<()> {
        let rows = sqlx::query_as::<_, (i64, String, String, i64, String, String, i64)>(
            "SELECT id, form, facility, version, toml, saved_by, saved_at FROM templates ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut stored = Vec::new();
        for (id, form, facility, version, toml_text, saved_by, saved_at) in rows {
            let template = parse_stored(&toml_text, &format!("{form} v{version}"))?;
            stored.push(StoredTemplate { id, form, facility: (!facility.is_empty()).then_some(facility), version, saved_by, saved_at, template });
        }
        let mut set = self.template_set.write().expect("not poisoned");
        set.stored = stored;
        set.remerge();
        Ok(())
    }

    /// Every stored version of every template, oldest first.
    pub fn stored_templates(&self) -> Vec<StoredTemplate> {
        self.template_set.read().expect("not poisoned").stored.clone()
    }

    /// Saves `template` as the next version of its (form, facility), audited as `actor`; it is
    /// in use at once by this store and its clones (other processes: on their next start).
    /// Charts already extracted keep their version until re-extracted.
    pub async fn save_template(&self, template: &Template, actor: &str) -> Result<StoredTemplate> {
        template.check().map_err(|e| StoreError::Invalid(e.to_string()))?;
        let text = toml::to_string(template).map_err(|e| StoreError::Invalid(format!("template cannot be written as TOML: {e}")))?;
        let facility = template.facility.clone().unwrap_or_default();
        let now = now_ms();
        let mut tx = self.begin_write().await?;
        let version: i64 = sqlx::query_as::<_, (i64,)>("SELECT COALESCE(MAX(version), 0) + 1 FROM templates WHERE form = $1 AND facility = $2")
            .bind(&template.form)
            .bind(&facility)
            .fetch_one(&mut *tx)
            .await?
            .0;
        let (id,): (i64,) =
            sqlx::query_as("INSERT INTO templates (form, facility, version, toml, saved_by, saved_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
                .bind(&template.form)
                .bind(&facility)
                .bind(version)
                .bind(&text)
                .bind(actor)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
        let scope = if facility.is_empty() { "all facilities".to_string() } else { format!("facility {facility}") };
        audit(&mut tx, actor, "template_save", None, &format!("{} v{version} for {scope}, {} field(s)", template.form, template.fields.len())).await?;
        tx.commit().await?;
        let saved = StoredTemplate {
            id,
            form: template.form.clone(),
            facility: template.facility.clone(),
            version,
            saved_by: actor.to_string(),
            saved_at: now,
            template: parse_stored(&text, "just saved")?,
        };
        let mut set = self.template_set.write().expect("not poisoned");
        set.stored.push(saved.clone());
        set.remerge();
        Ok(saved)
    }

    /// The most recent charts whose pages are read (of one facility, or all), newest first:
    /// (chart, facility, form, file name), for choosing an example in the studio.
    pub async fn recent_charts(&self, facility: Option<&str>, limit: i64) -> Result<Vec<(String, String, Option<String>, String)>> {
        Ok(sqlx::query_as(
            "SELECT c.public_id, c.facility, c.form, f.original_name FROM charts c JOIN files f ON f.id = c.file_id
             WHERE c.status <> 'ingested' AND ($1 = '' OR c.facility = $1) ORDER BY c.id DESC LIMIT $2",
        )
        .bind(facility.unwrap_or(""))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The stored template version a chart was last extracted with: `None` when it was a
    /// bundled (or command-line) template, or the chart is not extracted yet.
    pub async fn chart_template(&self, public_id: &str) -> Result<Option<StoredTemplate>> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT template_id FROM charts WHERE public_id = $1").bind(public_id).fetch_optional(&self.pool).await?;
        let Some((id,)) = row else { return Err(StoreError::NotFound(format!("chart {public_id}"))) };
        Ok(id.and_then(|id| self.stored_templates().into_iter().find(|s| s.id == id)))
    }

    /// Extracts again, with the templates in use, every chart of `facility` (all with
    /// `None`) whose pages are read and which is not approved, rejected or being keyed a
    /// second time; reviewers' corrections of those charts are replaced. Audited; returns
    /// how many charts were extracted.
    pub async fn reextract_charts(&self, facility: Option<&str>, actor: &str) -> Result<usize> {
        let ids: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, public_id FROM charts WHERE status IN ('extracted', 'in_review') AND ($1 = '' OR facility = $1) ORDER BY id")
                .bind(facility.unwrap_or(""))
                .fetch_all(&self.pool)
                .await?;
        for (id, public_id) in &ids {
            let mut tx = self.begin_write().await?;
            sqlx::query("UPDATE charts SET version = version + 1 WHERE id = $1").bind(id).execute(&mut *tx).await?;
            self.reextract(&mut tx, *id).await?;
            audit(&mut tx, actor, "reextract", Some(public_id), "with the templates in use").await?;
            tx.commit().await?;
        }
        Ok(ids.len())
    }
}
