//! The store's migrations are embedded by `sqlx::migrate!`, which cannot tell cargo about the
//! folder on stable Rust: a new migration file must rebuild the crate.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
