//! The `pgpanel` binary's command line: exit statuses and what it prints.

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

/// Runs pgpanel with `stdin` piped in.
fn pgpanel_with_stdin(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgpanel"));
    cmd.args(args)
        .env_remove("PGPANEL_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn");
    // A command refused for its arguments (an unknown role) exits before it reads its input:
    // the pipe is then closed, which is not the test's failure.
    match child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.expect("write stdin"),
    }
    child.wait_with_output().expect("wait")
}

#[test]
fn user_commands_manage_the_store_without_passwords_in_argv() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("store.db");
    let store_url = format!("sqlite://{}", db.display());
    let env = [("PGPANEL__STORE__URL", store_url.as_str())];
    let text = |o: &Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };

    let out = pgpanel_with_stdin(
        &["user", "add", "--username", "Boss", "--role", "admin"],
        &env,
        "first admin passphrase\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("created user boss (admin)"));

    // Bad input: exit 2 with a message; nothing created.
    for (args, stdin, message) in [
        (
            vec!["--username", "boss", "--role", "admin"],
            "another passphrase\n",
            "already exists",
        ),
        (
            vec!["--username", "x", "--role", "root"],
            "another passphrase\n",
            "Unknown role",
        ),
        (
            vec!["--username", "bad name", "--role", "dba"],
            "another passphrase\n",
            "username",
        ),
        (
            vec!["--username", "shorty", "--role", "dba"],
            "short\n",
            "at least 12",
        ),
    ] {
        let mut all = vec!["user", "add"];
        all.extend(args);
        let out = pgpanel_with_stdin(&all, &env, stdin);
        assert_eq!(out.status.code(), Some(2), "{all:?}: {}", text(&out));
        assert!(text(&out).contains(message), "{all:?}: {}", text(&out));
    }
    // A password from a file; a trailing newline is not part of it, inner spaces are.
    let pw_file = dir.path().join("pw");
    std::fs::write(&pw_file, "  spaced passphrase  \n").expect("write");
    let pw_path = pw_file.display().to_string();
    let out = pgpanel(
        &[
            "user",
            "add",
            "--username",
            "dba1",
            "--role",
            "dba",
            "--password-file",
            &pw_path,
        ],
        &env,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = pgpanel_with_stdin(
        &["user", "set-password", "--username", "boss"],
        &env,
        "a new admin passphrase",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = pgpanel_with_stdin(
        &["user", "set-password", "--username", "ghost"],
        &env,
        "a new admin passphrase",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no user named ghost"));

    let out = pgpanel(&["user", "unlock", "--username", "boss"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("sign-in lock of boss cleared"));
    assert_eq!(
        pgpanel(&["user", "unlock", "--username", "ghost"], &env)
            .status
            .code(),
        Some(2)
    );

    let out = pgpanel(&["user", "list"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<&str> = listing.lines().collect();
    assert!(lines[0].starts_with("USERNAME"), "{listing}");
    assert!(
        lines[1].starts_with("boss") && lines[1].contains("admin") && lines[1].contains("never")
    );
    assert!(lines[2].starts_with("dba1") && lines[2].contains("dba"));
    assert!(listing.contains("2 user(s)"));
    for secret in ["passphrase", "argon2"] {
        assert!(!listing.contains(secret));
    }

    // The changes are audited, with the OS user as actor.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let events = rt.block_on(async {
        let store = app::store::Store::open(&store_url).await.expect("open");
        let boss = store.find_user("boss").await.expect("find").expect("boss");
        let hasher = app::features::auth::password::PasswordHasher::standard().expect("hasher");
        assert!(
            hasher
                .verify("a new admin passphrase", Some(&boss.password_hash))
                .await
                .expect("v")
                .ok
        );
        let dba = store.find_user("dba1").await.expect("find").expect("dba1");
        assert!(
            hasher
                .verify("  spaced passphrase  ", Some(&dba.password_hash))
                .await
                .expect("v")
                .ok
        );
        store.recent_audit(10).await.expect("audit")
    });
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["user.unlock", "user.update", "user.create", "user.create"]
    );
    assert!(
        events
            .iter()
            .all(|e| e.actor.as_deref().is_some_and(|a| a.starts_with("cli:")))
    );
}

/// `setup-sql` prints a psql script that a superuser runs as is, twice without harm, and that
/// leaves the logins with exactly the grants pgpanel needs and each database prepared; names
/// that need quoting are quoted by PostgreSQL; no password is printed.
#[tokio::test]
async fn setup_sql_prepares_a_target_and_runs_twice() {
    use sqlx::{Connection, Executor, PgConnection};
    let c = harness::TempCluster::start_async(harness::ClusterOptions::default())
        .await
        .expect("cluster");
    let mut su = PgConnection::connect(&c.url("postgres")).await.unwrap();
    su.execute("create database \"Shop ü\"").await.unwrap();
    su.execute("create database \"it's\"").await.unwrap();
    sqlx::Executor::execute(
        &mut PgConnection::connect(&c.url("Shop ü")).await.unwrap(),
        "create schema \"App Data\"; create sequence \"App Data\".s; create sequence public.t; \
         create table \"App Data\".\"Audit Log\" (id int primary key); create table public.orders (id int)",
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().expect("tempdir");
    let url = |login: &str| {
        format!(
            "postgres://{login}:Secret-pw-9@127.0.0.1:{}/postgres",
            c.port()
        )
    };
    let path = write(
        &dir,
        &format!(
            "[[targets]]\nid = \"main\"\nmonitor_url = \"{}\"\naction_url = \"{}\"\n\
             [[targets.audit_tables]]\ndatabase = \"Shop ü\"\ntable = '\"App Data\".\"Audit Log\"'\n",
            url("Mon%20%C3%BC"),
            url("pgpanel_action")
        ),
    );
    let run = |dir: &tempfile::TempDir| {
        let out = pgpanel(&["setup-sql", "--target", "main", "--config", &path], &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let sql = String::from_utf8(out.stdout).unwrap();
        assert!(!sql.contains("Secret-pw-9"), "a password was printed");
        let file = dir.path().join("setup.sql");
        std::fs::write(&file, &sql).unwrap();
        (sql, file)
    };
    // The monitor login does not exist yet: only its own database, and why.
    let (sql, file) = run(&dir);
    assert!(sql.contains("could not be listed"), "{sql}");
    c.psql_file("postgres", &file).expect("first run");
    c.psql_file("postgres", &file)
        .expect("second run changes nothing");
    let yes = |q: &str| c.psql("postgres", q).unwrap().trim() == "t";
    assert!(yes("select pg_has_role('Mon ü', 'pg_monitor', 'member')"));
    assert!(yes(
        "select pg_has_role('pgpanel_action', 'pg_signal_backend', 'member')"
    ));
    assert!(yes(
        "select pg_has_role('pgpanel_action', 'pg_read_all_stats', 'member')"
    ));
    assert!(!yes(
        "select rolsuper from pg_roles where rolname = 'Mon ü'"
    ));
    assert!(yes(
        "select exists (select from pg_extension where extname = 'pgstattuple')"
    ));
    // The log reader: in the monitor's database, for the monitor only, SECURITY DEFINER.
    assert!(yes(
        "select has_function_privilege('Mon ü', 'pgpanel.read_log(text,bigint,bigint)', 'EXECUTE') \
         and has_schema_privilege('Mon ü', 'pgpanel', 'USAGE')"
    ));
    assert!(!yes(
        "select has_function_privilege('pgpanel_action', 'pgpanel.read_log(text,bigint,bigint)', 'EXECUTE')"
    ));
    assert!(yes(
        "select prosecdef from pg_proc where oid = 'pgpanel.read_log(text,bigint,bigint)'::regprocedure"
    ));
    assert!(
        sql.contains("Never grant pg_read_file"),
        "the script says why not the dangerous grant: {sql}"
    );

    // Once the monitor can sign in, every database is listed and prepared.
    su.execute("alter role \"Mon ü\" password 'Secret-pw-9'")
        .await
        .unwrap();
    let (sql, file) = run(&dir);
    assert!(
        sql.contains("\\connect 'Shop ü'") && sql.contains("\\connect 'it''s'"),
        "{sql}"
    );
    c.psql_file("postgres", &file)
        .expect("run with every database");
    c.psql_file("postgres", &file).expect("and again");
    let shop = |q: &str| c.psql("Shop ü", q).unwrap().trim() == "t";
    assert!(shop(
        "select exists (select from pg_extension where extname = 'pgstattuple')"
    ));
    assert!(shop(
        "select has_sequence_privilege('Mon ü', '\"App Data\".s', 'SELECT')"
    ));
    assert!(shop(
        "select has_sequence_privilege('Mon ü', 'public.t', 'SELECT')"
    ));
    // The application audit table, and nothing else of the application's data.
    assert!(shop(
        "select has_table_privilege('Mon ü', '\"App Data\".\"Audit Log\"', 'SELECT') \
         and has_schema_privilege('Mon ü', 'App Data', 'USAGE')"
    ));
    assert!(!shop(
        "select has_table_privilege('Mon ü', 'public.orders', 'SELECT')"
    ));
    assert!(
        c.psql(
            "it's",
            "select extname from pg_extension where extname = 'pgstattuple'"
        )
        .unwrap()
        .contains("pgstattuple")
    );

    // An unknown target is a usage error.
    let out = pgpanel(&["setup-sql", "--target", "nope", "--config", &path], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no target \"nope\""));
}
