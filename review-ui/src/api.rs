//! The JSON API of docs/CONTRACT.md.

use crate::auth::{ApiUser, ClientAddr};
use crate::{AppError, AppState};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use axum::{Form, Json, Router};
use chart::ChartStatus;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/api/session", get(session))
        .route("/api/session/lang", put(set_lang))
        .route("/api/queue", get(queue))
        .route("/api/charts/{id}", get(chart))
        .route("/api/charts/{id}/fields/{name}", put(update_field))
        .route("/api/charts/{id}/claim", post(claim))
        .route("/api/charts/{id}/release", post(release))
        .route("/api/charts/{id}/fields/{name}/snippet", get(snippet))
        .route("/api/users", get(users).post(add_user))
        .route("/api/templates", get(templates))
        .route("/api/reference/{kind}", get(reference))
        .route("/api/templates/check", post(check_template))
        .route("/api/users/{name}/disabled", put(disable_user))
        .route("/api/charts/{id}/approve", post(approve))
        .route("/api/charts/{id}/second-key", post(second_key))
        .route("/api/charts/{id}/patient-match", get(patient_match))
        .route("/api/charts/{id}/unapprove", post(unapprove))
        .route("/api/charts/{id}/reject", post(reject))
        .route("/api/charts/{id}/merge-next", post(merge_next))
        .route("/api/charts/{id}/pages/{page}/flag", post(flag_page))
        .route("/api/stats", get(stats))
        .route("/api/batches", get(batches))
        .route("/api/rejections", get(rejections))
        .route("/api/export", get(export))
        .route("/api/programme", get(programme))
        .route("/api/plots/{file}", get(plot))
        .route("/api/facilities", get(facilities))
        .route("/api/boxes", get(boxes))
        .route("/report", get(report))
        .route("/static/report.css", get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], crate::programme::REPORT_CSS) }))
        .route("/charts/{id}/pages/{page}/image", get(page_image))
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// Only local paths are followed after login (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && n.chars().all(|c| c.is_ascii_alphanumeric() || "/-_".contains(c)) => n.to_string(),
        _ => "/".into(),
    }
}

async fn login(State(state): State<AppState>, ClientAddr(addr): ClientAddr, headers: HeaderMap, Form(form): Form<LoginForm>) -> Result<Response, AppError> {
    if !crate::auth::same_origin(&headers) {
        return Err(AppError::Forbidden("sign in from chartscan's own sign-in page".into()));
    }
    let name: String = form.username.chars().take(64).collect();
    let now = store::now_ms();
    if let crate::throttle::Verdict::Wait(ms) = state.throttle.check(&name, addr, now) {
        let seconds = (ms + 999) / 1000;
        return Ok((
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, seconds.to_string())],
            format!("Too many failed sign-ins for this name from this computer: wait {seconds} s, or ask an admin."),
        )
            .into_response());
    }
    let Some(user) = state.store.verify_login(&form.username, &form.password).await? else {
        let failure = state.throttle.failed(&name, addr, now);
        if failure.worth_auditing() {
            let delay = failure.delay_ms.map(|d| format!(", next attempt in {} s", d / 1000)).unwrap_or_default();
            let action = if failure.delay_ms.is_some() { "login_throttled" } else { "login_failed" };
            state.store.audit(&name, action, None, &format!("failure {} from {addr}{delay}", failure.failures)).await?;
        }
        return Ok(Redirect::to(&format!("/login?failed=1&next={}", safe_next(form.next.as_deref()))).into_response());
    };
    state.throttle.succeeded(&name, addr);
    let (token, _) = state.store.create_session(&user).await?;
    state.store.audit(&user.name, "login", None, &format!("from {addr}")).await?;
    let mut res = Redirect::to(&safe_next(form.next.as_deref())).into_response();
    let cookie = crate::auth::session_cookie(&state, Some(&token));
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| AppError::Internal(e.to_string()))?);
    Ok(res)
}

async fn logout(State(state): State<AppState>, headers: HeaderMap, user: ApiUser) -> Result<Response, AppError> {
    if let Some(token) = crate::auth::session_token(&headers, state.cookie_name()) {
        state.store.end_session(&token).await?;
    }
    state.store.audit(&user.0.user.name, "logout", None, "").await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    let cookie = crate::auth::session_cookie(&state, None);
    res.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| AppError::Internal(e.to_string()))?);
    Ok(res)
}

async fn session(State(state): State<AppState>, user: ApiUser) -> Result<Json<Value>, AppError> {
    let lang = state.store.user_lang(&user.0.user.name).await?;
    Ok(Json(json!({ "user": user.0.user.name, "role": user.0.user.role, "csrf": user.0.csrf, "lang": lang })))
}

#[derive(Debug, Deserialize)]
struct Lang {
    lang: String,
}

async fn set_lang(State(state): State<AppState>, user: ApiUser, Json(body): Json<Lang>) -> Result<StatusCode, AppError> {
    state.store.set_user_lang(&user.0.user.name, &body.lang).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct QueueQuery {
    facility: Option<String>,
    form: Option<String>,
    batch: Option<String>,
    /// How many charts (default 200, at most 1000).
    limit: Option<i64>,
}

async fn queue(State(state): State<AppState>, user: ApiUser, Query(q): Query<QueueQuery>) -> Result<Json<Value>, AppError> {
    let s = user.reviewer()?;
    let filter =
        store::QueueFilter { facility: q.facility, form: q.form, batch: q.batch, senior: s.user.role.can_manage(), facilities: s.user.facilities.clone() };
    let items = state.store.review_queue_for(q.limit.unwrap_or(200).clamp(1, 1000), &filter, Some(&s.user.name)).await?;
    state.store.audit(&s.user.name, "view_queue", None, &format!("{} chart(s)", items.len())).await?;
    Ok(Json(serde_json::to_value(items).map_err(|e| AppError::Internal(e.to_string()))?))
}

/// The chart as in the export, plus version, pages, field order and labels for the UI.
fn chart_json(state: &AppState, record: &store::ChartRecord) -> Result<Value, AppError> {
    let mut v = serde_json::to_value(record).map_err(|e| AppError::Internal(e.to_string()))?;
    v["version"] = record.version.into();
    v["confidence"] = record.confidence.into();
    v["reviewer"] = record.reviewer.clone().into();
    v["next_chart"] = record.next_chart.clone().into();
    v["pages"] = record
        .pages
        .iter()
        .map(|p| {
            json!({ "page": p.page, "status": p.status, "width": p.width, "height": p.height, "error": p.error, "flag": p.flag,
                          "image": p.image_sha256.as_ref().map(|_| format!("/charts/{}/pages/{}/image", record.chart, p.page)) })
        })
        .collect();
    let template = state.template(record.form.as_deref(), &record.facility);
    let template = template.as_ref();
    let mut order: Vec<String> = template.map(|t| t.fields.iter().map(|f| f.name.clone()).collect()).unwrap_or_default();
    order.extend(record.fields.keys().filter(|k| !order.contains(k)).cloned().collect::<Vec<_>>());
    v["field_order"] = order.into();
    v["labels_km"] = template
        .map(|t| {
            t.fields
                .iter()
                .filter_map(|f| f.labels.iter().find(|l| chart::khmer::is_mostly_khmer(l)).map(|l| (f.name.clone(), Value::from(l.clone()))))
                .collect::<serde_json::Map<_, _>>()
        })
        .unwrap_or_default()
        .into();
    v["labels"] = template
        .map(|t| {
            t.fields
                .iter()
                .map(|f| (f.name.clone(), Value::from(f.labels.iter().find(|l| !chart::khmer::is_mostly_khmer(l)).cloned().unwrap_or_else(|| humane(&f.name)))))
                .collect::<serde_json::Map<_, _>>()
        })
        .unwrap_or_default()
        .into();
    v["suggest"] = template
        .as_ref()
        .map(|t| t.fields.iter().filter_map(|f| suggestion_kind(t, f).map(|k| (f.name.clone(), Value::from(k)))).collect::<serde_json::Map<_, _>>())
        .unwrap_or_default()
        .into();
    // A field's vocabulary (a hospital's wards), offered as the reviewer types.
    v["terms"] = template
        .as_ref()
        .map(|t| {
            t.fields
                .iter()
                .filter(|f| !f.terms.is_empty())
                .map(|f| {
                    let terms: Vec<Value> = f.terms.iter().map(|t| json!({"value": t.value, "label": t.names.join(" · ")})).collect();
                    (f.name.clone(), Value::from(terms))
                })
                .collect::<serde_json::Map<_, _>>()
        })
        .unwrap_or_default()
        .into();
    // A table's columns, in order, with their header labels (English, Khmer).
    v["columns"] = template
        .map(|t| {
            t.fields
                .iter()
                .filter(|f| f.kind == chart::FieldType::Table)
                .map(|f| {
                    let columns: Vec<Value> = f
                        .columns
                        .iter()
                        .map(|c| {
                            let en = c.labels.iter().find(|l| !chart::khmer::is_mostly_khmer(l)).cloned().unwrap_or_else(|| c.name.clone());
                            let km = c.labels.iter().find(|l| chart::khmer::is_mostly_khmer(l)).cloned();
                            json!({"name": c.name, "label": en, "label_km": km})
                        })
                        .collect();
                    (f.name.clone(), Value::from(columns))
                })
                .collect::<serde_json::Map<_, _>>()
        })
        .unwrap_or_default()
        .into();
    Ok(v)
}

/// A field without a printed label (a heading such as the hospital's name) is shown by
/// its name: `next_visit` as "Next visit".
fn humane(name: &str) -> String {
    let words = name.replace('_', " ");
    let mut chars = words.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// What the review page may suggest for a field as the reviewer types: a level of the
/// gazetteer for address fields (by the template's address parts, or by name), ICD-10
/// codes for code fields.
fn suggestion_kind(template: &chart::Template, spec: &chart::FieldSpec) -> Option<&'static str> {
    const LEVELS: [&str; 4] = ["village", "commune", "district", "province"];
    if spec.kind == chart::FieldType::Icd10 {
        return Some("icd10");
    }
    if spec.kind == chart::FieldType::Province {
        return Some("province");
    }
    let by_parts = template.fields.iter().find(|f| f.kind == chart::FieldType::Address).and_then(|a| a.parts.iter().position(|p| p == &spec.name));
    let level = by_parts.or_else(|| LEVELS.iter().position(|l| *l == spec.name))?;
    LEVELS.get(level).copied()
}

/// The double-keyed fields of a chart's form that the chart has.
fn double_keyed(state: &AppState, record: &store::ChartRecord) -> Vec<String> {
    state
        .template(record.form.as_deref(), &record.facility)
        .map(|t| t.fields.iter().filter(|f| f.double_key && record.fields.contains_key(&f.name)).map(|f| f.name.clone()).collect())
        .unwrap_or_default()
}

async fn chart(State(state): State<AppState>, Path(id): Path<String>, user: ApiUser) -> Result<Json<Value>, AppError> {
    let s = user.reviewer()?;
    let record = state.store.chart(&id).await?;
    state.store.audit(&s.user.name, "view", Some(&id), &format!("version {}", record.version)).await?;
    let mut v = chart_json(&state, &record)?;
    let keyed = double_keyed(&state, &record);
    // A second reviewer keys these fields blind: neither the first value nor what OCR read.
    if record.status == ChartStatus::SecondKey && record.reviewer.as_deref() != Some(s.user.name.as_str()) {
        for name in &keyed {
            v["fields"][name]["value"] = Value::Null;
            v["fields"][name]["raw"] = "".into();
            v["fields"][name]["issue"] = Value::Null;
        }
        v["blind"] = keyed.clone().into();
    }
    v["double_key"] = keyed.into();
    if record.status == ChartStatus::Approved {
        v["record"] = serde_json::to_value(state.store.commit_of(&id).await?).map_err(|e| AppError::Internal(e.to_string()))?;
    }
    Ok(Json(v))
}

#[derive(Debug, Deserialize)]
struct SecondKey {
    version: i64,
    values: std::collections::BTreeMap<String, Option<String>>,
    /// Who the patient is, when matching asked (as for approve).
    patient: Option<String>,
}

/// The patient a reviewer named: a stored patient's id, `new`, or nobody (matching decides).
fn patient_choice(patient: Option<&str>) -> store::PatientChoice {
    match patient {
        None | Some("") => store::PatientChoice::Auto,
        Some("new") => store::PatientChoice::New,
        Some(p) => store::PatientChoice::Existing(p.to_string()),
    }
}

async fn second_key(State(state): State<AppState>, Path(id): Path<String>, user: ApiUser, Json(body): Json<SecondKey>) -> Result<Json<Value>, AppError> {
    let s = user.reviewer()?;
    let record = state.store.chart(&id).await?;
    let keyed = double_keyed(&state, &record);
    let mut values = std::collections::BTreeMap::new();
    for name in &keyed {
        let raw = body.values.get(name).cloned().flatten().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let canonical = match (raw, state.template(record.form.as_deref(), &record.facility).and_then(|t| t.field(name).cloned())) {
            (Some(raw), Some(spec)) => Some(spec.canonicalize(&raw).map_err(|e| AppError::Unprocessable(format!("{name}: {e}")))?),
            (Some(raw), None) => Some(raw),
            (None, _) => None,
        };
        values.insert(name.clone(), canonical);
    }
    let (record, agreed) = state.store.second_key_with(&id, body.version, &s.user.name, &values, &patient_choice(body.patient.as_deref())).await?;
    let mut v = chart_json(&state, &record)?;
    v["agreed"] = agreed.into();
    Ok(Json(v))
}

#[derive(Debug, Deserialize)]
struct FieldUpdate {
    /// Text, or a table's rows.
    value: Option<chart::FieldValue>,
    version: i64,
}

async fn update_field(
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
    user: ApiUser,
    Json(body): Json<FieldUpdate>,
) -> Result<Json<Value>, AppError> {
    let s = user.reviewer()?;
    if name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(AppError::BadRequest("bad field name".into()));
    }
    let current = state.store.chart(&id).await?;
    let given = body.value.filter(|v| v.as_text().is_none_or(|t| !t.trim().is_empty()));
    let canonical = match given {
        None => None,
        Some(value) => {
            let spec = state.template(current.form.as_deref(), &current.facility).and_then(|t| t.field(&name).cloned());
            match (spec, &value) {
                (Some(spec), _) => Some(spec.canonicalize_value(&value).map_err(|e| AppError::Unprocessable(format!("{name}: {e}")))?),
                (None, chart::FieldValue::Text(raw)) if current.fields.contains_key(&name) => Some(chart::FieldValue::Text(chart::khmer::clean(raw))),
                (None, chart::FieldValue::Rows(_)) if current.fields.contains_key(&name) => {
                    return Err(AppError::Unprocessable(format!("{name} is not a table")))
                }
                (None, _) => return Err(AppError::NotFound(format!("field {name} is not on a {} form", current.form.as_deref().unwrap_or("unknown")))),
            }
        }
    };
    let record = state.store.update_field(&id, &name, canonical.as_ref(), body.version, &s.user.name).await?;
    Ok(Json(chart_json(&state, &record)?))
}

/// How long a claim on a chart lasts without being renewed (the review page renews it).
const CLAIM_MS: i64 = 10 * 60 * 1000;

async fn claim(State(state): State<AppState>, Path(id): Path<String>, user: ApiUser) -> Result<Json<Value>, AppError> {
    let s = user.reviewer()?;
    let until = state.store.claim_chart(&id, &s.user.name, CLAIM_MS).await?;
    Ok(Json(json!({ "chart": id, "claimed_by": s.user.name, "claimed_until": until })))
}

async fn release(State(state): State<AppState>, Path(id): Path<String>, user: ApiUser) -> Result<StatusCode, AppError> {
    let s = user.reviewer()?;
    state.store.release_claim(&id, &s.user.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn admin(user: &ApiUser) -> Result<&store::Session, AppError> {
    if user.0.user.role == chart::Role::Admin {
        Ok(&user.0)
    } else {
        Err(AppError::Forbidden(format!("a {} may not manage users", user.0.user.role)))
    }
}

async fn users(State(state): State<AppState>, user: ApiUser) -> Result<Json<Value>, AppError> {
    admin(&user)?;
    let list = state.store.users().await?;
    let facilities = |f: &store::Facilities| match f {
        store::Facilities::All => Value::from("*"),
        store::Facilities::Only(codes) => json!(codes),
    };
    Ok(Json(
        list.into_iter()
            .map(|(u, disabled)| json!({ "name": u.name, "role": u.role, "disabled": disabled, "facilities": facilities(&u.facilities) }))
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
struct ReferenceQuery {
    /// What the reviewer typed so far.
    #[serde(default)]
    q: String,
    /// The chart's other address fields, which narrow the places suggested.
    #[serde(default)]
    province: Option<String>,
    #[serde(default)]
    district: Option<String>,
    #[serde(default)]
    commune: Option<String>,
}

/// Suggestions from the reference data as a reviewer types a place or a code:
/// `[{"value", "label"}]`, at most 12. Places are narrowed to the province, district and
/// commune the chart gives (as far as the gazetteer knows them); a place is offered in the
/// script typed. Reviewers only; the lists hold no patient data.
async fn reference(Path(kind): Path<String>, user: ApiUser, Query(q): Query<ReferenceQuery>) -> Result<Json<Value>, AppError> {
    use chart::reference::gazetteer::{self, Level};
    user.reviewer()?;
    let typed = q.q.trim();
    if typed.is_empty() || typed.chars().count() > 80 {
        return Ok(Json(json!([])));
    }
    let khmer = chart::khmer::is_mostly_khmer(typed);
    let level = match kind.as_str() {
        "icd10" => {
            let out: Vec<Value> = chart::reference::icd10::suggest(typed, 12)
                .into_iter()
                .map(|(code, title)| json!({"value": code, "label": format!("{code} — {title}")}))
                .collect();
            return Ok(Json(Value::from(out)));
        }
        "province" => Level::Province,
        "district" => Level::District,
        "commune" => Level::Commune,
        "village" => Level::Village,
        _ => return Err(AppError::NotFound(format!("no reference list {kind:?}"))),
    };
    let known = gazetteer::check_address(q.province.as_deref(), q.district.as_deref(), q.commune.as_deref(), None);
    let parent = [Level::Commune, Level::District, Level::Province]
        .into_iter()
        .filter(|l| (*l as usize) < level as usize)
        .find_map(|l| known.at(l))
        .map(|p| p.code.clone());
    let places = gazetteer::suggest(level, typed, parent.as_deref(), 12);
    let out: Vec<Value> = places
        .into_iter()
        .map(|p| {
            let value = if level == Level::Province {
                chart::province::canonical_province(&p.english).unwrap_or(&p.english).to_string()
            } else if khmer {
                p.khmer.clone()
            } else {
                p.english.clone()
            };
            json!({"value": value, "label": format!("{} — {} ({})", p.khmer, p.english, p.code)})
        })
        .collect();
    Ok(Json(Value::from(out)))
}

/// The form templates in use, with their fields (admins).
async fn templates(State(state): State<AppState>, user: ApiUser) -> Result<Json<Value>, AppError> {
    admin(&user)?;
    Ok(Json(
        state
            .store
            .templates()
            .iter()
            .map(|t| json!({ "form": t.form, "facility": t.facility, "name": t.name, "auto_accept": chart::confidence::threshold(t), "fields": t.fields.iter().map(|f| json!({ "name": f.name, "type": f.kind, "labels": f.labels, "required": f.required, "double_key": f.double_key })).collect::<Vec<_>>() }))
            .collect(),
    ))
}

/// Checks a template's TOML text (admins), as `chartscan templates check` does.
async fn check_template(user: ApiUser, body: String) -> Result<Json<Value>, AppError> {
    admin(&user)?;
    Ok(Json(match chart::Template::parse(&body) {
        Ok(t) => json!({ "ok": true, "form": t.form, "fields": t.fields.len() }),
        Err(e) => json!({ "ok": false, "problems": e.problems }),
    }))
}

#[derive(Debug, Deserialize)]
struct NewUser {
    name: String,
    role: String,
    password: String,
    /// The facilities whose charts they see (all when absent or empty).
    #[serde(default)]
    facilities: Vec<String>,
}

async fn add_user(State(state): State<AppState>, user: ApiUser, Json(body): Json<NewUser>) -> Result<Json<Value>, AppError> {
    let s = admin(&user)?;
    let role: chart::Role = body.role.parse().map_err(AppError::Unprocessable)?;
    let facilities = if body.facilities.is_empty() { store::Facilities::All } else { store::Facilities::Only(body.facilities.clone()) };
    let added = state.store.add_user_for(&body.name, role, facilities, &body.password, &s.user.name).await?;
    Ok(Json(json!({ "name": added.name, "role": added.role, "disabled": false })))
}

#[derive(Debug, Deserialize)]
struct Disabled {
    disabled: bool,
}

async fn disable_user(State(state): State<AppState>, Path(name): Path<String>, user: ApiUser, Json(body): Json<Disabled>) -> Result<StatusCode, AppError> {
    let s = admin(&user)?;
    if body.disabled && name == s.user.name {
        return Err(AppError::Unprocessable("an admin cannot disable their own account".into()));
    }
    state.store.set_user_disabled(&name, body.disabled, &s.user.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct Versioned {
    version: i64,
}

#[derive(Debug, Deserialize)]
struct Approve {
    version: i64,
    /// Who the patient is, when matching asked: a stored patient's id, or `new`.
    patient: Option<String>,
}

async fn approve(State(state): State<AppState>, Path(id): Path<String>, user: ApiUser, Json(body): Json<Approve>) -> Result<Json<Value>, AppError> {
    let s = user.reviewer()?;
    let current = state.store.chart(&id).await?;
    let record = state.store.approve_with(&id, body.version, &s.user.name, &double_keyed(&state, &current), &patient_choice(body.patient.as_deref())).await?;
    Ok(Json(chart_json(&state, &record)?))
}

/// Who matching thinks the chart's patient is (the review page asks before approving when
/// it is unsure). Shows stored patients' names, so it is audited as a view.
async fn patient_match(State(state): State<AppState>, Path(id): Path<String>, user: ApiUser) -> Result<Json<Value>, AppError> {
    let s = user.reviewer()?;
    let outcome = state.store.patient_match(&id).await?;
    let shown = match &outcome {
        store::MatchOutcome::Link { candidate } => candidate.patient.clone(),
        store::MatchOutcome::Ask { candidates } => candidates.iter().map(|c| c.patient.as_str()).collect::<Vec<_>>().join(", "),
        _ => String::new(),
    };
    state.store.audit(&s.user.name, "view_patient_match", Some(&id), &shown).await?;
    Ok(Json(serde_json::to_value(outcome).map_err(|e| AppError::Internal(e.to_string()))?))
}

/// A manager takes back an approval: the chart returns to review and its committed record
/// is retracted (and queued for retraction at the FHIR server).
async fn unapprove(State(state): State<AppState>, Path(id): Path<String>, user: ApiUser, Json(body): Json<Reject>) -> Result<Json<Value>, AppError> {
    let s = user.manager()?;
    let record = state.store.unapprove(&id, body.version, &s.user.name, body.reason.trim()).await?;
    Ok(Json(chart_json(&state, &record)?))
}

async fn merge_next(State(state): State<AppState>, Path(id): Path<String>, user: ApiUser, Json(body): Json<Versioned>) -> Result<Json<Value>, AppError> {
    let s = user.reviewer()?;
    let record = state.store.merge_next(&id, body.version, &s.user.name).await?;
    Ok(Json(chart_json(&state, &record)?))
}

#[derive(Debug, Deserialize)]
struct Flag {
    flag: Option<String>,
    version: i64,
}

async fn flag_page(
    State(state): State<AppState>,
    Path((id, page)): Path<(String, u32)>,
    user: ApiUser,
    Json(body): Json<Flag>,
) -> Result<Json<Value>, AppError> {
    let s = user.reviewer()?;
    let record = state.store.set_page_flag(&id, page, body.flag.as_deref(), body.version, &s.user.name).await?;
    Ok(Json(chart_json(&state, &record)?))
}

#[derive(Debug, Deserialize)]
struct Reject {
    version: i64,
    reason: String,
}

async fn reject(State(state): State<AppState>, Path(id): Path<String>, user: ApiUser, Json(body): Json<Reject>) -> Result<Json<Value>, AppError> {
    let s = user.reviewer()?;
    if body.reason.trim().is_empty() {
        return Err(AppError::Unprocessable("a rejection needs a reason".into()));
    }
    let record = state.store.reject(&id, body.version, body.reason.trim(), &s.user.name).await?;
    Ok(Json(chart_json(&state, &record)?))
}

/// Batches and their progress: what a clerk follows (every signed-in role may see them).
async fn batches(State(state): State<AppState>, user: ApiUser) -> Result<Json<Value>, AppError> {
    let list = state.store.batches_of(&user.0.user.facilities).await?;
    state.store.audit(&user.0.user.name, "view_batches", None, "").await?;
    Ok(Json(serde_json::to_value(list).map_err(|e| AppError::Internal(e.to_string()))?))
}

/// Rejected charts and why, so that clerks can rescan them.
async fn rejections(State(state): State<AppState>, user: ApiUser) -> Result<Json<Value>, AppError> {
    let list = state.store.rejections(200, &user.0.user.facilities).await?;
    state.store.audit(&user.0.user.name, "view_rejections", None, &format!("{} chart(s)", list.len())).await?;
    Ok(Json(serde_json::to_value(list).map_err(|e| AppError::Internal(e.to_string()))?))
}

async fn stats(State(state): State<AppState>, user: ApiUser) -> Result<Json<Value>, AppError> {
    let s = user.manager()?;
    Ok(Json(serde_json::to_value(state.store.stats_of(&s.user.facilities).await?).map_err(|e| AppError::Internal(e.to_string()))?))
}

#[derive(Debug, Deserialize)]
struct ExportQuery {
    format: Option<String>,
    status: Option<String>,
    form: Option<String>,
}

/// The export of `chartscan export`, by the same function (`store::export::export`).
async fn export(State(state): State<AppState>, user: ApiUser, Query(q): Query<ExportQuery>) -> Result<Response, AppError> {
    let s = user.manager()?;
    let approved_only = match q.status.as_deref().unwrap_or("approved") {
        "any" => false,
        "approved" => true,
        other => return Err(AppError::BadRequest(format!("status {other:?}: use any or approved"))),
    };
    let format: store::export::Format = q.format.as_deref().unwrap_or("jsonl").parse().map_err(AppError::BadRequest)?;
    let request = store::export::Request { format, approved_only, form: q.form.filter(|f| !f.is_empty()), facilities: s.user.facilities.clone() };
    // Streamed a page of charts at a time: a large export never sits whole in memory. The
    // first chunk is read here, so that a bad request still gets an error status.
    let mut export = store::export::Export::start(&state.store, &state.blobs, &request)?;
    let first = export.next_chunk().await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let actor = s.user.name.clone();
    tokio::spawn(async move {
        let mut chunk = first;
        let mut complete = true;
        while let Some(bytes) = chunk {
            if tx.send(Ok(bytes)).await.is_err() {
                complete = false; // the browser went away
                break;
            }
            chunk = match export.next_chunk().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "export failed midway");
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    complete = false;
                    break;
                }
            };
        }
        if let Err(e) = export.finish(&actor, complete).await {
            tracing::error!(error = %e, "auditing an export");
        }
    });
    let body = axum::body::Body::from_stream(futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) }));
    let disposition = format!("attachment; filename=\"chartscan-export.{}\"", format.extension());
    Ok(([(header::CONTENT_TYPE, format.media_type().to_string()), (header::CONTENT_DISPOSITION, disposition)], body).into_response())
}

#[derive(Debug, Deserialize)]
struct ImageQuery {
    /// Width to send the page at (the full page when absent).
    width: Option<u32>,
}

/// The hash of a chart page's stored image.
async fn page_sha(state: &AppState, id: &str, page: u32) -> Result<String, AppError> {
    state.store.page_image_sha(id, page).await?.ok_or_else(|| AppError::NotFound(format!("page {page} of chart {id} has no image")))
}

/// A stored page image as stored (JPEG bytes).
fn page_bytes(state: &AppState, sha: &str) -> Result<Vec<u8>, AppError> {
    state.blobs.get(store::blobs::BlobKind::Page, sha).map_err(|e| AppError::Internal(e.to_string()))
}

/// A page image decoded, from the cache of recently used pages (a reviewer asks for many
/// snippets of one page); the file is read only on a miss.
fn decoded(state: &AppState, sha: &str) -> Result<Arc<image::GrayImage>, AppError> {
    if let Some(img) = state.pages.get(sha) {
        return Ok(img);
    }
    let bytes = page_bytes(state, sha)?;
    let img = Arc::new(image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).map_err(|e| AppError::Internal(e.to_string()))?.to_luma8());
    state.pages.put(sha.to_string(), img.clone());
    Ok(img)
}

fn jpeg(img: &image::GrayImage, quality: u8) -> Result<Vec<u8>, AppError> {
    let mut out = Vec::new();
    let (w, h) = (u16::try_from(img.width()).unwrap_or(u16::MAX), u16::try_from(img.height()).unwrap_or(u16::MAX));
    jpeg_encoder::Encoder::new(&mut out, quality).encode(img.as_raw(), w, h, jpeg_encoder::ColorType::Luma).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(out)
}

/// A page image; `?width=N` sends it shrunk (and more compressed) for slow links: at 1000
/// pixels wide an A5 page is readable and about 150 KB.
async fn page_image(
    State(state): State<AppState>,
    Path((id, page)): Path<(String, u32)>,
    user: ApiUser,
    Query(q): Query<ImageQuery>,
) -> Result<Response, AppError> {
    let s = user.reviewer()?;
    let sha = page_sha(&state, &id, page).await?;
    state.store.audit(&s.user.name, "view_image", Some(&id), &format!("page {page}")).await?;
    let key = q.width.map(|w| format!("{sha}@{w}"));
    let bytes = match key.as_deref().and_then(|k| state.shrunk.get(k)) {
        Some(cached) => cached.as_ref().clone(),
        None => {
            let st = state.clone();
            let out = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, AppError> {
                let Some(width) = q.width else { return page_bytes(&st, &sha) };
                let img = decoded(&st, &sha)?;
                if width >= img.width() {
                    return page_bytes(&st, &sha);
                }
                let width = width.max(300);
                let height = (u64::from(img.height()) * u64::from(width) / u64::from(img.width())) as u32;
                jpeg(&image::imageops::resize(img.as_ref(), width, height, image::imageops::FilterType::Triangle), 70)
            })
            .await
            .map_err(|e| AppError::Internal(e.to_string()))??;
            if let Some(key) = key {
                state.shrunk.put(key, Arc::new(out.clone()));
            }
            out
        }
    };
    Ok(([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "no-store")], bytes).into_response())
}

/// The image of one field's value, cut from its page on the server (a few KB).
async fn snippet(State(state): State<AppState>, Path((id, name)): Path<(String, String)>, user: ApiUser) -> Result<Response, AppError> {
    let s = user.reviewer()?;
    let (page, bbox) = state.store.field_place(&id, &name).await?;
    let bbox = bbox.ok_or_else(|| AppError::NotFound(format!("field {name} of chart {id} has no place on the page")))?;
    let sha = page_sha(&state, &id, page).await?;
    state.store.audit(&s.user.name, "view_snippet", Some(&id), &name).await?;
    let st = state.clone();
    let cut = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, AppError> {
        let img = decoded(&st, &sha)?;
        let pad = bbox.h / 2 + 6;
        let x = bbox.x.saturating_sub(pad).min(img.width().saturating_sub(1));
        let y = bbox.y.saturating_sub(pad).min(img.height().saturating_sub(1));
        let w = (bbox.w + 2 * pad).min(img.width() - x).max(1);
        let h = (bbox.h + 2 * pad).min(img.height() - y).max(1);
        jpeg(&image::imageops::crop_imm(img.as_ref(), x, y, w, h).to_image(), 75)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))??;
    Ok(([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "no-store")], cut).into_response())
}

#[derive(Debug, Deserialize)]
struct ProgrammeQuery {
    /// `YYYY-MM`: that month instead of the last [`crate::programme::DASHBOARD_DAYS`] days.
    month: Option<String>,
    /// The burn-up's facility.
    facility: Option<String>,
    /// `en` or `km` (default: the user's language).
    lang: Option<String>,
}

/// Today, and the days a request asks for: a month, or the dashboard's recent days.
fn period(month: Option<&str>) -> Result<(i64, i64, i64), AppError> {
    let today = store::now_ms().div_euclid(86_400_000);
    match month.filter(|m| !m.is_empty()) {
        Some(m) => {
            let (from, to) = crate::programme::month_days(m).ok_or_else(|| AppError::BadRequest(format!("month {m:?}: use YYYY-MM")))?;
            // A past month is reported as at its last day.
            Ok((today.min(to), from, to))
        }
        None => Ok((today, today - crate::programme::DASHBOARD_DAYS + 1, today)),
    }
}

/// How long a gathered programme view is reused (a dashboard load's plots come from one).
const PROGRAMME_FRESH: std::time::Duration = std::time::Duration::from_secs(20);

async fn programme_of(state: &AppState, s: &store::Session, month: Option<&str>) -> Result<Arc<crate::programme::Programme>, AppError> {
    let (today, from, to) = period(month)?;
    let key = format!("{}|{today}|{from}|{to}", s.user.facilities.stored());
    if let Some((at, p)) = state.programmes.get(&key) {
        if at.elapsed() < PROGRAMME_FRESH {
            return Ok(p);
        }
    }
    let p = Arc::new(crate::programme::gather(&state.store, &s.user.facilities, today, from, to).await?);
    state.programmes.put(key, (std::time::Instant::now(), p.clone()));
    Ok(p)
}

async fn lang_of(state: &AppState, s: &store::Session, asked: Option<&str>) -> Result<crate::programme::Lang, AppError> {
    Ok(match asked {
        Some(code) => crate::programme::Lang::from_code(Some(code)),
        None => crate::programme::Lang::from_code(Some(state.store.user_lang(&s.user.name).await?.as_str())),
    })
}

/// Everything the programme dashboard shows, as JSON.
async fn programme(State(state): State<AppState>, user: ApiUser, Query(q): Query<ProgrammeQuery>) -> Result<Json<Value>, AppError> {
    let s = user.manager()?;
    let p = programme_of(&state, s, q.month.as_deref()).await?;
    Ok(Json(serde_json::to_value(&*p).map_err(|e| AppError::Internal(e.to_string()))?))
}

/// A plot: `NAME.svg`, or its table as `NAME.csv`.
async fn plot(State(state): State<AppState>, user: ApiUser, Path(file): Path<String>, Query(q): Query<ProgrammeQuery>) -> Result<Response, AppError> {
    let s = user.manager()?;
    let (name, ext) = file.rsplit_once('.').ok_or_else(|| AppError::NotFound(format!("no plot {file:?}")))?;
    let plot: crate::programme::Plot = name.parse().map_err(AppError::NotFound)?;
    let p = programme_of(&state, s, q.month.as_deref()).await?;
    match ext {
        "svg" => {
            let lang = lang_of(&state, s, q.lang.as_deref()).await?;
            let svg = crate::programme::svg(&p, plot, q.facility.as_deref(), lang).map_err(AppError::NotFound)?;
            Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
        }
        "csv" => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"chartscan-{name}.csv\"")),
            ],
            crate::programme::csv(&p, plot),
        )
            .into_response()),
        other => Err(AppError::NotFound(format!("plots come as .svg or .csv, not .{other}"))),
    }
}

/// The facility registry (of the facilities the user may see): every signed-in user, so that
/// each page can name a facility where it shows its code.
async fn facilities(State(state): State<AppState>, user: ApiUser) -> Result<Json<Value>, AppError> {
    let s = &user.0;
    let list: Vec<chart::archive::Facility> = state.store.facility_registry().await?.into_iter().filter(|f| s.user.facilities.includes(&f.code)).collect();
    Ok(Json(serde_json::to_value(list).map_err(|e| AppError::Internal(e.to_string()))?))
}

#[derive(Debug, Deserialize)]
struct BoxesQuery {
    facility: Option<String>,
}

/// The box reconciliation: each box's counts and state.
async fn boxes(State(state): State<AppState>, user: ApiUser, Query(q): Query<BoxesQuery>) -> Result<Json<Value>, AppError> {
    let s = user.manager()?;
    let rows = state.store.box_rows(&s.user.facilities, q.facility.as_deref().filter(|f| !f.is_empty())).await?;
    let out: Vec<Value> = rows
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or_default();
            v["state"] = serde_json::to_value(chart::archive::box_state(&r.counts, crate::programme::BOX_TOLERANCE)).unwrap_or_default();
            v
        })
        .collect();
    Ok(Json(Value::Array(out)))
}

/// The monthly report as a page (print it for A4).
async fn report(State(state): State<AppState>, user: crate::auth::PageUser, Query(q): Query<ProgrammeQuery>) -> Result<Response, AppError> {
    let s = &user.0;
    if !s.user.role.can_manage() {
        return Err(AppError::Forbidden(format!("a {} may not see reports", s.user.role)));
    }
    let month = q.month.clone().unwrap_or_else(|| crate::programme::date(store::now_ms().div_euclid(86_400_000))[..7].to_string());
    let p = programme_of(&state, s, Some(&month)).await?;
    let lang = lang_of(&state, s, q.lang.as_deref()).await?;
    state.store.audit(&s.user.name, "view_report", None, &month).await?;
    Ok(axum::response::Html(crate::programme::report_html(&p, &month, lang, crate::programme::Css::Linked)).into_response())
}
