//! Configuration: defaults, the contract's keys, environment overrides, and errors that name the
//! file, line and key without ever printing a password.

use std::io::Write;
use std::path::PathBuf;

use server::config::{ConfigError, load};

fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pgpanel.toml");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .expect("write");
    (dir, path)
}

fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    vars.iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect()
}

fn error(text: &str, vars: &[(&str, &str)]) -> String {
    let (_dir, path) = file(text);
    match load(Some(&path), env(vars)) {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e.to_string().replace(&path.display().to_string(), "FILE"),
    }
}

const CONTRACT_EXAMPLE: &str = r#"
[http]
listen = "127.0.0.1:3000"
secure_cookies = true          # Secure + __Host- cookie

[store]
url = "sqlite:///var/lib/pgpanel/pgpanel.db"

[[targets]]
id = "main"
name = "Main cluster"
monitor_url = "postgres://pgpanel_monitor:pw-in-url@db1:5432/postgres"
action_url = "postgres://pgpanel_action@db1:5432/postgres"
"#;

#[test]
fn defaults_without_a_file() {
    let config = load(None, env(&[])).expect("defaults are valid");
    assert_eq!(config.http.listen, "127.0.0.1:3000");
    assert!(config.http.secure_cookies);
    assert!(config.store.url.starts_with("sqlite://"));
    assert!(config.store.url.ends_with("/pgpanel.db"));
    assert!(config.targets.is_empty());
    assert!(config.monitor.lock_timeout_ms < config.monitor.statement_timeout_ms);
}

#[test]
fn the_contract_example_parses_with_its_meaning() {
    let (_dir, path) = file(CONTRACT_EXAMPLE);
    let config = load(Some(&path), env(&[])).expect("valid");
    assert_eq!(config.store.url, "sqlite:///var/lib/pgpanel/pgpanel.db");
    let t = &config.targets[0];
    assert_eq!(
        (t.id.as_str(), t.name.as_deref()),
        ("main", Some("Main cluster"))
    );
    let specs = config.target_specs().expect("specs");
    assert_eq!(specs[0].name, "Main cluster");
    assert!(specs[0].action.is_some());
    assert_eq!(specs[0].monitor.0.get_username(), "pgpanel_monitor");
}

#[test]
fn environment_overrides_every_kind_of_key() {
    let (_dir, path) = file(CONTRACT_EXAMPLE);
    let config = load(
        Some(&path),
        env(&[
            ("PGPANEL__HTTP__LISTEN", "0.0.0.0:8080"),
            ("PGPANEL__HTTP__SECURE_COOKIES", "false"),
            ("PGPANEL__MONITOR__STATEMENT_TIMEOUT_MS", "9000"),
            ("PGPANEL__TARGETS__0__NAME", "Renamed"),
            ("PGPANEL__TARGETS__1__ID", "second"),
            (
                "PGPANEL__TARGETS__1__MONITOR_URL",
                "postgres://m@db2/postgres",
            ),
            ("PGPANEL_CONFIG", "ignored: not an override"),
            ("OTHER", "ignored"),
        ]),
    )
    .expect("valid");
    assert_eq!(config.http.listen, "0.0.0.0:8080");
    assert!(!config.http.secure_cookies);
    assert_eq!(config.monitor.statement_timeout_ms, 9000);
    assert_eq!(config.targets[0].name.as_deref(), Some("Renamed"));
    assert_eq!(config.targets[1].id, "second");
    assert_eq!(config.targets.len(), 2);
}

#[test]
fn malformed_toml_names_file_and_line() {
    let e = error("[http]\nlisten = \"127.0.0.1:3000\n", &[]);
    assert!(e.starts_with("FILE:2:"), "{e}");
}

#[test]
fn unknown_keys_are_rejected_with_line_and_key() {
    let e = error("[http]\nlisten = \"127.0.0.1:3000\"\nlistn = \"x\"\n", &[]);
    assert!(e.starts_with("FILE:3: key `http.listn`:"), "{e}");
    assert!(e.contains("unknown field `listn`"), "{e}");
    let e = error("[htp]\nlisten = 1\n", &[]);
    assert!(
        e.contains("key `htp`") && e.contains("unknown field"),
        "{e}"
    );
}

#[test]
fn wrong_types_name_line_and_key() {
    let e = error("[http]\nsecure_cookies = \"yes\"\n", &[]);
    assert!(e.starts_with("FILE:2: key `http.secure_cookies`:"), "{e}");
    let e = error(
        "[[targets]]\nid = \"a\"\nmonitor_url = \"postgres://x@h/d\"\n\n[[targets]]\nid = 7\nmonitor_url = \"postgres://x@h/d\"\n",
        &[],
    );
    assert!(e.starts_with("FILE:6: key `targets[1].id`:"), "{e}");
    let e = error("[[targets]]\nid = \"a\"\n", &[]);
    assert!(e.contains("missing field `monitor_url`"), "{e}");
}

#[test]
fn invalid_values_name_line_and_key() {
    let e = error(
        "[[targets]]\nid = \"Main DB\"\nmonitor_url = \"postgres://x@h/d\"\n",
        &[],
    );
    assert!(e.starts_with("FILE:2: key `targets[0].id`:"), "{e}");
    let e = error(
        "[[targets]]\nid = \"a\"\nmonitor_url = \"postgres://x@h/d\"\n[[targets]]\nid = \"a\"\nmonitor_url = \"postgres://x@h/d\"\n",
        &[],
    );
    assert!(
        e.starts_with("FILE:5: key `targets[1].id`:") && e.contains("already the id"),
        "{e}"
    );
    let e = error("[http]\nlisten = \"localhost\"\n", &[]);
    assert!(e.starts_with("FILE:2: key `http.listen`:"), "{e}");
    let e = error("[monitor]\nlock_timeout_ms = 6000\n", &[]);
    assert!(
        e.starts_with("FILE:2: key `monitor.lock_timeout_ms`:") && e.contains("shorter"),
        "{e}"
    );
    let e = error("[monitor]\nstatements_idle_interval_s = 5\n", &[]);
    assert!(
        e.starts_with("FILE:2: key `monitor.statements_idle_interval_s`:")
            && e.contains("live_slow_interval_s"),
        "{e}"
    );
    for (value, bad) in [
        ("live_idle_interval_ms = 500", true),
        ("live_idle_interval_ms = 11000", true),
        ("live_idle_interval_ms = 10000", false),
    ] {
        let text = format!("[monitor]\n{value}\n");
        if bad {
            let e = error(&text, &[]);
            assert!(
                e.starts_with("FILE:2: key `monitor.live_idle_interval_ms`:")
                    && e.contains("live_interval_ms"),
                "{e}"
            );
        } else {
            let (_dir, path) = file(&text);
            assert!(load(Some(&path), env(&[])).is_ok(), "{value}");
        }
    }
    let e = error(
        "[http]\ntrusted_proxies = [\n  \"10.0.0.0/8\",\n  \"proxy.local\",\n]\n",
        &[],
    );
    assert!(
        e.starts_with("FILE:4: key `http.trusted_proxies[1]`:") && e.contains("10.0.0.0/8"),
        "{e}"
    );
    let e = error("[store]\nurl = \"mysql://x\"\n", &[]);
    assert!(e.starts_with("FILE:2: key `store.url`:"), "{e}");
}

#[test]
fn auth_and_origin_settings() {
    let (_dir, path) = file(
        "[http]\nallowed_origins = [\"https://dash.example.com\"]\n[auth]\nsession_idle_minutes = 10\nsession_absolute_hours = 8\naudit_retention_days = 400\n",
    );
    let c = load(
        Some(&path),
        env(&[("PGPANEL__AUTH__SESSION_IDLE_MINUTES", "15")]),
    )
    .expect("load");
    assert_eq!(c.http.allowed_origins, ["https://dash.example.com"]);
    assert_eq!(
        (
            c.auth.session_idle_minutes,
            c.auth.session_absolute_hours,
            c.auth.audit_retention_days
        ),
        (15, 8, 400)
    );
    let d = load(None, env(&[])).expect("defaults");
    assert_eq!(
        (d.auth.session_idle_minutes, d.auth.session_absolute_hours),
        (30, 12)
    );
    assert_eq!(
        d.auth.audit_retention_days, 0,
        "audit kept forever unless told"
    );

    let e = error("[auth]\nsession_idle_minutes = 0\n", &[]);
    assert!(
        e.starts_with("FILE:2: key `auth.session_idle_minutes`:"),
        "{e}"
    );
    let e = error(
        "[auth]\nsession_idle_minutes = 600\nsession_absolute_hours = 2\n",
        &[],
    );
    assert!(
        e.contains("auth.session_idle_minutes") && e.contains("must not exceed"),
        "{e}"
    );
    for bad in [
        "dash.example.com",
        "https://dash.example.com/path",
        "ftp://x",
        "https://",
    ] {
        let e = error(&format!("[http]\nallowed_origins = [\"{bad}\"]\n"), &[]);
        assert!(e.contains("http.allowed_origins[0]"), "{bad}: {e}");
    }
}

#[test]
fn a_bad_url_never_echoes_its_password() {
    let e = error(
        "[[targets]]\nid = \"a\"\nmonitor_url = \"postgres://u:TopSecret@h:notaport/d\"\n",
        &[],
    );
    assert!(
        e.starts_with("FILE:3: key `targets[0].monitor_url`:"),
        "{e}"
    );
    assert!(!e.contains("TopSecret"), "{e}");
}

#[test]
fn bad_environment_values_name_the_variable() {
    let e = error("", &[("PGPANEL__HTTP__SECURE_COOKIES", "maybe")]);
    assert!(
        e.starts_with("environment variable PGPANEL__HTTP__SECURE_COOKIES:"),
        "{e}"
    );
    let e = error("", &[("PGPANEL__HTTP__LISTEN", "nowhere")]);
    assert!(
        e.starts_with("environment variable PGPANEL__HTTP__LISTEN:"),
        "{e}"
    );
    let e = error("", &[("PGPANEL__TARGETS__3__ID", "x")]);
    assert!(e.contains("gap"), "{e}");
    let e = error("", &[("PGPANEL__NOPE__KEY", "x")]);
    assert!(e.contains("unknown field `nope`"), "{e}");
}

#[test]
fn masked_output_hides_every_password() {
    let (_dir, path) = file(CONTRACT_EXAMPLE);
    let config = load(
        Some(&path),
        env(&[(
            "PGPANEL__STORE__URL",
            "postgres://store:StoreSecret@db3/pgpanel?password=Other",
        )]),
    )
    .expect("valid");
    let out = config.to_masked_toml();
    for secret in ["pw-in-url", "StoreSecret", "Other"] {
        assert!(!out.contains(secret), "{secret} in {out}");
    }
    assert!(
        out.contains("postgres://pgpanel_monitor:***@db1:5432/postgres"),
        "{out}"
    );
    let debug = format!("{config:?}");
    assert!(
        !debug.contains("pw-in-url") && !debug.contains("StoreSecret"),
        "Debug masks too"
    );
}

#[test]
fn an_unreadable_password_file_is_a_configuration_error() {
    // That the file's password is the one used is proven against a real server in http.rs.
    let text = "[[targets]]\nid = \"a\"\nmonitor_url = \"postgres://m@h/d\"\nmonitor_password_file = \"/nonexistent/monitor.pw\"\n";
    let (_d, path) = file(text);
    let config = load(Some(&path), env(&[])).expect("syntax is valid");
    match config.target_specs() {
        Err(ConfigError::Invalid { location, message }) => {
            assert_eq!(location, "key `targets[0].monitor_password_file`");
            assert!(
                message.starts_with("cannot read /nonexistent/monitor.pw"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}
