//! The template studio's API (managers and admins): a stored chart's words with their boxes
//! to point at, trying a template being taught on the facility's other charts, and saving it
//! as the next version of its form for that facility. The page is `static/studio.html`.

use crate::auth::ApiUser;
use crate::error::AppError;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chart::studio::Taught;
use serde::Deserialize;
use serde_json::{json, Value};

/// The largest scan the studio accepts (ingest applies its own limits when it reads it).
const MAX_UPLOAD: usize = 64 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/studio/charts", get(charts))
        .route("/api/studio/charts/{id}/words", get(words))
        .route("/api/studio/fields", get(fields))
        .route("/api/studio/try", post(try_template))
        .route("/api/studio/save", post(save))
        .route("/api/studio/reextract", post(reextract))
        .route("/api/studio/upload", post(upload).layer(axum::extract::DefaultBodyLimit::max(MAX_UPLOAD)))
}

#[derive(Debug, Deserialize)]
struct ChartsQuery {
    facility: Option<String>,
}

/// Charts to teach from: the most recent 200 (of one facility), with their form.
async fn charts(State(state): State<AppState>, user: ApiUser, Query(q): Query<ChartsQuery>) -> Result<Json<Value>, AppError> {
    user.manager()?;
    // Versions saved by another server process are known from here on.
    state.store.reload_templates().await?;
    let mut list = state.store.recent_charts(q.facility.as_deref().filter(|f| !f.is_empty()), 200).await?;
    list.retain(|(_, facility, ..)| user.0.user.facilities.includes(facility));
    Ok(Json(json!(list
        .into_iter()
        .map(|(chart, facility, form, file)| json!({"chart": chart, "facility": facility, "form": form, "file": file}))
        .collect::<Vec<_>>())))
}

#[derive(Debug, Deserialize)]
struct FieldsQuery {
    form: String,
}

/// The fields the general template of `form` reads (name, type, its first English label;
/// for a table its columns and the fields its last row gives), offered in order as the fields
/// to show; custom names are allowed too.
async fn fields(State(state): State<AppState>, user: ApiUser, Query(q): Query<FieldsQuery>) -> Result<Json<Value>, AppError> {
    user.manager()?;
    let templates = state.store.templates();
    let english = |f: &chart::FieldSpec| f.labels.iter().find(|l| !chart::khmer::is_mostly_khmer(l)).cloned();
    let list: Vec<Value> = templates
        .iter()
        .find(|t| t.form == q.form && t.facility.is_none())
        .map(|t| {
            // Labelled fields first, in the form's order; then tables; the heading's (the
            // facility's name) last.
            let mut fields: Vec<&chart::FieldSpec> = t.fields.iter().filter(|f| f.kind != chart::FieldType::Address).collect();
            fields.sort_by_key(|f| (!f.heading.is_empty(), f.kind == chart::FieldType::Table));
            fields
                .iter()
                .map(|f| {
                    let mut v = json!({"name": f.name, "type": f.kind, "label": english(f)});
                    if f.kind == chart::FieldType::Table {
                        v["columns"] =
                            json!(f.columns.iter().map(|c| json!({"name": c.name, "type": c.kind, "key": c.key, "label": english(c)})).collect::<Vec<_>>());
                        v["latest"] = json!(f.latest);
                    }
                    v
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Json(json!(list)))
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    page: Option<u32>,
}

/// One page's OCR words with their boxes, numbered (what the author points at). Audited:
/// it shows the chart's content.
async fn words(State(state): State<AppState>, Path(id): Path<String>, user: ApiUser, Query(q): Query<PageQuery>) -> Result<Json<Value>, AppError> {
    let s = user.manager()?;
    let page = q.page.unwrap_or(1).max(1);
    let record = state.store.chart(&id).await?;
    let pages = state.store.chart_words(&id).await?;
    let words = pages.iter().find(|p| p.page == page).ok_or_else(|| AppError::NotFound(format!("page {page} of chart {id} has no words")))?;
    state.store.audit(&s.user.name, "studio_view", Some(&id), &format!("page {page}")).await?;
    Ok(Json(json!({
        "chart": id, "facility": record.facility, "form": record.form, "page": page, "pages": record.pages.len(),
        "width": words.width, "height": words.height,
        "words": words.words.iter().enumerate().map(|(i, w)| json!({"i": i, "text": w.text, "bbox": [w.bbox.x, w.bbox.y, w.bbox.w, w.bbox.h], "line": w.line})).collect::<Vec<_>>(),
    })))
}

#[derive(Debug, Deserialize)]
struct Teach {
    /// The example chart (fields are shown on its pages).
    chart: String,
    taught: Taught,
}

/// The template the author showed on the example chart.
async fn taught_template(state: &AppState, user: &store::Session, body: &Teach) -> Result<(chart::Template, String), AppError> {
    let record = state.store.chart(&body.chart).await?;
    if !user.user.facilities.includes(&record.facility) {
        return Err(AppError::NotFound(format!("chart {}", body.chart)));
    }
    let pages = state.store.chart_words(&body.chart).await?;
    if pages.is_empty() {
        return Err(AppError::Unprocessable(format!("chart {} has no read page to teach from", body.chart)));
    }
    let mut taught = body.taught.clone();
    if taught.facility.as_deref().is_some_and(str::is_empty) {
        taught.facility = None;
    }
    let template = chart::studio::build(&taught, &pages).map_err(|e| AppError::Unprocessable(e.problems.join("; ")))?;
    Ok((template, record.facility))
}

/// What the template being taught reads on the facility's other charts (up to 20), field
/// by field, without saving it.
async fn try_template(State(state): State<AppState>, user: ApiUser, Json(body): Json<Teach>) -> Result<Json<Value>, AppError> {
    let s = user.manager()?;
    let (template, facility) = taught_template(&state, s, &body).await?;
    let facility = template.facility.clone().unwrap_or(facility);
    if !s.user.facilities.includes(&facility) {
        return Err(AppError::NotFound(format!("facility {facility}")));
    }
    let others: Vec<String> =
        state.store.recent_charts(Some(&facility), 200).await?.into_iter().map(|(c, ..)| c).filter(|c| *c != body.chart).take(20).collect();
    let mut rows = Vec::new();
    for id in &others {
        let pages = state.store.chart_words(id).await?;
        if pages.is_empty() {
            continue;
        }
        let e = chart::extract::extract_with(&template, &pages);
        let fields: serde_json::Map<String, Value> = template
            .fields
            .iter()
            .map(|spec| {
                let f = e.fields.get(&spec.name);
                (
                    spec.name.clone(),
                    json!({"value": f.and_then(|f| f.value.as_ref()).map(chart::FieldValue::storage_text), "raw": f.map(|f| f.raw.clone()),
                           "rows": f.and_then(|f| f.value.as_ref()).and_then(chart::FieldValue::rows).map(<[chart::Row]>::len),
                           "review": f.is_none_or(|f| f.needs_review), "issue": f.and_then(|f| f.issue.clone())}),
                )
            })
            .collect();
        rows.push(json!({"chart": id, "fields": fields}));
    }
    state
        .store
        .audit(&s.user.name, "studio_try", Some(&body.chart), &format!("{} field(s) on {} chart(s) of {facility}", template.fields.len(), rows.len()))
        .await?;
    Ok(Json(json!({"fields": template.fields.iter().map(|f| &f.name).collect::<Vec<_>>(), "charts": rows})))
}

/// Saves the template as the next version of its form for the facility; used from the next
/// extraction on (`chartscan templates reextract` reads the facility's charts again).
async fn save(State(state): State<AppState>, user: ApiUser, Json(body): Json<Teach>) -> Result<Json<Value>, AppError> {
    let s = user.manager()?;
    let (template, _) = taught_template(&state, s, &body).await?;
    if let Some(f) = template.facility.as_deref().filter(|f| !s.user.facilities.includes(f)) {
        return Err(AppError::NotFound(format!("facility {f}")));
    }
    if template.facility.is_none() && s.user.facilities != store::Facilities::All {
        return Err(AppError::Forbidden("a template for every facility is saved by a user of every facility: name your facility".into()));
    }
    let saved = state.store.save_template(&template, &s.user.name).await?;
    Ok(Json(json!({"form": saved.form, "facility": saved.facility, "version": saved.version, "fields": template.fields.len()})))
}

#[derive(Debug, Deserialize)]
struct Reextract {
    facility: String,
}

/// Reads the facility's charts that are not approved yet again with the templates in use
/// (one action after saving a new version); reviewers' corrections of those charts go.
async fn reextract(State(state): State<AppState>, user: ApiUser, Json(body): Json<Reextract>) -> Result<Json<Value>, AppError> {
    let s = user.manager()?;
    let facility = body.facility.trim();
    if facility.is_empty() {
        return Err(AppError::Unprocessable("name the facility whose charts to read again".into()));
    }
    if !s.user.facilities.includes(facility) {
        return Err(AppError::NotFound(format!("facility {facility}")));
    }
    let n = state.store.reextract_charts(Some(facility), &s.user.name).await?;
    Ok(Json(json!({"facility": facility, "charts": n})))
}

/// A file name safe to write into the inbox: its last path part, only letters, digits and
/// `._-` (others become `_`), not hidden; `None` when nothing is left.
fn safe_file_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    let clean = clean.trim_start_matches('.').to_string();
    (!clean.is_empty() && clean.contains('.')).then_some(clean)
}

/// Takes a scan to teach from (the request body, named by `X-File-Name`) and writes it to
/// the scan inbox, complete or not at all (a temporary name, then a rename); `chartscan watch`
/// ingests it from there and it appears among the charts to choose. Audited.
async fn upload(State(state): State<AppState>, user: ApiUser, headers: axum::http::HeaderMap, body: axum::body::Bytes) -> Result<Json<Value>, AppError> {
    let s = user.manager()?;
    let Some(inbox) = state.inbox.clone() else {
        return Err(AppError::Unprocessable("this server has no scan inbox: start it with --inbox DIR (the folder `chartscan watch` reads)".into()));
    };
    let name = headers.get("x-file-name").and_then(|v| v.to_str().ok()).and_then(safe_file_name);
    let Some(name) = name else { return Err(AppError::BadRequest("name the file (X-File-Name: card.png)".into())) };
    if body.is_empty() {
        return Err(AppError::BadRequest("the file is empty".into()));
    }
    let (target, size) = (inbox.join(&name), body.len());
    let written = target.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        std::fs::create_dir_all(&inbox)?;
        let part = inbox.join(format!(".{name}.{}.part", std::process::id()));
        std::fs::write(&part, &body)?;
        std::fs::rename(&part, &written)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
    .map_err(|e| AppError::Internal(format!("writing the upload: {e}")))?;
    state.store.audit(&s.user.name, "studio_upload", None, &format!("{} ({size} bytes)", target.display())).await?;
    Ok(Json(json!({"file": target.file_name().map(|n| n.to_string_lossy().to_string()), "bytes": size})))
}

#[cfg(test)]
mod tests {
    #[test]
    fn uploaded_names_cannot_leave_the_inbox() {
        use super::safe_file_name;
        assert_eq!(safe_file_name("card 1.png").as_deref(), Some("card_1.png"));
        assert_eq!(safe_file_name("../../etc/passwd.png").as_deref(), Some("passwd.png"));
        assert_eq!(safe_file_name("C:\\scans\\a.tif").as_deref(), Some("a.tif"));
        assert_eq!(safe_file_name(".hidden.png").as_deref(), Some("hidden.png"));
        assert_eq!(safe_file_name(".."), None);
        assert_eq!(safe_file_name("noextension"), None);
    }
}
