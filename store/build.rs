//! Build script: the migrations are embedded by `sqlx::migrate!`, so the crate is rebuilt
//! when one is added or changed.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
