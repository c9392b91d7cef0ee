//! One conformance suite, run against both backends: SQLite in a temporary directory and a
//! real PostgreSQL server whose URL the test command gives in `CHARTSCAN_TEST_PG_URL`
//! (`./dev test` starts one on loopback). Without that variable the PostgreSQL half fails
//! loudly instead of passing.

use chart::{ChartStatus, PageWords, Role};
use store::{FileOutcome, NewFile, PageResult, Store, StoreError};

async fn sqlite_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    (Store::open(&url).await.unwrap(), dir)
}

async fn postgres_store() -> (Store, ()) {
    (Store::open(&postgres_database().await).await.unwrap(), ())
}

/// A new, empty database on the test PostgreSQL server: its URL.
async fn postgres_database() -> String {
    let admin = std::env::var("CHARTSCAN_TEST_PG_URL")
        .expect("CHARTSCAN_TEST_PG_URL is not set: the PostgreSQL half of the store suite needs a real server. Run ./dev test, which starts one on loopback");
    sqlx::any::install_default_drivers();
    let name = format!("chartscan_test_{}_{}", std::process::id(), rand_suffix());
    let pool = sqlx::AnyPool::connect(&admin).await.expect("connect to the test PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.unwrap();
    pool.close().await;
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(store::now_ms() as u64);
    h.finish() % 1_000_000_000
}

macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite { $( #[tokio::test(flavor = "multi_thread", worker_threads = 4)] async fn $name() { let (s, _d) = super::sqlite_store().await; super::$name(s.clone()).await; super::tallies_agree(&s).await } )+ }
        mod postgres { $( #[tokio::test(flavor = "multi_thread", worker_threads = 4)] async fn $name() { let (s, _d) = super::postgres_store().await; super::$name(s.clone()).await; super::tallies_agree(&s).await } )+ }
    };
}

both_backends!(
    simultaneous_audit_entries_share_commits_and_keep_the_chain,
    duplicates_are_recognised,
    pages_flow_to_extraction,
    crashed_pages_are_retried_then_failed,
    review_edits_are_versioned_and_audited,
    users_and_sessions,
    idle_sessions_end,
    concurrent_workers_claim_each_page_once,
    stats_count_by_facility,
    claims_keep_reviewers_apart_and_the_queue_filters,
    disabled_users_cannot_sign_in,
    double_keying_agrees_or_goes_to_a_senior,
    a_disputed_chart_is_changed_by_a_senior_only_on_every_path,
    approval_commits_a_matched_record_and_unapproval_retracts_it,
    the_outbox_survives_until_sent,
    concurrent_approvals_of_one_new_patient_make_one_patient,
    one_pusher_at_a_time,
    tables_are_stored_as_rows_and_committed_as_facts,
    taught_templates_are_versioned_used_for_their_facility_and_reextract,
    the_archive_is_reconciled_box_by_box,
);

/// After every test of the suite: the running totals the dashboard reads (migration 0019's
/// triggers) agree with counting the tables, whatever the test did to its charts.
async fn tallies_agree(s: &Store) {
    let drift = s.check_tallies().await.unwrap();
    assert!(drift.is_empty(), "the running totals drifted from the tables:\n{}", drift.join("\n"));
}

fn file(sha: &str, pages: u32, facility: &str) -> NewFile {
    NewFile {
        sha256: sha.repeat(64 / sha.len()),
        original_name: format!("{sha}.jpg"),
        source_path: format!("/scans/{sha}.jpg"),
        media_type: "image/jpeg".into(),
        size_bytes: 1234,
        page_count: pages,
        facility: facility.into(),
        batch: "box1".into(),
        box_label: Some("box 17".into()),
        operator: Some("srey".into()),
        segments: vec![],
    }
}

fn result(lines: &[&str], page: u32) -> PageResult {
    PageResult { image_sha256: "ab".repeat(32), width: 1000, height: 1400, skew: 0.5, words: PageWords::typeset(page, 1000, 1400, lines) }
}

async fn duplicates_are_recognised(s: Store) {
    let first = s.record_file(&file("a1", 1, "PP01")).await.unwrap();
    let FileOutcome::Accepted { charts } = first else { panic!("first import must be accepted: {first:?}") };
    let chart = charts[0].clone();
    let again = s.record_file(&file("a1", 1, "PP01")).await.unwrap();
    assert_eq!(again, FileOutcome::Duplicate { chart: chart.clone(), first_name: "a1.jpg".into() });
    assert_eq!(s.charts(None).await.unwrap().len(), 1);
    assert_eq!(s.stats().await.unwrap().pages.total, 1);
}

async fn pages_flow_to_extraction(s: Store) {
    s.record_file(&file("b2", 2, "PP01")).await.unwrap();
    let p1 = s.claim_page("w1", 60_000, 3).await.unwrap().expect("page 1 queued");
    let p2 = s.claim_page("w1", 60_000, 3).await.unwrap().expect("page 2 queued");
    assert!(s.claim_page("w1", 60_000, 3).await.unwrap().is_none(), "only two pages");
    assert_eq!((p1.page_no, p2.page_no, p1.attempt), (1, 2, 1));
    s.complete_page(p1.page_id, &result(&["OUTPATIENT CONSULTATION CARD", "Patient ID: 000123", "Sex: F"], 1)).await.unwrap();
    let chart = s.chart(&p1.chart).await.unwrap();
    assert_eq!(chart.status, ChartStatus::Ingested, "not extracted before the last page");
    s.complete_page(p2.page_id, &result(&["Visit date: 25/11/2024", "ICD-10: J06.9"], 2)).await.unwrap();
    let chart = s.chart(&p1.chart).await.unwrap();
    assert_eq!(chart.status, ChartStatus::Extracted);
    assert_eq!(chart.form.as_deref(), Some("opd"));
    assert_eq!(chart.fields["patient_id"].text(), Some("000123"));
    assert_eq!(chart.fields["visit_date"].text(), Some("2024-11-25"));
    assert_eq!(chart.fields["visit_date"].page, 2);
    assert_eq!(chart.sources.len(), 2);
    assert_eq!(s.review_queue(10).await.unwrap()[0].chart, p1.chart);
    // Completing again (a worker whose lease was lost) changes nothing.
    s.complete_page(p2.page_id, &result(&["Visit date: 01/01/2020"], 2)).await.unwrap();
    assert_eq!(s.chart(&p1.chart).await.unwrap().fields["visit_date"].text(), Some("2024-11-25"));
}

async fn crashed_pages_are_retried_then_failed(s: Store) {
    s.record_file(&file("c3", 1, "SR01")).await.unwrap();
    // A lease that has already expired stands for a worker killed mid-page.
    for attempt in 1..=2 {
        let job = s.claim_page("dies", -1, 2).await.unwrap().expect("expired lease is claimable");
        assert_eq!(job.attempt, attempt);
    }
    assert!(s.claim_page("w", 60_000, 2).await.unwrap().is_none(), "poison page is not handed out a third time");
    let st = s.stats().await.unwrap();
    assert_eq!((st.pages.failed, st.pages.queued), (1, 0));
    let chart = &s.charts(None).await.unwrap()[0];
    assert_eq!(chart.status, ChartStatus::Extracted, "a chart whose pages all failed still reaches a reviewer");
    assert!(chart.pages[0].error.as_deref().unwrap().contains("gave up"));

    // Leases of a worker known to be dead go back to the queue at once.
    s.record_file(&file("e9", 1, "SR01")).await.unwrap();
    let job = s.claim_page("host1-4242-0", 600_000, 3).await.unwrap().unwrap();
    assert_eq!(s.lease_owners().await.unwrap(), vec!["host1-4242-0".to_string()]);
    assert_eq!(s.release_leases("host1-999-").await.unwrap(), 0, "other processes' leases are untouched");
    assert_eq!(s.release_leases("host1-4242-").await.unwrap(), 1);
    let again = s.claim_page("host1-5000-0", 600_000, 3).await.unwrap().unwrap();
    assert_eq!((again.page_id, again.attempt), (job.page_id, 2));
    s.complete_page(again.page_id, &result(&["OUTPATIENT CONSULTATION CARD"], 1)).await.unwrap();

    // An error reported by the worker requeues until the attempts run out.
    s.record_file(&file("d4", 1, "SR01")).await.unwrap();
    let job = s.claim_page("w", 60_000, 2).await.unwrap().unwrap();
    s.fail_page(job.page_id, "decode error", 2).await.unwrap();
    let job = s.claim_page("w", 60_000, 2).await.unwrap().expect("requeued");
    assert_eq!(job.attempt, 2);
    s.fail_page(job.page_id, "decode error", 2).await.unwrap();
    assert_eq!(s.stats().await.unwrap().pages.failed, 2);
    assert_eq!(s.stats().await.unwrap().pages.done, 1);
}

async fn extracted_chart(s: &Store, sha: &str) -> String {
    s.record_file(&file(sha, 1, "PP01")).await.unwrap();
    let job = s.claim_page("w", 60_000, 3).await.unwrap().unwrap();
    s.complete_page(job.page_id, &result(&["OUTPATIENT CONSULTATION CARD", "Patient ID: 000777", "Phone: 12"], 1)).await.unwrap();
    job.chart
}

async fn review_edits_are_versioned_and_audited(s: Store) {
    let id = extracted_chart(&s, "e5").await;
    let v = s.chart(&id).await.unwrap().version;
    let c = s.update_field(&id, "phone", Some(&"012345678".into()), v, "rev").await.unwrap();
    assert_eq!(c.version, v + 1);
    assert_eq!(c.status, ChartStatus::InReview);
    let phone = &c.fields["phone"];
    assert!(phone.corrected && !phone.needs_review);
    assert_eq!(phone.text(), Some("012345678"));
    match s.update_field(&id, "phone", Some(&"099999999".into()), v, "other").await {
        Err(StoreError::Conflict { given, current, .. }) => assert_eq!((given, current), (v, v + 1)),
        other => panic!("stale version must conflict, got {other:?}"),
    }
    let approved = s.approve(&id, v + 1, "rev").await.unwrap();
    let st = s.stats().await.unwrap();
    assert_eq!(st.by_reviewer["rev"].approved, 1);
    assert_eq!((st.by_reviewer["rev"].fields_corrected, st.corrections_by_field["phone"]), (1, 1));
    let today = st.by_day.keys().last().unwrap().clone();
    assert_eq!((st.by_day[&today].ingested, st.by_day[&today].approved), (1, 1), "{st:?}");
    assert_eq!(today.len(), 10, "a YYYY-MM-DD day: {today}");
    assert_eq!(approved.status, ChartStatus::Approved);
    assert!(approved.fields.values().all(|f| !f.needs_review));
    assert!(matches!(s.reject(&id, v + 2, "late", "rev").await, Err(StoreError::InvalidState(_))));
    assert!(matches!(s.approve("nope", 1, "rev").await, Err(StoreError::NotFound(_))));
    let actions: Vec<String> = s.audit_entries(Some(&id)).await.unwrap().into_iter().map(|e| e.2).collect();
    assert_eq!(actions, ["ingest", "extract", "edit_field", "approve", "commit"]);
    assert_eq!(s.charts(Some(ChartStatus::Approved)).await.unwrap().len(), 1);

    let other = extracted_chart(&s, "f6").await;
    let rejected = s.reject(&other, 1, "illegible scan", "rev").await.unwrap();
    assert_eq!(rejected.status, ChartStatus::Rejected);
    let r = s.rejections(10, &store::Facilities::All).await.unwrap();
    assert_eq!((r.len(), r[0].chart.as_str(), r[0].reason.as_deref(), r[0].file.as_str()), (1, other.as_str(), Some("illegible scan"), "f6.jpg"));
    let b = s.batches().await.unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(
        (b[0].facility.as_str(), b[0].batch.as_str(), b[0].files, b[0].box_label.as_deref(), b[0].operator.as_deref()),
        ("PP01", "box1", 2, Some("box 17"), Some("srey"))
    );
    assert_eq!((b[0].charts.approved, b[0].charts.rejected, b[0].charts.total), (1, 1, 2));
    let st = s.stats().await.unwrap();
    assert_eq!((st.by_reviewer["rev"].approved, st.by_reviewer["rev"].rejected), (1, 1));
    assert_eq!(st.by_day.values().map(|d| d.ingested).sum::<i64>(), 2);
}

async fn users_and_sessions(s: Store) {
    let u = s.add_user("dara", Role::Reviewer, "saffron canal lighthouse 12", "admin").await.unwrap();
    assert!(s.add_user("x", Role::Reviewer, "short", "admin").await.is_err());
    assert_eq!(s.verify_login("dara", "saffron canal lighthouse 12").await.unwrap(), Some(u.clone()));
    assert_eq!(s.verify_login("dara", "wrong password").await.unwrap(), None);
    assert_eq!(s.verify_login("nobody", "saffron canal lighthouse 12").await.unwrap(), None);
    let (token, session) = s.create_session(&u).await.unwrap();
    assert_eq!(s.session(&token).await.unwrap(), Some(session.clone()));
    assert_eq!(session.csrf.len(), 32);
    assert_eq!(s.session("forged").await.unwrap(), None);
    s.end_session(&token).await.unwrap();
    assert_eq!(s.session(&token).await.unwrap(), None);
    // A name taken is refused: the existing user keeps role and password.
    let err = s.add_user("dara", Role::Admin, "copper-monsoon-bamboo-9", "mallory").await.unwrap_err();
    assert!(err.to_string().contains("exists already"), "{err}");
    assert_eq!(s.verify_login("dara", "saffron canal lighthouse 12").await.unwrap().map(|u| u.role), Some(Role::Reviewer));
    // A new password and a new role each end the user's sessions, and name who changed them.
    let (token, _) = s.create_session(&u).await.unwrap();
    s.set_password("dara", "copper-monsoon-bamboo-9", "cli:root").await.unwrap();
    assert_eq!(s.session(&token).await.unwrap(), None, "a new password ends the sessions");
    assert!(s.verify_login("dara", "saffron canal lighthouse 12").await.unwrap().is_none());
    let (token, _) = s.create_session(&u).await.unwrap();
    s.set_role("dara", Role::Manager, "cli:root").await.unwrap();
    assert_eq!(s.session(&token).await.unwrap(), None, "a new role ends the sessions");
    let again = s.verify_login("dara", "copper-monsoon-bamboo-9").await.unwrap().unwrap();
    assert_eq!((again.id, again.role), (u.id, Role::Manager));
    assert!(s.set_password("dara", "password", "cli:root").await.is_err(), "the password rules hold for changes too");
    let audit: Vec<(String, String)> = s.audit_entries(None).await.unwrap().into_iter().filter(|e| e.2.starts_with("user_")).map(|e| (e.1, e.2)).collect();
    assert_eq!(audit, [("admin".into(), "user_add".into()), ("cli:root".into(), "user_password".into()), ("cli:root".into(), "user_role".into())], "{audit:?}");
}

async fn idle_sessions_end(s: Store) {
    let s = s.with_session_idle(std::time::Duration::from_millis(1500));
    let u = s.add_user("dara", Role::Reviewer, "saffron canal lighthouse 12", "admin").await.unwrap();
    let (token, _) = s.create_session(&u).await.unwrap();
    // Used every second, it stays; left alone past its idle time, it ends.
    for _ in 0..2 {
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
        assert!(s.session(&token).await.unwrap().is_some(), "a session in use lives on");
    }
    tokio::time::sleep(std::time::Duration::from_millis(1700)).await;
    assert_eq!(s.session(&token).await.unwrap(), None, "an idle session has ended");
}

async fn claims_keep_reviewers_apart_and_the_queue_filters(s: Store) {
    let a = extracted_chart(&s, "c1").await;
    let b = extracted_chart(&s, "c2").await;
    let until = s.claim_chart(&a, "sokha", 60_000).await.unwrap();
    assert!(until > store::now_ms());
    // Dara's queue skips Sokha's chart; Sokha still sees it.
    let ids = |q: Vec<store::QueueItem>| q.into_iter().map(|i| i.chart).collect::<Vec<_>>();
    let everyone = store::QueueFilter::default();
    assert_eq!(ids(s.review_queue_for(10, &everyone, Some("dara")).await.unwrap()), std::slice::from_ref(&b));
    assert_eq!(ids(s.review_queue_for(10, &everyone, Some("sokha")).await.unwrap()).len(), 2);
    match s.claim_chart(&a, "dara", 60_000).await {
        Err(StoreError::Claimed { by, .. }) => assert_eq!(by, "sokha"),
        other => panic!("a held chart cannot be claimed: {other:?}"),
    }
    let v = s.chart(&a).await.unwrap().version;
    assert!(matches!(s.update_field(&a, "phone", Some(&"012345678".into()), v, "dara").await, Err(StoreError::Claimed { .. })));
    // Approving releases the claim, and the time from claim to decision is counted.
    s.approve(&a, v, "sokha").await.unwrap();
    let timed = s.stats().await.unwrap().by_reviewer["sokha"].median_seconds_per_chart;
    assert!(timed.is_some_and(|t| (0.0..60.0).contains(&t)), "{timed:?}");
    // An expired claim is free to take.
    s.claim_chart(&b, "sokha", -1).await.unwrap();
    assert!(s.claim_chart(&b, "dara", 60_000).await.is_ok());
    s.release_claim(&b, "dara").await.unwrap();
    assert_eq!(ids(s.review_queue_for(10, &everyone, Some("sokha")).await.unwrap()), std::slice::from_ref(&b));
    // Filters by facility, form and batch.
    let f = |facility: &str, form: &str, batch: &str| store::QueueFilter {
        facility: Some(facility.into()).filter(|x: &String| !x.is_empty()),
        form: Some(form.into()).filter(|x: &String| !x.is_empty()),
        batch: Some(batch.into()).filter(|x: &String| !x.is_empty()),
        senior: false,
        facilities: store::Facilities::All,
    };
    assert_eq!(s.review_queue_for(10, &f("PP01", "opd", "box1"), None).await.unwrap().len(), 1);
    // A user of other facilities sees none of PP01's charts.
    let elsewhere = store::QueueFilter { facilities: store::Facilities::Only(vec!["SR01".into(), "BB01".into()]), ..Default::default() };
    assert!(s.review_queue_for(10, &elsewhere, None).await.unwrap().is_empty());
    let own = store::QueueFilter { facilities: store::Facilities::Only(vec!["SR01".into(), "PP01".into()]), ..Default::default() };
    assert_eq!(s.review_queue_for(10, &own, None).await.unwrap().len(), 1);
    assert!(s.review_queue_for(10, &f("SR01", "", ""), None).await.unwrap().is_empty());
    assert!(s.review_queue_for(10, &f("", "anc", ""), None).await.unwrap().is_empty());
    assert!(s.review_queue_for(10, &f("", "", "box9"), None).await.unwrap().is_empty());
}

async fn double_keying_agrees_or_goes_to_a_senior(s: Store) {
    s.add_user("boss", Role::Manager, "saffron canal lighthouse 12", "admin").await.unwrap();
    let keyed = vec!["patient_id".to_string()];
    let ids = |q: Vec<store::QueueItem>| q.into_iter().map(|i| i.chart).collect::<Vec<_>>();
    let plain = store::QueueFilter::default();
    let senior = store::QueueFilter { senior: true, ..Default::default() };
    for (sha, second, agree) in [("d1", "000777", true), ("d2", "000778", false)] {
        let id = extracted_chart(&s, sha).await;
        let first = s.approve_keyed(&id, 1, "sokha", &keyed).await.unwrap();
        assert_eq!(first.status, ChartStatus::SecondKey);
        // Not for the first reviewer; for anyone else.
        assert!(!ids(s.review_queue_for(10, &plain, Some("sokha")).await.unwrap()).contains(&id));
        assert!(ids(s.review_queue_for(10, &plain, Some("dara")).await.unwrap()).contains(&id));
        let values: std::collections::BTreeMap<String, Option<String>> = [("patient_id".to_string(), Some(second.to_string()))].into();
        assert!(matches!(s.second_key(&id, first.version, "sokha", &values).await, Err(StoreError::InvalidState(_))), "the first reviewer cannot key it again");
        let (after, agreed) = s.second_key(&id, first.version, "dara", &values).await.unwrap();
        assert_eq!(agreed, agree);
        if agree {
            assert_eq!(after.status, ChartStatus::Approved);
            assert!(s.committed_chart(&id).await.unwrap().is_some(), "agreeing keyings approve, and approving commits");
        } else {
            assert_eq!(after.status, ChartStatus::Disputed);
            let pid = &after.fields["patient_id"];
            assert!(pid.needs_review && pid.issue.as_deref().unwrap().contains("000778"), "{pid:?}");
            assert!(!ids(s.review_queue_for(10, &plain, Some("vuthy")).await.unwrap()).contains(&id), "disputes are for seniors");
            assert!(ids(s.review_queue_for(10, &senior, Some("boss")).await.unwrap()).contains(&id));
            // The senior's approval settles it (no third keying).
            let settled = s.approve_keyed(&id, after.version, "boss", &keyed).await.unwrap();
            assert_eq!(settled.status, ChartStatus::Approved);
            // The same patient number at the same facility: the same patient, linked unasked.
            let commit = s.commit_of(&id).await.unwrap().unwrap();
            assert_eq!(commit.how, store::MatchHow::Linked, "{commit:?}");
        }
    }
    let actions: Vec<String> = s.audit_entries(None).await.unwrap().into_iter().map(|e| e.2).filter(|a| a.contains("key")).collect();
    assert_eq!(actions, ["approve_first_key", "second_key", "approve_first_key", "second_key"]);
}

/// Every way of changing a chart holds the double-keying rule: a disputed chart is changed by
/// a senior only (edit, reject, flag a page blank or not, merge, approve), a senior's changes
/// keep it disputed until settled, and values read again need a new second keying.
async fn a_disputed_chart_is_changed_by_a_senior_only_on_every_path(s: Store) {
    s.add_user("dara", Role::Reviewer, "saffron canal lighthouse 12", "admin").await.unwrap();
    s.add_user("boss", Role::Manager, "saffron canal lighthouse 12", "admin").await.unwrap();
    let keyed = vec!["patient_id".to_string()];
    let disputed = |sha: &'static str| {
        let s = s.clone();
        let keyed = keyed.clone();
        async move {
            let id = extracted_chart(&s, sha).await;
            let first = s.approve_keyed(&id, 1, "sokha", &keyed).await.unwrap();
            let values: std::collections::BTreeMap<String, Option<String>> = [("patient_id".to_string(), Some("999999".to_string()))].into();
            let (after, agreed) = s.second_key(&id, first.version, "dara", &values).await.unwrap();
            assert!(!agreed);
            assert_eq!(after.status, ChartStatus::Disputed);
            (id, after.version)
        }
    };
    let (id, v) = disputed("x1").await;
    let refused = |r: Result<store::ChartRecord, StoreError>, path: &str| {
        assert!(matches!(r, Err(StoreError::NotAllowed(_))), "{path} by a plain reviewer: {r:?}");
    };
    let text = chart::FieldValue::Text("000123".into());
    refused(s.update_field(&id, "patient_id", Some(&text), v, "dara").await, "edit");
    refused(s.reject(&id, v, "unreadable", "dara").await, "reject");
    refused(s.set_page_flag(&id, 1, Some("blank"), v, "dara").await, "flag blank");
    refused(s.set_page_flag(&id, 1, None, v, "dara").await, "not blank");
    refused(s.merge_next(&id, v, "dara").await, "merge with next");
    refused(s.approve_keyed(&id, v, "dara", &keyed).await, "approve");
    refused(s.approve_keyed(&id, v, "sokha", &keyed).await, "approve by the first keyer");
    assert_eq!(s.chart(&id).await.unwrap().version, v, "nothing changed");
    // The senior edits: it stays disputed (a plain reviewer still cannot take over), then
    // the senior's approval settles it.
    let edited = s.update_field(&id, "patient_id", Some(&text), v, "boss").await.unwrap();
    assert_eq!(edited.status, ChartStatus::Disputed);
    refused(s.approve_keyed(&id, edited.version, "dara", &keyed).await, "approve after the senior's edit");
    assert_eq!(s.approve_keyed(&id, edited.version, "boss", &keyed).await.unwrap().status, ChartStatus::Approved);
    // A senior sends a disputed chart's page to be read again: the old keyings no longer
    // count, and its next approval needs a second keying again.
    let (id, v) = disputed("x2").await;
    let reread = s.set_page_flag(&id, 1, None, v, "boss").await.unwrap();
    assert_eq!(reread.status, ChartStatus::Ingested);
    let job = s.claim_page("w", 60_000, 3).await.unwrap().unwrap();
    s.complete_page(job.page_id, &result(&["OUTPATIENT CONSULTATION CARD", "Patient ID: 000777", "Phone: 12"], 1)).await.unwrap();
    let again = s.chart(&id).await.unwrap();
    assert_eq!(s.approve_keyed(&id, again.version, "boss", &keyed).await.unwrap().status, ChartStatus::SecondKey, "keyed anew");
}

async fn disabled_users_cannot_sign_in(s: Store) {
    let u = s.add_user("vuthy", Role::Reviewer, "saffron canal lighthouse 12", "admin").await.unwrap();
    let (token, _) = s.create_session(&u).await.unwrap();
    s.set_user_disabled("vuthy", true, "admin").await.unwrap();
    assert_eq!(s.verify_login("vuthy", "saffron canal lighthouse 12").await.unwrap(), None);
    assert_eq!(s.session(&token).await.unwrap(), None, "a disabled user's sessions end");
    assert!(s.users().await.unwrap().iter().any(|(user, disabled)| user.name == "vuthy" && *disabled));
    s.set_user_disabled("vuthy", false, "admin").await.unwrap();
    assert!(s.verify_login("vuthy", "saffron canal lighthouse 12").await.unwrap().is_some());
    assert!(matches!(s.set_user_disabled("nobody", true, "admin").await, Err(StoreError::NotFound(_))));
}

async fn concurrent_workers_claim_each_page_once(s: Store) {
    for i in 0..6 {
        s.record_file(&file(&format!("{i:02}"), 3, "BB01")).await.unwrap();
    }
    let mut tasks = Vec::new();
    for w in 0..6 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(job) = s.claim_page(&format!("w{w}"), 60_000, 3).await.unwrap() {
                s.complete_page(job.page_id, &result(&["OUTPATIENT CONSULTATION CARD"], job.page_no)).await.unwrap();
                mine.push(job.page_id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!((before, all.len()), (18, 18), "every page processed exactly once");
    assert_eq!(s.stats().await.unwrap().charts.extracted, 6);
}

async fn stats_count_by_facility(s: Store) {
    extracted_chart(&s, "g7").await;
    s.record_file(&file("h8", 1, "SR01")).await.unwrap();
    let st = s.stats().await.unwrap();
    assert_eq!(st.charts.total, 2);
    assert_eq!(st.charts.extracted, 1);
    assert_eq!(st.by_facility["PP01"].extracted, 1);
    assert_eq!(st.by_facility["SR01"].total, 1);
    assert_eq!((st.pages.total, st.pages.done, st.pages.queued), (2, 1, 1));
    let json = serde_json::to_value(&st).unwrap();
    assert!(json["charts"]["in_review"].is_number() && json["by_facility"]["SR01"]["approved"].is_number());
}

/// An extracted outpatient chart whose fields are then set as a reviewer would.
async fn reviewed_chart(s: &Store, sha: &str, values: &[(&str, Option<&str>)]) -> (String, i64) {
    let id = extracted_chart(s, sha).await;
    let mut v = s.chart(&id).await.unwrap().version;
    for (name, value) in values {
        v = s.update_field(&id, name, value.map(chart::FieldValue::from).as_ref(), v, "rev").await.unwrap().version;
    }
    (id, v)
}

fn sopheap<'a>(latin: &'a str, extra: &[(&'a str, Option<&'a str>)]) -> Vec<(&'a str, Option<&'a str>)> {
    let mut v = vec![
        ("name_khmer", Some("សុខ សុភាព")),
        ("name_latin", Some(latin)),
        ("sex", Some("F")),
        ("visit_date", Some("2024-11-25")),
        ("diagnosis", Some("Dengue fever")),
        ("diagnosis_icd10", Some("A90")),
        ("temperature_c", Some("38.5")),
    ];
    v.extend_from_slice(extra);
    v
}

async fn approval_commits_a_matched_record_and_unapproval_retracts_it(s: Store) {
    let (a, v) = reviewed_chart(&s, "r1", &sopheap("SOK Sopheap", &[("date_of_birth", Some("1990-03-04"))])).await;
    s.approve(&a, v, "rev").await.unwrap();
    let counts = s.record_counts().await.unwrap();
    assert_eq!(
        (counts.patients, counts.encounters, counts.facts, counts.outbox_pending),
        (1, 1, 2, 1),
        "a patient, an encounter, a diagnosis and a temperature"
    );
    let ca = s.committed_chart(&a).await.unwrap().expect("committed on approval");
    let dx = ca.record.facts.iter().find(|f| f.field == "diagnosis").unwrap();
    assert_eq!((dx.code.as_deref(), dx.page), (Some("A90"), 0), "a reviewer-typed field has no page");
    let temp = ca.record.facts.iter().find(|f| f.field == "temperature_c").unwrap();
    assert_eq!((temp.code.as_deref(), temp.unit.as_deref()), (Some("8310-5"), Some("Cel")));
    assert_eq!(ca.reviewer, "rev");
    assert_eq!(ca.scans[0].sha256, "r1".repeat(32));
    let patient = ca.patient.public_id.clone();

    // The same woman, another spelling and family name last: linked without asking.
    let (b, v) = reviewed_chart(&s, "r2", &sopheap("Sophea SOKH", &[("date_of_birth", Some("1990-03-04")), ("patient_id", None)])).await;
    assert!(matches!(s.patient_match(&b).await.unwrap(), store::MatchOutcome::Link { .. }));
    s.approve(&b, v, "rev").await.unwrap();
    assert_eq!(s.committed_chart(&b).await.unwrap().unwrap().patient.public_id, patient);
    assert_eq!(s.record_counts().await.unwrap().patients, 1);

    // Only an age: a namesake is possible, so the reviewer must choose, and nothing changes
    // until they do.
    let (c, v) = reviewed_chart(&s, "r3", &sopheap("SOK Sopheap", &[("age", Some("34")), ("patient_id", None)])).await;
    match s.approve(&c, v, "rev").await {
        Err(StoreError::NeedsPatientChoice { candidates, .. }) => {
            assert_eq!(candidates[0].patient, patient);
            assert!(candidates[0].reasons.iter().any(|r| r.contains("estimated")), "{candidates:?}");
            assert_eq!(candidates[0].charts, 2);
        }
        other => panic!("an uncertain match must ask, got {other:?}"),
    }
    assert_eq!(s.chart(&c).await.unwrap().status, ChartStatus::InReview, "not approved without a choice");
    assert_eq!(s.record_counts().await.unwrap().encounters, 2);
    s.approve_with(&c, v, "rev", &[], &store::PatientChoice::Existing(patient.clone())).await.unwrap();
    assert_eq!(s.committed_chart(&c).await.unwrap().unwrap().patient.public_id, patient);
    assert!(s.committed_chart(&c).await.unwrap().unwrap().patient.person.names_latin.len() >= 2, "every spelling is kept");

    // Someone else entirely: a new patient.
    let (d, v) =
        reviewed_chart(&s, "r4", &[("name_latin", Some("CHAN Dara")), ("sex", Some("M")), ("date_of_birth", Some("1975-05-01")), ("patient_id", None)]).await;
    s.approve(&d, v, "rev").await.unwrap();
    let counts = s.record_counts().await.unwrap();
    assert_eq!((counts.patients, counts.encounters), (2, 4));

    // Committing again changes nothing.
    let before = s.committed_charts(None).await.unwrap();
    let again = s.commit_chart(&a, "rev").await.unwrap().unwrap();
    assert_eq!((again.patient.as_str(), again.how.as_str()), (patient.as_str(), "recommitted"));
    s.commit_chart(&a, "rev").await.unwrap();
    assert_eq!(s.record_counts().await.unwrap(), counts);
    let after = s.committed_charts(None).await.unwrap();
    let facts = |cs: &[chart::fhir::CommittedChart]| cs.iter().map(|c| (c.chart.clone(), c.record.facts.clone())).collect::<std::collections::BTreeMap<_, _>>();
    assert_eq!(facts(&before), facts(&after));

    // A manager un-approves B: its record goes, the patient stays with A's and C's.
    assert!(matches!(s.unapprove(&b, 99, "boss", "wrong patient").await, Err(StoreError::Conflict { .. })));
    let vb = s.chart(&b).await.unwrap().version;
    assert!(matches!(s.unapprove(&b, vb, "boss", " ").await, Err(StoreError::Invalid(_))));
    let back = s.unapprove(&b, vb, "boss", "wrong patient").await.unwrap();
    assert_eq!(back.status, ChartStatus::InReview);
    assert!(s.committed_chart(&b).await.unwrap().is_none());
    let counts = s.record_counts().await.unwrap();
    assert_eq!((counts.patients, counts.encounters), (2, 3));
    let audit: Vec<(String, String)> = s.audit_entries(Some(&b)).await.unwrap().into_iter().map(|e| (e.1, e.2)).collect();
    assert!(audit.contains(&("boss".to_string(), "unapprove".to_string())), "{audit:?}");
    let retract = s.outbox_pending(100).await.unwrap().into_iter().find(|o| o.op == store::OutboxOp::Retract).unwrap();
    let payload: store::Retraction = serde_json::from_str(&retract.payload.unwrap()).unwrap();
    assert!(payload.deletes.contains(&format!("Encounter?identifier=urn:chartscan:chart|{b}")), "{payload:?}");
    assert_eq!(payload.patient.as_deref(), Some(patient.as_str()), "the kept patient is sent again, as they are now");
    assert!(!s.patient_entry(&patient).await.unwrap().unwrap().person.names_latin.contains(&"Sophea SOKH".to_string()), "B's spelling went with B");
    // D was the only chart of its patient: un-approving it removes the patient too.
    let vd = s.chart(&d).await.unwrap().version;
    s.unapprove(&d, vd, "boss", "duplicate scan").await.unwrap();
    assert_eq!(s.record_counts().await.unwrap().patients, 1);
    assert!(matches!(s.unapprove(&d, vd + 1, "boss", "again").await, Err(StoreError::InvalidState(_))));
    // Two managers un-approve the same version at once: the version check every change goes
    // through lets exactly one of them through, so the record is retracted once.
    let vb = s.chart(&b).await.unwrap().version;
    s.approve(&b, vb, "rev").await.unwrap();
    let vb = s.chart(&b).await.unwrap().version;
    let retractions =
        |s: Store, b: String| async move { s.outbox_pending(1000).await.unwrap().iter().filter(|o| o.chart == b && o.op == store::OutboxOp::Retract).count() };
    let before = retractions(s.clone(), b.clone()).await;
    let (one, two) = tokio::join!(s.unapprove(&b, vb, "boss", "first"), s.unapprove(&b, vb, "boss2", "second"));
    assert!(one.is_ok() != two.is_ok(), "exactly one un-approval wins: {one:?} {two:?}");
    assert!(matches!(one.err().or(two.err()), Some(StoreError::Conflict { .. })));
    assert_eq!(retractions(s.clone(), b.clone()).await, before + 1);
}

async fn the_outbox_survives_until_sent(s: Store) {
    let (a, v) = reviewed_chart(&s, "o1", &sopheap("SOK Sopheap", &[("date_of_birth", Some("1990-03-04"))])).await;
    s.approve(&a, v, "rev").await.unwrap();
    s.commit_chart(&a, "rev").await.unwrap();
    let pending = s.outbox_pending(10).await.unwrap();
    assert_eq!(pending.len(), 1, "a re-commit before sending queues nothing more");
    s.outbox_failed(&[pending[0].id], "503 from server").await.unwrap();
    let pending = s.outbox_pending(10).await.unwrap();
    assert_eq!(pending[0].attempts, 1, "a failure is counted and the row stays");
    s.outbox_sent(&[pending[0].id], "pusher", "http://fhir").await.unwrap();
    s.outbox_sent(&[pending[0].id], "pusher", "http://fhir").await.unwrap();
    assert!(s.outbox_pending(10).await.unwrap().is_empty());
    let pushes = s.audit_entries(Some(&a)).await.unwrap().into_iter().filter(|e| e.2 == "push").count();
    assert_eq!(pushes, 1, "marking sent twice audits once");
    s.commit_chart(&a, "rev").await.unwrap();
    assert_eq!(s.outbox_pending(10).await.unwrap().len(), 1, "a re-commit after sending is sent again");
}

async fn concurrent_approvals_of_one_new_patient_make_one_patient(s: Store) {
    let mut charts = Vec::new();
    for sha in ["c1", "c2", "c3", "c4"] {
        charts.push(reviewed_chart(&s, sha, &sopheap("SOK Sopheap", &[("date_of_birth", Some("1990-03-04")), ("phone", Some("012345678"))])).await);
    }
    let mut tasks = Vec::new();
    for (id, v) in charts {
        let s = s.clone();
        tasks.push(tokio::spawn(async move { s.approve(&id, v, "rev").await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let counts = s.record_counts().await.unwrap();
    assert_eq!((counts.patients, counts.encounters), (1, 4), "four charts of one woman approved at once: one patient");
}

async fn one_pusher_at_a_time(s: Store) {
    s.take_lock("push", "host-a:1", 60_000).await.unwrap();
    s.take_lock("push", "host-a:1", 60_000).await.expect("the holder renews its lease");
    match s.take_lock("push", "host-b:7", 60_000).await {
        Err(StoreError::Claimed { by, .. }) => assert_eq!(by, "host-a:1"),
        other => panic!("a second pusher must wait, got {other:?}"),
    }
    s.release_lock("push", "host-b:7").await.unwrap();
    assert!(s.take_lock("push", "host-b:7", 60_000).await.is_err(), "only the holder releases");
    s.release_lock("push", "host-a:1").await.unwrap();
    s.take_lock("push", "host-b:7", 1).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    s.take_lock("push", "host-c:3", 60_000).await.expect("an expired lease (a killed pusher) is taken over");
}

async fn tables_are_stored_as_rows_and_committed_as_facts(s: Store) {
    let id = extracted_chart(&s, "7a").await;
    let v = s.chart(&id).await.unwrap().version;
    let row = |cells: &[(&str, Option<&str>)]| cells.iter().map(|(k, v)| (k.to_string(), v.map(str::to_string))).collect::<chart::Row>();
    let labs = chart::FieldValue::Rows(vec![
        row(&[("test", Some("Glucose")), ("value", Some("5.4")), ("unit", Some("mmol/L"))]),
        row(&[("test", Some("Urine protein")), ("value", Some("trace")), ("unit", None)]),
    ]);
    let c = s.update_field(&id, "lab_results", Some(&labs), v, "rev").await.unwrap();
    assert_eq!(c.fields["lab_results"].value, Some(labs.clone()), "the rows come back as they were saved");
    assert_eq!(c.fields["lab_results"].text(), None, "a table is not text");
    // Read back afresh from the store, not from the reply to the edit.
    let again = s.chart(&id).await.unwrap();
    assert_eq!(again.fields["lab_results"].value, Some(labs));
    let c = s.update_field(&id, "visit_date", Some(&"2025-05-06".into()), c.version, "rev").await.unwrap();
    s.approve(&id, c.version, "rev").await.unwrap();
    let committed = s.committed_chart(&id).await.unwrap().expect("committed");
    let labs: Vec<(&str, &str, Option<&str>)> = committed
        .record
        .facts
        .iter()
        .filter(|f| f.field.starts_with("lab_results."))
        .map(|f| (f.display.as_str(), f.value.as_str(), f.unit.as_deref()))
        .collect();
    assert_eq!(labs, [("Glucose", "5.4", Some("mmol/L")), ("Urine protein", "trace", None)]);
}

/// A Khmer-only card no bundled template reads, taught from one page.
fn khmer_card(id: &str, name: &str) -> PageWords {
    PageWords::typeset(1, 1000, 1400, &["ប័ណ្ណពិគ្រោះ", &format!("លេខ: {id} ភេទ: ស្រី"), &format!("ឈ្មោះ: {name}")])
}

fn taught(version_label: &str) -> chart::Template {
    let field = chart::studio::ShownField::new;
    let t = chart::studio::Taught {
        form: "opd".into(),
        name: format!("Outpatient card (Khmer) {version_label}"),
        facility: Some("KP01".into()),
        title: vec![0],
        fields: vec![
            field("patient_id", chart::FieldType::PatientId, vec![1], vec![2]),
            field("sex", chart::FieldType::Sex, vec![3], vec![4]),
            field("name_khmer", chart::FieldType::KhmerText, vec![5], vec![6, 7]),
        ],
    };
    chart::studio::build(&t, &[khmer_card("004512", "សុខ ស្រីនាង")]).unwrap()
}

async fn taught_templates_are_versioned_used_for_their_facility_and_reextract(s: Store) {
    // Before: the bundled templates do not read the card.
    s.record_file(&file("k1", 1, "KP01")).await.unwrap();
    let job = s.claim_page("w", 60_000, 3).await.unwrap().unwrap();
    s.complete_page(job.page_id, &PageResult { image_sha256: "ab".repeat(32), width: 1000, height: 1400, skew: 0.0, words: khmer_card("000777", "ចាន់ ដារា") })
        .await
        .unwrap();
    assert_ne!(s.chart(&job.chart).await.unwrap().fields.get("patient_id").and_then(|f| f.text().map(String::from)).as_deref(), Some("000777"));
    assert!(s.chart_template(&job.chart).await.unwrap().is_none());

    let v1 = s.save_template(&taught("v1"), "admin1").await.unwrap();
    let v2 = s.save_template(&taught("v2"), "admin1").await.unwrap();
    assert_eq!((v1.version, v2.version, v2.facility.as_deref()), (1, 2, Some("KP01")));
    assert_eq!(s.stored_templates().len(), 2);
    assert!(s.templates().iter().any(|t| t.name.ends_with("v2")) && !s.templates().iter().any(|t| t.name.ends_with("v1")), "the newest version is in use");

    // Re-extraction of the facility's charts uses it, and the chart remembers the version.
    assert_eq!(s.reextract_charts(Some("KP01"), "admin1").await.unwrap(), 1);
    let chart = s.chart(&job.chart).await.unwrap();
    assert_eq!(chart.fields["patient_id"].text(), Some("000777"));
    assert_eq!(chart.fields["sex"].text(), Some("F"));
    assert_eq!(s.chart_template(&job.chart).await.unwrap().map(|t| t.version), Some(2));

    // Another facility's chart of the same look is not read with KP01's variant.
    s.record_file(&file("k2", 1, "PP01")).await.unwrap();
    let job = s.claim_page("w", 60_000, 3).await.unwrap().unwrap();
    s.complete_page(job.page_id, &PageResult { image_sha256: "ab".repeat(32), width: 1000, height: 1400, skew: 0.0, words: khmer_card("000888", "ចាន់ ដារា") })
        .await
        .unwrap();
    assert!(s.chart_template(&job.chart).await.unwrap().is_none());

    // Another process (a worker on another machine) that opened the store before the save
    // uses the new version from its next round of work on.
    let other = s.clone().with_templates(std::sync::Arc::new(chart::standard_templates()));
    let before_reload = other.templates().iter().filter(|t| t.facility.is_some()).count();
    let v3 = s.save_template(&taught("v3"), "admin2").await.unwrap();
    assert_eq!(v3.version, 3);
    assert_eq!(other.templates().iter().filter(|t| t.name.ends_with("v3")).count(), 0, "not before it reloads ({before_reload} variant(s) known)");
    other.reload_templates().await.unwrap();
    assert!(other.templates().iter().any(|t| t.name.ends_with("v3")), "the newest version after reloading");

    // Every save is audited.
    let audit: Vec<String> = s.audit_entries(None).await.unwrap().into_iter().filter(|e| e.2 == "template_save").map(|e| e.4).collect();
    assert_eq!(audit.len(), 3, "{audit:?}");
    assert!(audit[1].contains("opd v2 for facility KP01"), "{audit:?}");
}

/// Audit entries written at the same moment share a commit: sixty reviewers' views at once
/// all land in one unbroken chain, each caller returning only once its entry is written, and
/// callers that go away mid-write (a third of them, cancelled) break nothing.
async fn simultaneous_audit_entries_share_commits_and_keep_the_chain(s: Store) {
    let writers: Vec<_> = (0..60)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.audit(&format!("r{i}"), "view_chart", Some(&format!("c{i}")), "opened").await })
        })
        .collect();
    let mut done = Vec::new();
    for (i, w) in writers.into_iter().enumerate() {
        if i % 3 == 0 {
            w.abort();
        } else {
            w.await.unwrap().unwrap();
            done.push(format!("c{i}"));
        }
    }
    // (An aborted caller's entry may still be written by the batch it joined.)
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let check = s.verify_audit().await.unwrap();
    assert_eq!(check.broken, None, "{check:?}");
    assert!((40..=60).contains(&check.entries), "{check:?}");
    let logged: Vec<Option<String>> = s.audit_entries(None).await.unwrap().into_iter().map(|e| e.3).collect();
    for c in &done {
        assert!(logged.contains(&Some(c.clone())), "{c} returned but is not in the log");
    }
}

/// The audit log is a hash chain: `verify_audit` finds an entry changed, and an entry
/// deleted, directly in the database (as someone with the database's password could).
async fn tampering_with_the_audit_log_is_found(url: &str) {
    let s = Store::open(url).await.unwrap();
    for i in 0..5 {
        s.audit("dara", "view", Some(&format!("c{i}")), "opened").await.unwrap();
    }
    // Writers in parallel still make one chain.
    let writers: Vec<_> = (0..8)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { s.audit("sokha", "edit", Some("c9"), &format!("field {i}")).await.unwrap() })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let whole = s.verify_audit().await.unwrap();
    assert_eq!((whole.entries, whole.chained, whole.broken.clone()), (13, 13, None), "{whole:?}");
    assert!(whole.head.is_some());
    let ids: Vec<i64> = {
        let raw = sqlx::AnyPool::connect(url).await.unwrap();
        let ids = sqlx::query_scalar::<_, i64>("SELECT id FROM audit_log ORDER BY id").fetch_all(&raw).await.unwrap();
        // Someone rewrites what an entry says.
        sqlx::query("UPDATE audit_log SET detail = 'nothing to see' WHERE id = $1").bind(ids[2]).execute(&raw).await.unwrap();
        raw.close().await;
        ids
    };
    let changed = s.verify_audit().await.unwrap();
    assert_eq!(changed.broken.as_ref().map(|b| b.0), Some(ids[2]), "{changed:?}");
    assert!(changed.broken.unwrap().1.contains("changed"));
    assert_eq!(changed.chained, 2);
    // Put back, then delete an entry instead: the one after it no longer links.
    let raw = sqlx::AnyPool::connect(url).await.unwrap();
    sqlx::query("UPDATE audit_log SET detail = 'opened' WHERE id = $1").bind(ids[2]).execute(&raw).await.unwrap();
    assert_eq!(s.verify_audit().await.unwrap().broken, None, "restored");
    sqlx::query("DELETE FROM audit_log WHERE id = $1").bind(ids[6]).execute(&raw).await.unwrap();
    raw.close().await;
    let deleted = s.verify_audit().await.unwrap();
    assert_eq!(deleted.broken.as_ref().map(|b| b.0), Some(ids[7]), "{deleted:?}");
    assert!(deleted.broken.unwrap().1.contains("deleted"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_audit_log_tampering_is_found() {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    tampering_with_the_audit_log_is_found(&format!("sqlite://{}/t.db", dir.path().display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_audit_log_tampering_is_found() {
    tampering_with_the_audit_log_is_found(&postgres_database().await).await;
}

async fn the_archive_is_reconciled_box_by_box(s: Store) {
    use chart::archive::{box_state, parse_boxes, parse_facilities, BoxState};
    let facilities =
        parse_facilities("code,name,name_km,province,target\nPP01,Example Hospital,មន្ទីរពេទ្យ,Phnom Penh,5000\nSR01,Other Clinic,,siem reap,\n").unwrap();
    assert_eq!(s.upsert_facilities(&facilities).await.unwrap(), store::archive::Imported { added: 2, updated: 0 });
    let renamed = parse_facilities("code,name,target\nPP01,Example Referral Hospital,6000\n").unwrap();
    assert_eq!(s.upsert_facilities(&renamed).await.unwrap(), store::archive::Imported { added: 0, updated: 1 });
    let registry = s.facility_registry().await.unwrap();
    assert_eq!(
        (registry[0].name.as_str(), registry[0].target_charts, registry[1].province.as_deref()),
        ("Example Referral Hospital", Some(6000), Some("Siem Reap"))
    );
    let boxes = parse_boxes("facility,box,expected,years,shelf\nPP01,box 17,3,2019-2020,R1\nPP01,box 18,40,,\nSR01,A-1,2,,\n").unwrap();
    assert_eq!(s.import_boxes(&boxes).await.unwrap().added, 3);
    // Box 17: three charts scanned; one approved, one rejected, one still waiting.
    let a = extracted_chart(&s, "k1").await;
    let b = extracted_chart(&s, "k2").await;
    extracted_chart(&s, "k3").await;
    s.approve(&a, s.chart(&a).await.unwrap().version, "rev").await.unwrap();
    s.reject(&b, s.chart(&b).await.unwrap().version, "blurred", "rev").await.unwrap();
    // A box the inventory does not list.
    let mut stray = file("k4", 1, "SR01");
    stray.box_label = Some("Z-9".into());
    s.record_file(&stray).await.unwrap();
    let rows = s.box_rows(&store::Facilities::All, None).await.unwrap();
    let row = |f: &str, l: &str| rows.iter().find(|r| r.facility == f && r.label == l).unwrap_or_else(|| panic!("no row {f} {l}: {rows:?}")).clone();
    let b17 = row("PP01", "box 17");
    assert_eq!((b17.counts.expected, b17.counts.scanned, b17.counts.in_review, b17.counts.approved, b17.counts.rejected), (Some(3), 3, 1, 1, 1));
    assert_eq!((b17.years.as_deref(), b17.shelf.as_deref()), (Some("2019-2020"), Some("R1")));
    assert_eq!(box_state(&b17.counts, 0.02), BoxState::InProgress);
    assert_eq!(box_state(&row("PP01", "box 18").counts, 0.02), BoxState::NotStarted);
    assert_eq!(box_state(&row("SR01", "Z-9").counts, 0.02), BoxState::NotInInventory);
    assert_eq!(rows.len(), 4);
    // A user of one facility sees its boxes only; a facility asked for, only its own.
    assert!(s.box_rows(&store::Facilities::Only(vec!["SR01".into()]), None).await.unwrap().iter().all(|r| r.facility == "SR01"));
    assert_eq!(s.box_rows(&store::Facilities::All, Some("PP01")).await.unwrap().len(), 2);
}
