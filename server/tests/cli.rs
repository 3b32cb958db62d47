//! The `pgpanel` binary's command line: exit statuses and what it prints.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::{Command, Output};

fn pgpanel(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgpanel"));
    cmd.args(args).env_remove("PGPANEL_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run pgpanel")
}

fn write(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("pgpanel.toml");
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

#[test]
fn check_config_prints_the_effective_configuration_masked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        &dir,
        "[[targets]]\nid = \"main\"\nmonitor_url = \"postgres://mon:Hunter2@db1/postgres\"\n",
    );
    let out = pgpanel(
        &["check-config", "--config", &path],
        &[("PGPANEL__HTTP__LISTEN", "127.0.0.1:4000")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("listen = \"127.0.0.1:4000\""), "{stdout}");
    assert!(
        stdout.contains("postgres://mon:***@db1/postgres"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("Hunter2") && !String::from_utf8_lossy(&out.stderr).contains("Hunter2")
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("configuration is valid (1 target)"));
}

#[test]
fn the_config_file_can_come_from_pgpanel_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(&dir, "[http]\nlisten = \"127.0.0.1:4001\"\n");
    let out = pgpanel(&["check-config"], &[("PGPANEL_CONFIG", &path)]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("127.0.0.1:4001"));
}

#[test]
fn a_malformed_file_exits_2_naming_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        &dir,
        "[http]\nlisten = \"127.0.0.1:3000\"\nsecure_cookie = false\n",
    );
    for command in ["check-config", "serve"] {
        let out = pgpanel(&[command, "--config", &path], &[]);
        assert_eq!(out.status.code(), Some(2), "{command}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("{path}:3: key `http.secure_cookie`")),
            "{command}: {stderr}"
        );
    }
}

#[test]
fn missing_files_and_bad_usage_exit_2() {
    let out = pgpanel(
        &["check-config", "--config", "/nonexistent/pgpanel.toml"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/pgpanel.toml"));
    assert_eq!(pgpanel(&["frobnicate"], &[]).status.code(), Some(2));
    assert_eq!(
        pgpanel(&["demo", "--listen", "not-an-address"], &[])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn serve_reports_a_taken_port_and_exits_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = format!("sqlite://{}/pgpanel.db", dir.path().display());
    let out = pgpanel(
        &["serve"],
        &[
            ("PGPANEL__HTTP__LISTEN", &addr),
            ("PGPANEL__STORE__URL", &store),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("cannot listen on {addr}")));
}
