//! The browser's files — the wasm, its JS glue and the stylesheet — under names that carry a hash
//! of their contents (`/pkg/pgpanel.<hash>.wasm`), answered with a year's `immutable` caching: a
//! second visit downloads none of them, and a new build gets new names (the HTML, never cached,
//! names the current ones). Other files under /pkg keep their plain names and revalidate.
//!
//! `cargo leptos build --release --precompress` (what `.ci/setup` runs) writes a brotli (quality
//! 11) and a gzip copy beside each file. The brotli copy is sent as it is where the browser
//! accepts brotli (the wasm: 791 KB against about 1,030 KB at the on-the-fly quality 4), but only
//! one that decodes to exactly the file beside it (`Precompressed::check`, once when the router is
//! built): a copy left over from another build is never sent. The gzip copies are not used: they
//! are larger than what the on-the-fly gzip makes (the wasm: 1,321 KB against 1,125 KB).

use std::io::Read;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use app::state::AppState;

/// The files named by hash, by extension: `pgpanel.<ext>` in the site's pkg folder.
pub const HASHED: [&str; 3] = ["js", "wasm", "css"];

/// One hash over the three files (they change together: the JS glue matches its wasm), as 16 hex
/// digits; None when a file is missing (a server built without its front end: plain names).
pub fn content_hash(pkg: &Path) -> Option<String> {
    let mut h = Sha256::new();
    for ext in HASHED {
        h.update(std::fs::read(pkg.join(format!("pgpanel.{ext}"))).ok()?);
    }
    Some(hex::encode(&h.finalize()[..8]))
}

/// The output name pages load (`pgpanel.<hash>`, or `pgpanel` without a front end).
pub fn output_name(pkg: &Path) -> String {
    content_hash(pkg).map_or_else(|| "pgpanel".to_owned(), |h| format!("pgpanel.{h}"))
}

/// The plain file a hashed name stands for, when `file` is `<output name>.<js|wasm|css>`.
fn plain_file(output_name: &str, file: &str) -> Option<&'static str> {
    if output_name == "pgpanel" {
        return None;
    }
    let ext = file.strip_prefix(output_name)?.strip_prefix('.')?;
    HASHED.into_iter().find(|e| *e == ext)
}

/// The hashed files whose brotli copies may be sent as they are: each `pgpanel.<ext>.br` that
/// decodes to exactly `pgpanel.<ext>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Precompressed {
    br: Vec<&'static str>,
}

impl Precompressed {
    /// Reads the copies in `pkg` (a few milliseconds: decoding is fast); a missing, unreadable or
    /// stale copy is left out, and that file is compressed on the fly instead.
    pub fn check(pkg: &Path) -> Self {
        let mut found = Self::default();
        for ext in HASHED {
            let Ok(plain) = std::fs::read(pkg.join(format!("pgpanel.{ext}"))) else {
                continue;
            };
            let copy = std::fs::read(pkg.join(format!("pgpanel.{ext}.br")));
            if copy.is_ok_and(|c| {
                decodes_to(
                    brotli_decompressor::Decompressor::new(&c[..], 1 << 16),
                    &plain,
                )
            }) {
                found.br.push(ext);
            }
        }
        found
    }
}

/// Whether `decoder` yields exactly `plain` (and no error).
fn decodes_to(mut decoder: impl Read, plain: &[u8]) -> bool {
    let mut out = Vec::with_capacity(plain.len());
    decoder.read_to_end(&mut out).is_ok() && out == plain
}

/// GET /pkg/{file}: a hashed name of the current build → the file (its checked brotli copy where
/// accepted), cached for a year; any other file in the folder → as it is,
/// revalidated; an unknown name (an older build's) → 404.
pub async fn pkg(
    state: AppState,
    precompressed: &Precompressed,
    file: String,
    req: Request,
) -> Response {
    let site = PathBuf::from(state.leptos_options.site_root.as_ref());
    let pkg = site.join(state.leptos_options.site_pkg_dir.as_ref());
    let Some((path, hashed)) = (match plain_file(&state.leptos_options.output_name, &file) {
        Some(ext) => Some((pkg.join(format!("pgpanel.{ext}")), Some(ext))),
        // Plain names only: no separators, no parent directories.
        None if !file.contains(['/', '\\']) && !file.starts_with('.') => {
            Some((pkg.join(&file), None))
        }
        None => None,
    }) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !path.is_file() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Some(ext) = hashed else {
        return serve_file(ServeFile::new(path), req).await;
    };
    let mut files = ServeFile::new(path);
    if precompressed.br.contains(&ext) {
        files = files.precompressed_br();
    }
    let mut res = serve_file(files, req).await;
    if res.status().is_success() {
        let headers = res.headers_mut();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
        // Shared caches keep one copy per encoding (the on-the-fly compression adds this itself).
        if !headers.contains_key(header::VARY) {
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
    }
    res
}

/// One file from disk (ranges, conditional requests and its content type, as tower-http does).
async fn serve_file(files: ServeFile, req: Request) -> Response {
    match files.oneshot(req).await {
        Ok(r) => r.map(Body::new),
        Err(e) => match e {},
    }
}

/// A file at the top of the site root (the favicon), for a path like `/favicon.svg`; None for
/// anything else (nested paths, dot files, names that are no file there).
pub fn site_file(site_root: &str, path: &str) -> Option<PathBuf> {
    let name = path.strip_prefix('/')?;
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return None;
    }
    let file = Path::new(site_root).join(name);
    file.is_file().then_some(file)
}

/// The router's fallback: a file of the site root is served here, outside leptos; anything else
/// goes to `leptos` (the 404 page). leptos' own file handler serves files in an owner that is a
/// child of whatever owner its worker thread last set, often a page render still in flight there,
/// and handed that page's response headers (its Content-Security-Policy) to the favicon: the page
/// then went out with the strict API policy and none of its scripts ran (seen as a rare failure in
/// the browser tests; reproduced by reloading pages quickly).
pub async fn site_file_or<F, Fut>(state: AppState, uri: Uri, req: Request, leptos: F) -> Response
where
    F: FnOnce(Uri, State<AppState>, Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    match site_file(&state.leptos_options.site_root, uri.path()) {
        Some(file) => serve_file(ServeFile::new(file), req).await,
        None => leptos(uri, State(state), req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_current_hashed_names_stand_for_the_files() {
        let name = "pgpanel.0123456789abcdef";
        assert_eq!(
            plain_file(name, "pgpanel.0123456789abcdef.wasm"),
            Some("wasm")
        );
        assert_eq!(
            plain_file(name, "pgpanel.0123456789abcdef.css"),
            Some("css")
        );
        assert_eq!(plain_file(name, "pgpanel.0123456789abcdef.map"), None);
        assert_eq!(plain_file(name, "pgpanel.ffffffffffffffff.wasm"), None);
        assert_eq!(plain_file(name, "pgpanel.wasm"), None);
        assert_eq!(plain_file("pgpanel", "pgpanel.wasm"), None);
    }

    #[test]
    fn only_top_level_files_of_the_site_root_are_site_files() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().to_string_lossy().into_owned();
        std::fs::write(dir.path().join("favicon.svg"), "<svg/>").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join(".hidden"), "x").unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir(dir.path().join("pkg")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("pkg/a.js"), "x").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            site_file(&root, "/favicon.svg"),
            Some(dir.path().join("favicon.svg"))
        );
        for path in [
            "/",
            "/.hidden",
            "/pkg",
            "/pkg/a.js",
            "/logs",
            "favicon.svg",
            "/a\\b",
        ] {
            assert_eq!(site_file(&root, path), None, "{path}");
        }
    }

    #[test]
    fn the_hash_follows_the_contents() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(content_hash(dir.path()), None);
        for ext in HASHED {
            std::fs::write(dir.path().join(format!("pgpanel.{ext}")), ext)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let first = content_hash(dir.path());
        assert_eq!(first.as_deref().map(str::len), Some(16));
        std::fs::write(dir.path().join("pgpanel.css"), "changed").unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(content_hash(dir.path()), first);
        assert_eq!(
            output_name(dir.path()),
            format!("pgpanel.{}", content_hash(dir.path()).unwrap_or_default())
        );
    }
}
