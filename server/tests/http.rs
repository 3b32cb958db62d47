//! The real router over a real store and a real target: pages rendered on the server with the
//! data in the HTML, the JSON API and its error statuses, security headers, health probes,
//! compression, no secret in any answer, and a clean shutdown.

use crate::common;

use std::time::{Duration, Instant};

use crate::common::{Caller, PASSWORD, add_user};
use app::features::auth::model::Role;

use sqlx::{Connection, Executor, PgConnection};

use harness::{ClusterOptions, TempCluster};
use server::config::{Config, TargetConfig};
use server::serve::{RunningServer, start};

const MONITOR_PASSWORD: &str = "Monitor-Pass-From-File";

struct Fixture {
    server: RunningServer,
    base: String,
    /// Signed in as an analyst.
    c: Caller,
    cluster: TempCluster,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let cluster = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    let mut su = PgConnection::connect(&cluster.url("postgres"))
        .await
        .expect("connect");
    for statement in [
        format!("create role pgpanel_monitor login password '{MONITOR_PASSWORD}'"),
        "grant pg_monitor to pgpanel_monitor".into(),
        "create database \"<b>shop</b>\"".into(),
    ] {
        su.execute(statement.as_str()).await.expect("setup");
    }
    su.close().await.expect("close");

    let dir = tempfile::tempdir().expect("tempdir");
    let pw = dir.path().join("monitor.pw");
    std::fs::write(&pw, format!("{MONITOR_PASSWORD}\n")).expect("write");
    let config = Config {
        targets: vec![TargetConfig {
            id: "main".into(),
            name: Some("Main <i>cluster</i>".into()),
            // A wrong password in the URL: the file must win.
            monitor_url: format!(
                "postgres://pgpanel_monitor:wrong-in-url@127.0.0.1:{}/postgres",
                cluster.port()
            ),
            monitor_password_file: Some(pw),
            action_url: None,
            action_password_file: None,
            logs: None,
            log_path: None,
            log_format: None,
            log_line_prefix: None,
            audit_tables: Vec::new(),
        }],
        ..common::test_config(dir.path(), None)
    };
    let server = start(&config).await.expect("start");
    let base = format!("http://{}", server.addr);
    add_user(&server.state, "ana", Role::Analyst).await;
    let c = Caller::signed_in(&base, "ana", PASSWORD).await;
    Fixture {
        server,
        base,
        c,
        cluster,
        _dir: dir,
    }
}

async fn wait_until_up(c: &Caller) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, targets) = c.json("/api/targets").await;
        if targets[0]["status"]["state"] == "up" && !targets[0]["databases"].is_null() {
            return targets;
        }
        assert!(Instant::now() < deadline, "target not up: {targets}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn overview_and_api_over_real_http() {
    let f = fixture().await;
    let targets = wait_until_up(&f.c).await;
    let t = &targets[0];
    assert_eq!(t["id"], "main");
    assert_eq!(t["name"], "Main <i>cluster</i>");
    assert_eq!(t["server"]["role"], "primary");
    assert_eq!(t["server"]["login"], "pgpanel_monitor");
    assert_eq!(t["actions"]["enabled"], false);
    let version = t["server"]["version"].as_str().expect("version").to_owned();
    assert!(version.starts_with(&f.cluster.version().expect("version")));
    let names: Vec<&str> = t["databases"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|d| d["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["<b>shop</b>", "postgres"]);
    // RFC 3339 times in UTC.
    let since = t["status"]["since"].as_str().expect("since");
    assert!(
        time::OffsetDateTime::parse(since, &time::format_description::well_known::Rfc3339).is_ok()
    );
    assert!(since.ends_with('Z'));

    // The page: rendered on the server, data in the HTML, database strings escaped.
    let res = f.c.get("/").await;
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    let html = res.text().await.expect("html");
    assert!(
        html.contains("Main &lt;i&gt;cluster&lt;/i&gt;"),
        "name escaped"
    );
    assert!(
        html.contains("&lt;b&gt;shop&lt;/b&gt;"),
        "database name escaped"
    );
    assert!(!html.contains("<b>shop</b>") && !html.contains("<i>cluster</i>"));
    assert!(html.contains(&format!(
        "PostgreSQL {}",
        version.split(' ').next().expect("v")
    )));
    assert!(html.contains("pgpanel_monitor"));
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("nonce in CSP");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"));
    let scripts: Vec<&str> = html
        .match_indices("<script")
        .map(|(i, _)| &html[i..i + 80.min(html.len() - i)])
        .collect();
    assert!(!scripts.is_empty());
    for s in scripts {
        assert!(s.contains(&format!("nonce=\"{nonce}\"")), "{s}");
    }
    // A fresh nonce per response.
    let again = f.c.get("/").await;
    assert!(
        !again.headers()["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains(nonce)
    );

    // No secret anywhere.
    for secret in [MONITOR_PASSWORD, "wrong-in-url", f.cluster.password()] {
        assert!(
            !html.contains(secret) && !targets.to_string().contains(secret),
            "{secret} leaked"
        );
    }
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_headers_probes_and_compression() {
    let f = fixture().await;
    let c = common::client();

    let res = c
        .get(format!("{}/no/such/page", f.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 404);
    assert!(res.text().await.expect("body").contains("Page not found"));

    let res = c
        .get(format!("{}/api/nope", f.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["kind"], "not_found");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("/api/nope")
    );

    let res = f.c.post("/api/targets", &[]).await;
    assert_eq!(res.status(), 405);
    assert_eq!(
        res.json::<serde_json::Value>().await.expect("json")["kind"],
        "method_not_allowed"
    );

    // Unknown query parameters are ignored, not fatal.
    let res = f.c.get("/api/targets?x=1").await;
    assert_eq!(res.status(), 200);

    let res = c
        .get(format!("{}/healthz", f.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        h["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("default-src 'none'")
    );

    let res = c
        .get(format!("{}/readyz", f.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    let ready: serde_json::Value = res.json().await.expect("json");
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["targets_total"], 1);

    let res = c
        .get(format!("{}/", f.base))
        .header("accept-encoding", "gzip")
        .header("cookie", f.c.cookie.clone().expect("cookie"))
        .send()
        .await
        .expect("get");
    assert_eq!(res.headers()["content-encoding"], "gzip");

    // Readiness follows the store, not the targets.
    f.server.state.store.close().await;
    let res = c
        .get(format!("{}/readyz", f.base))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 503);
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_stops_serving_and_disconnects_from_targets() {
    let f = fixture().await;
    wait_until_up(&f.c).await;
    let count = || async {
        let mut su = PgConnection::connect(&f.cluster.url("postgres"))
            .await
            .expect("connect");
        let n: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity where application_name = 'pgpanel'",
        )
        .fetch_one(&mut su)
        .await
        .expect("count");
        n
    };
    assert!(count().await >= 1);
    let base = f.base.clone();
    let started = Instant::now();
    f.server.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert!(
        common::client()
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_err()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(count().await, 0, "monitor sessions closed");
}

/// Pages rendered while the favicon is fetched keep their own policy. leptos' file handler served
/// the favicon in an owner under whatever page render its worker thread had last started, and took
/// that page's response headers with it: the page went out with the strict policy and none of its
/// scripts ran (a rare browser-test failure). The site root's files are now served outside leptos.
#[tokio::test(flavor = "multi_thread")]
async fn pages_keep_their_policy_while_the_favicon_is_fetched() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("site")).expect("mkdir");
    std::fs::write(dir.path().join("site/favicon.svg"), "<svg/>").expect("favicon");
    let f = common::fixture_from(common::test_config(dir.path(), None), dir).await;
    let c = Caller::signed_in(&f.base, "ana", PASSWORD).await;
    for round in 0..20 {
        let pages = (0..6).map(|_| c.get("/activity"));
        let icons = (0..12).map(|_| c.get("/favicon.svg"));
        let (pages, icons) = tokio::join!(
            futures::future::join_all(pages),
            futures::future::join_all(icons)
        );
        for page in pages {
            assert_eq!(page.status(), 200, "round {round}");
            let policy = page.headers()["content-security-policy"]
                .to_str()
                .expect("policy");
            assert!(
                policy.contains("'nonce-"),
                "round {round}: a page with {policy}"
            );
        }
        for icon in icons {
            assert_eq!(icon.status(), 200, "round {round}");
            assert_eq!(
                icon.headers()["content-security-policy"],
                app::security::DEFAULT_POLICY,
                "round {round}"
            );
        }
    }
}

/// The Overview's HTML and the names it loads its files under: the stylesheet's
/// (`pgpanel.<hash>`) and its own wasm's (`pgpanel-overview.<hash>`).
async fn output_names(c: &Caller) -> (String, String, String) {
    let html = c.get("/").await.text().await.expect("html");
    let linked = |ext: &str| {
        html.split("/pkg/")
            .skip(1)
            .filter_map(|rest| rest.split_once(ext).map(|(name, _)| name))
            .find(|name| !name.contains(['"', '`', '/', ' ']))
            .unwrap_or_else(|| panic!("a {ext} under /pkg"))
            .to_owned()
    };
    let css = linked(".css");
    let js = linked(".js");
    (html, css, js)
}

/// `.ci/build-front`'s brotli copies (and cargo-leptos' gzip ones, from older builds): a brotli copy that decodes to the file is sent as it
/// is where the browser accepts brotli; a stale one (another build's) never is, nor a gzip copy.
#[tokio::test(flavor = "multi_thread")]
async fn checked_precompressed_copies_are_sent_and_stale_ones_never() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("site/pkg");
    std::fs::create_dir_all(&pkg).expect("mkdir");
    let brotli = |data: &[u8]| {
        let mut out = Vec::new();
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        w.write_all(data).expect("brotli");
        drop(w);
        out
    };
    let gzip = |data: &[u8]| {
        let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        w.write_all(data).expect("gzip");
        w.finish().expect("gzip")
    };
    let js = "export default function () { return 'this build'; }\n".repeat(300);
    let css = "body { margin: 0; color: black }\n".repeat(300);
    std::fs::write(pkg.join("pgpanel-overview.js"), &js).expect("js");
    std::fs::write(pkg.join("pgpanel-overview.js.br"), brotli(js.as_bytes())).expect("js.br");
    std::fs::write(pkg.join("pgpanel-overview.js.gz"), gzip(js.as_bytes())).expect("js.gz");
    std::fs::write(pkg.join("pgpanel-overview.wasm"), b"\0asm\x01\0\0\0").expect("wasm");
    std::fs::write(pkg.join("pgpanel.css"), &css).expect("css");
    // Left over from an older build: the same names, other contents.
    let old_css = "body { margin: 1em; color: red }\n".repeat(300);
    std::fs::write(pkg.join("pgpanel.css.br"), brotli(old_css.as_bytes())).expect("css.br");
    std::fs::write(pkg.join("pgpanel.css.gz"), b"not gzip at all").expect("css.gz");
    let f = common::fixture_from(common::test_config(dir.path(), None), dir).await;
    let c = Caller::signed_in(&f.base, "ana", PASSWORD).await;
    let (_, css_name, name) = output_names(&c).await;
    let raw = reqwest::Client::builder()
        .no_gzip()
        .build()
        .expect("client");
    let get = |file: String, encoding: &'static str| {
        let raw = raw.clone();
        let url = format!("{}/pkg/{file}", f.base);
        async move {
            let res = raw
                .get(url)
                .header("accept-encoding", encoding)
                .send()
                .await
                .expect("get");
            assert_eq!(res.status(), 200);
            let enc = res
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().expect("ascii").to_owned());
            let vary = res
                .headers()
                .get("vary")
                .map(|v| v.to_str().expect("ascii").to_lowercase());
            (enc, vary, res.bytes().await.expect("body").to_vec())
        }
    };
    let ungzip = |data: &[u8]| {
        let mut plain = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(data), &mut plain)
            .expect("gzip body");
        plain
    };
    let unbrotli = |data: &[u8]| {
        let mut out = Vec::new();
        brotli::BrotliDecompress(&mut &data[..], &mut out).expect("brotli body");
        out
    };

    // The checked copies, byte for byte.
    let (enc, vary, body) = get(format!("{name}.js"), "br").await;
    assert_eq!(enc.as_deref(), Some("br"));
    assert_eq!(body, brotli(js.as_bytes()));
    assert!(vary.is_some_and(|v| v.contains("accept-encoding")));
    // Never the build's gzip copies (larger than the on-the-fly gzip): compressed as it is sent.
    let (enc, _, body) = get(format!("{name}.js"), "gzip").await;
    assert_eq!(enc.as_deref(), Some("gzip"));
    assert_ne!(
        body,
        std::fs::read(f.dir.path().join("site/pkg/pgpanel-overview.js.gz")).expect("gz")
    );
    assert_eq!(ungzip(&body), js);
    let (enc, _, body) = get(format!("{name}.js"), "identity").await;
    assert_eq!(enc, None);
    assert_eq!(body, js.as_bytes());

    // The stale copies are never sent: this build's stylesheet, compressed on the fly.
    let (enc, vary, body) = get(format!("{css_name}.css"), "br").await;
    assert_eq!(enc.as_deref(), Some("br"));
    assert_eq!(unbrotli(&body), css.as_bytes());
    assert!(vary.is_some_and(|v| v.contains("accept-encoding")));
    let (enc, _, body) = get(format!("{css_name}.css"), "gzip").await;
    assert_eq!(enc.as_deref(), Some("gzip"));
    assert_eq!(ungzip(&body), css);
    f.server.stop().await;
}

/// The browser's files under their content hash: the page names them, they are cached for a year,
/// a name from another build is 404, plain names revalidate, and brotli is used where accepted.
#[tokio::test(flavor = "multi_thread")]
async fn assets_by_content_hash_are_cached_for_a_year() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pkg = dir.path().join("site/pkg");
    std::fs::create_dir_all(&pkg).expect("mkdir");
    std::fs::write(
        pkg.join("pgpanel-overview.js"),
        "export default function () {}\n".repeat(200),
    )
    .expect("js");
    std::fs::write(pkg.join("pgpanel-overview.wasm"), b"\0asm\x01\0\0\0").expect("wasm");
    std::fs::write(pkg.join("pgpanel.css"), "body { margin: 0 }\n").expect("css");
    let f = common::fixture_from(common::test_config(dir.path(), None), dir).await;
    let c = Caller::signed_in(&f.base, "ana", PASSWORD).await;

    let (html, css, name) = output_names(&c).await;
    let hash = name
        .strip_prefix("pgpanel-overview.")
        .expect("pgpanel-overview.<hash>");
    assert_eq!(hash.len(), 16, "{name}");
    assert_eq!(
        css.strip_prefix("pgpanel.").map(str::len),
        Some(16),
        "{css}"
    );
    for ext in ["js", "wasm"] {
        assert!(
            html.contains(&format!("/pkg/{name}.{ext}")),
            "{ext} not named by hash"
        );
    }
    let res = c.get("/").await;
    assert_eq!(res.headers()["cache-control"], "no-store");

    for (file, kind) in [
        (format!("{name}.js"), "text/javascript"),
        (format!("{name}.wasm"), "application/wasm"),
        (format!("{css}.css"), "text/css"),
    ] {
        let res = c.get(&format!("/pkg/{file}")).await;
        assert_eq!(res.status(), 200, "{file}");
        assert_eq!(
            res.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert!(
            res.headers()["content-type"]
                .to_str()
                .expect("type")
                .starts_with(kind),
            "{file}"
        );
    }
    // Another page's wasm is not built here: its plain name, and no hashed one.
    let locks = c.get("/locks").await.text().await.expect("html");
    assert!(
        locks.contains("/pkg/pgpanel-locks.wasm"),
        "plain name without files"
    );
    // Another build's name, a plain name, a path outside the folder.
    let res = c.get("/pkg/pgpanel-overview.ffffffffffffffff.wasm").await;
    assert_eq!(res.status(), 404);
    let res = c.get(&format!("/pkg/{name}.css")).await;
    assert_eq!(res.status(), 404);
    let res = c.get("/pkg/pgpanel-overview.wasm").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-cache");
    let res = c.get("/pkg/..%2Fpgpanel.db").await;
    assert_eq!(res.status(), 404);

    let res = common::client()
        .get(format!("{}/pkg/{name}.js", f.base))
        .header("accept-encoding", "br")
        .send()
        .await
        .expect("get");
    assert_eq!(res.headers()["content-encoding"], "br");
    f.server.stop().await;
}
