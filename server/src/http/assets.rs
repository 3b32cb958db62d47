//! The browser's files — each page's wasm and its JS glue (`pgpanel-<bundle>.wasm`, one per
//! page: docs/ARCHITECTURE.md §11) and the stylesheet — under names that carry a hash of their
//! contents (`/pkg/pgpanel-locks.<hash>.wasm`, `/pkg/pgpanel.<hash>.css`), answered with a year's
//! `immutable` caching: a second visit downloads none of them, and a new build gets new names (the
//! HTML, never cached, names the current ones). Other files under /pkg keep their plain names and
//! revalidate.
//!
//! `.ci/build-front` writes a brotli (quality 11) copy beside each file. It is sent as it is where
//! the browser accepts brotli, but only a copy that decodes to exactly the file beside it (checked
//! once when the router is built): a copy left over from another build is never sent. Everything
//! else is compressed on the fly (brotli at quality 4, or gzip).

use std::collections::HashMap;
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
use pgpanel_islands::AssetNames;

/// One file under its hashed name.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    /// Its plain name in the pkg folder.
    plain: String,
    /// Whether its `.br` copy decodes to exactly it.
    br: bool,
}

/// The browser's files of this build, read once at start-up.
#[derive(Clone, Debug, Default)]
pub struct Assets {
    names: AssetNames,
    /// Hashed file name → the file.
    files: HashMap<String, Entry>,
    /// Bundles whose files are missing (a server built without its front end: plain names, and
    /// the pages do not hydrate).
    missing: Vec<&'static str>,
}

/// 16 hex digits of a hash over the files' contents; None when one is missing.
fn content_hash(pkg: &Path, files: &[String]) -> Option<String> {
    let mut h = Sha256::new();
    for f in files {
        h.update(std::fs::read(pkg.join(f)).ok()?);
    }
    Some(hex::encode(&h.finalize()[..8]))
}

impl Assets {
    /// Reads the pkg folder: the stylesheet `pgpanel.css` and each page's `pgpanel-<bundle>.js`
    /// and `.wasm` (one hash per bundle: the JS glue matches its wasm).
    pub fn read(pkg: &Path) -> Self {
        let mut assets = Self::default();
        let groups = std::iter::once(("pgpanel".to_owned(), vec!["css"], None)).chain(
            app::pages::bundles()
                .into_iter()
                .map(|b| (format!("pgpanel-{b}"), vec!["js", "wasm"], Some(b))),
        );
        for (stem, exts, bundle) in groups {
            let files: Vec<String> = exts.iter().map(|e| format!("{stem}.{e}")).collect();
            let name = match content_hash(pkg, &files) {
                Some(h) => {
                    let name = format!("{stem}.{h}");
                    for (plain, ext) in files.into_iter().zip(&exts) {
                        let br = brotli_copy_matches(pkg, &plain);
                        assets
                            .files
                            .insert(format!("{name}.{ext}"), Entry { plain, br });
                    }
                    name
                }
                None => {
                    if let Some(b) = bundle {
                        assets.missing.push(b);
                    }
                    stem
                }
            };
            match bundle {
                Some(b) => assets.names.bundles.push((b, name)),
                None => assets.names.css = name,
            }
        }
        assets
    }

    /// The names pages load, for the document (`pgpanel_islands::shell`).
    pub fn names(&self) -> &AssetNames {
        &self.names
    }

    /// Bundles without their files.
    pub fn missing(&self) -> &[&'static str] {
        &self.missing
    }

    /// The plain file behind a hashed name of this build.
    fn hashed(&self, file: &str) -> Option<&Entry> {
        self.files.get(file)
    }
}

/// Whether `<plain>.br` in `pkg` decodes to exactly `plain` (a missing, unreadable or stale copy:
/// no; that file is compressed on the fly instead).
fn brotli_copy_matches(pkg: &Path, plain: &str) -> bool {
    let Ok(bytes) = std::fs::read(pkg.join(plain)) else {
        return false;
    };
    std::fs::read(pkg.join(format!("{plain}.br"))).is_ok_and(|c| {
        decodes_to(
            brotli_decompressor::Decompressor::new(&c[..], 1 << 16),
            &bytes,
        )
    })
}

/// Whether `decoder` yields exactly `plain` (and no error).
fn decodes_to(mut decoder: impl Read, plain: &[u8]) -> bool {
    let mut out = Vec::with_capacity(plain.len());
    decoder.read_to_end(&mut out).is_ok() && out == plain
}

/// GET /pkg/{file}: a hashed name of the current build → the file (its checked brotli copy where
/// accepted), cached for a year; any other file in the folder → as it is, revalidated; an unknown
/// name (an older build's) → 404.
pub async fn pkg(state: AppState, assets: &Assets, file: String, req: Request) -> Response {
    let site = PathBuf::from(state.leptos_options.site_root.as_ref());
    let pkg = site.join(state.leptos_options.site_pkg_dir.as_ref());
    if let Some(entry) = assets.hashed(&file) {
        let mut files = ServeFile::new(pkg.join(&entry.plain));
        if entry.br {
            files = files.precompressed_br();
        }
        let mut res = serve_file(files, req).await;
        if res.status().is_success() {
            let headers = res.headers_mut();
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
            // Shared caches keep one copy per encoding (the on-the-fly compression adds this
            // itself).
            if !headers.contains_key(header::VARY) {
                headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            }
        }
        return res;
    }
    // Plain names only: no separators, no parent directories.
    let path = pkg.join(&file);
    if file.contains(['/', '\\']) || file.starts_with('.') || !path.is_file() {
        return StatusCode::NOT_FOUND.into_response();
    }
    serve_file(ServeFile::new(path), req).await
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
    fn each_bundle_is_named_by_the_hash_of_its_files() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let write = |name: &str, body: &str| {
            std::fs::write(dir.path().join(name), body).unwrap_or_else(|e| panic!("{e}"))
        };
        let empty = Assets::read(dir.path());
        assert_eq!(empty.names().css, "pgpanel");
        assert_eq!(empty.missing().len(), app::pages::bundles().len());
        write("pgpanel.css", "css");
        write("pgpanel-locks.js", "js");
        write("pgpanel-locks.wasm", "wasm");
        write("pgpanel-users.js", "js");
        let first = Assets::read(dir.path());
        let css = first.names().css.clone();
        assert_eq!(css.len(), "pgpanel.".len() + 16, "{css}");
        let locks = first.names().bundle("locks");
        assert!(locks.starts_with("pgpanel-locks."), "{locks}");
        assert_eq!(
            first
                .hashed(&format!("{locks}.wasm"))
                .map(|e| e.plain.as_str()),
            Some("pgpanel-locks.wasm")
        );
        assert!(first.hashed(&format!("{locks}.css")).is_none());
        assert!(first.hashed("pgpanel-locks.wasm").is_none());
        // Half a bundle is no bundle.
        assert!(first.missing().contains(&"users"));
        assert_eq!(first.names().bundle("users"), "pgpanel-users");
        write("pgpanel-locks.wasm", "changed");
        let second = Assets::read(dir.path());
        assert_ne!(second.names().bundle("locks"), locks);
        assert_eq!(second.names().css, css);
        assert!(second.hashed(&format!("{locks}.wasm")).is_none());
    }

    #[test]
    fn only_a_brotli_copy_of_exactly_the_file_is_used() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let body = "body { margin: 0 }\n".repeat(50);
        std::fs::write(dir.path().join("pgpanel.css"), &body).unwrap_or_else(|e| panic!("{e}"));
        assert!(!brotli_copy_matches(dir.path(), "pgpanel.css"));
        let mut copy = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut copy, 4096, 11, 22);
            std::io::Write::write_all(&mut w, body.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(dir.path().join("pgpanel.css.br"), &copy).unwrap_or_else(|e| panic!("{e}"));
        assert!(brotli_copy_matches(dir.path(), "pgpanel.css"));
        std::fs::write(dir.path().join("pgpanel.css"), "changed").unwrap_or_else(|e| panic!("{e}"));
        assert!(!brotli_copy_matches(dir.path(), "pgpanel.css"));
    }
}
