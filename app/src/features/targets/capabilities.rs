//! Turns the facts read from a target into the capability list the Overview shows: what works,
//! what does not, and for each missing piece what to do and the exact SQL to run. Identifiers in
//! that SQL were quoted by the server (`quote_ident`), never in Rust.

use super::db::{ActionLoginInfo, ExtensionInfo, ServerInfo};
use super::model::{Capability, ServerSummary, Unavailable};

/// `action`: the action login's grants, when one is configured (and could be read).
pub fn derive(
    target_id: &str,
    info: &ServerInfo,
    extensions: &[ExtensionInfo],
    action: Option<&ActionLoginInfo>,
) -> Vec<Capability> {
    let major = major_version(info.version_num);
    let mut caps = vec![
        pg_monitor(info),
        pg_stat_statements(info, find(extensions, "pg_stat_statements")),
        simple_extension(
            info,
            find(extensions, "pgstattuple"),
            "pgstattuple",
            "pgstattuple (exact bloat)",
            "the PostgreSQL contrib package (Debian/Ubuntu: postgresql-contrib)",
        ),
        simple_extension(
            info,
            find(extensions, "hypopg"),
            "hypopg",
            "hypopg (hypothetical indexes)",
            &format!("the hypopg package (Debian/Ubuntu: postgresql-{major}-hypopg)"),
        ),
        track_io_timing(info),
        server_log(target_id, info),
    ];
    caps.extend(action.map(action_login));
    caps
}

/// Cancel and terminate need pg_signal_backend, and pg_read_all_stats to check that a session of
/// another role is still the one chosen (without it pg_stat_activity hides its backend_start).
fn action_login(a: &ActionLoginInfo) -> Capability {
    const KEY: &str = "action_login";
    const LABEL: &str = "Action login (cancel, terminate)";
    let login = &a.login_ident;
    if !a.found {
        return missing(
            KEY,
            LABEL,
            format!("The action login {login} does not exist on this server."),
            "Create it (see `pgpanel setup-sql` and the README), or fix action_url.".into(),
            None,
        );
    }
    if a.superuser {
        return ok(
            KEY,
            LABEL,
            format!("Login {login} is a superuser. It works, but the grants below are safer."),
        );
    }
    let lacks: Vec<&str> = [
        (!a.signal_backend).then_some("pg_signal_backend"),
        (!a.read_all_stats).then_some("pg_read_all_stats"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let maintain = match a.maintain {
        Some(true) => " and pg_maintain (VACUUM, ANALYZE, REINDEX)",
        _ => "",
    };
    if lacks.is_empty() {
        return ok(
            KEY,
            LABEL,
            format!("Login {login} has pg_signal_backend and pg_read_all_stats{maintain}."),
        );
    }
    missing(
        KEY,
        LABEL,
        format!(
            "Login {login} lacks {}: {}.",
            lacks.join(" and "),
            if a.signal_backend {
                "it cannot check that another role's session is still the one chosen, so cancel and terminate refuse those"
            } else {
                "it cannot cancel or terminate other roles' sessions"
            }
        ),
        format!("Grant {} to the action login.", lacks.join(" and ")),
        Some(
            lacks
                .iter()
                .map(|r| format!("GRANT {r} TO {login};"))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    )
}

fn find<'a>(extensions: &'a [ExtensionInfo], name: &str) -> Option<&'a ExtensionInfo> {
    extensions.iter().find(|e| e.name == name)
}

pub fn major_version(version_num: i32) -> i32 {
    version_num / 10_000
}

fn ok(key: &str, label: &str, detail: String) -> Capability {
    Capability {
        key: key.into(),
        label: label.into(),
        available: true,
        detail,
        hint: None,
        sql: None,
    }
}

fn missing(
    key: &str,
    label: &str,
    detail: String,
    hint: String,
    sql: Option<String>,
) -> Capability {
    Capability {
        key: key.into(),
        label: label.into(),
        available: false,
        detail,
        hint: Some(hint),
        sql,
    }
}

fn pg_monitor(info: &ServerInfo) -> Capability {
    const KEY: &str = "pg_monitor";
    const LABEL: &str = "pg_monitor privileges";
    let login = &info.login_ident;
    if info.has_pg_monitor {
        ok(
            KEY,
            LABEL,
            format!("Login {login} is a member of pg_monitor."),
        )
    } else if info.is_superuser {
        ok(
            KEY,
            LABEL,
            format!(
                "Login {login} is a superuser. It works, but a login with only pg_monitor is safer."
            ),
        )
    } else {
        missing(
            KEY,
            LABEL,
            format!(
                "Login {login} is not a member of pg_monitor: other users' queries, waits and sizes \
                 are hidden from it."
            ),
            "Grant pg_monitor to the monitor login (as a superuser or a role with ADMIN on \
             pg_monitor)."
                .into(),
            Some(format!("GRANT pg_monitor TO {login};")),
        )
    }
}

/// Whether `library` is in shared_preload_libraries; None when the login may not read it.
fn preloaded(info: &ServerInfo, library: &str) -> Option<bool> {
    info.shared_preload_libraries.as_ref().map(|list| {
        list.split(',')
            .map(|l| l.trim().trim_matches('"'))
            .any(|l| l == library)
    })
}

fn preload_sql(info: &ServerInfo, library: &str) -> String {
    let mut libs: Vec<&str> = info
        .shared_preload_libraries
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    libs.push(library);
    let value = libs.join(", ").replace('\'', "''");
    format!("ALTER SYSTEM SET shared_preload_libraries = '{value}';")
}

fn pg_stat_statements(info: &ServerInfo, ext: Option<&ExtensionInfo>) -> Capability {
    const KEY: &str = "pg_stat_statements";
    const LABEL: &str = "pg_stat_statements (top queries)";
    const CREATE: &str = "CREATE EXTENSION pg_stat_statements;";
    let db = &info.database_ident;
    let Some(ext) = ext else {
        return missing(
            KEY,
            LABEL,
            "pg_stat_statements is not installed on the database server.".into(),
            format!(
                "Install the PostgreSQL contrib package on the database server (Debian/Ubuntu: \
                 postgresql-contrib), add pg_stat_statements to shared_preload_libraries, restart \
                 the server, then create the extension in database {db}."
            ),
            Some(format!(
                "{}\n-- restart the server, then:\n{CREATE}",
                preload_sql(info, KEY)
            )),
        );
    };
    match (preloaded(info, KEY), &ext.installed_version) {
        (Some(false), installed) => missing(
            KEY,
            LABEL,
            "pg_stat_statements is not in shared_preload_libraries, so it collects nothing.".into(),
            format!(
                "Add it to shared_preload_libraries and restart the server{}.",
                if installed.is_some() {
                    String::new()
                } else {
                    format!(", then create the extension in database {db}")
                }
            ),
            Some(match installed {
                Some(_) => format!("{}\n-- then restart the server", preload_sql(info, KEY)),
                None => format!(
                    "{}\n-- restart the server, then:\n{CREATE}",
                    preload_sql(info, KEY)
                ),
            }),
        ),
        (loaded, None) => missing(
            KEY,
            LABEL,
            format!(
                "pg_stat_statements is {} but not created in database {db}.",
                if loaded == Some(true) {
                    "loaded"
                } else {
                    "available"
                }
            ),
            if loaded.is_none() {
                format!(
                    "Create the extension in database {db}. It also needs pg_stat_statements in \
                     shared_preload_libraries, which this login cannot read (pg_monitor can)."
                )
            } else {
                format!("Create the extension in database {db}.")
            },
            Some(CREATE.into()),
        ),
        (loaded, Some(version)) => ok(
            KEY,
            LABEL,
            if loaded == Some(true) {
                format!("Version {version}, loaded and created in {db}.")
            } else {
                format!(
                    "Version {version} created in {db}; whether it is preloaded cannot be read by \
                     this login."
                )
            },
        ),
    }
}

fn simple_extension(
    info: &ServerInfo,
    ext: Option<&ExtensionInfo>,
    key: &str,
    label: &str,
    package: &str,
) -> Capability {
    let create = format!("CREATE EXTENSION {key};");
    match ext {
        None => missing(
            key,
            label,
            format!("{key} is not installed on the database server."),
            format!(
                "Install {package} on the database server, then create the extension in each \
                 database to analyse."
            ),
            Some(create),
        ),
        Some(ExtensionInfo {
            installed_version: None,
            ..
        }) => missing(
            key,
            label,
            format!(
                "{key} is available but not created in database {}.",
                info.database_ident
            ),
            "Create the extension in each database to analyse.".into(),
            Some(create),
        ),
        Some(ExtensionInfo {
            installed_version: Some(version),
            ..
        }) => ok(
            key,
            label,
            format!("Version {version} created in {}.", info.database_ident),
        ),
    }
}

fn track_io_timing(info: &ServerInfo) -> Capability {
    const KEY: &str = "track_io_timing";
    const LABEL: &str = "I/O timing";
    if info.track_io_timing {
        ok(
            KEY,
            LABEL,
            "track_io_timing is on: read and write times are measured.".into(),
        )
    } else {
        missing(
            KEY,
            LABEL,
            "track_io_timing is off: read and write times of queries show as zero.".into(),
            "Turn it on (a reload is enough, no restart).".into(),
            Some("ALTER SYSTEM SET track_io_timing = on;\nSELECT pg_reload_conf();".into()),
        )
    }
}

/// The Logs page: the logging collector writes files SQL can list, and pgpanel's reader
/// function is installed and granted (`pgpanel setup-sql`).
fn server_log(target_id: &str, info: &ServerInfo) -> Capability {
    const KEY: &str = "server_log";
    const LABEL: &str = "Server log";
    if !info.logging_collector {
        return missing(
            KEY,
            LABEL,
            "logging_collector is off: the server log is not in log_directory, where SQL can read it.".into(),
            "Turn the collector on with jsonlog (a restart is needed), or run pgpanel on the database host and read the file (logs = \"file\", log_path in the target's configuration).".into(),
            Some("ALTER SYSTEM SET logging_collector = on;\nALTER SYSTEM SET log_destination = 'jsonlog';\n-- then restart PostgreSQL".into()),
        );
    }
    if info.log_reader {
        return ok(
            KEY,
            LABEL,
            "Read over SQL with pgpanel.read_log (least privilege).".into(),
        );
    }
    missing(
        KEY,
        LABEL,
        "pgpanel's log reader function is missing or not granted to the monitor login.".into(),
        format!(
            "As a superuser, run the SQL that `pgpanel setup-sql --target {target_id}` prints (idempotent). Never grant pg_read_file or pg_read_server_files instead: they read any table's raw files."
        ),
        None,
    )
}

/// Why pg_stat_statements cannot be used on this target, with what to run; None when it can.
/// The sampler asks the same question before reading it.
pub fn statements_unavailable(
    capability: Option<Capability>,
    server: Option<&ServerSummary>,
) -> Option<Unavailable> {
    let version = server.map(|s| s.version_num);
    if version.is_some_and(|v| v < 140_000) {
        return Some(Unavailable {
            detail: "Top queries need PostgreSQL 14 or later on the target.".into(),
            hint: None,
            sql: None,
        });
    }
    match capability {
        Some(c) if c.available => None,
        Some(c) => Some(Unavailable {
            detail: c.detail,
            hint: c.hint,
            sql: c.sql,
        }),
        None => Some(Unavailable {
            detail: "pgpanel has not reached this target yet, so it does not know whether \
                     pg_stat_statements is there."
                .into(),
            hint: None,
            sql: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    fn info() -> ServerInfo {
        ServerInfo {
            version: "15.20 (Debian 15.20-0+deb12u1)".into(),
            version_num: 150020,
            in_recovery: false,
            started_at: OffsetDateTime::UNIX_EPOCH,
            login: "Mon Itor".into(),
            login_ident: "\"Mon Itor\"".into(),
            database: "postgres".into(),
            database_ident: "postgres".into(),
            max_connections: 100,
            has_pg_monitor: true,
            is_superuser: false,
            shared_preload_libraries: Some("pg_stat_statements".into()),
            track_io_timing: true,
            logging_collector: true,
            log_reader: true,
        }
    }

    fn ext(name: &str, installed: Option<&str>) -> ExtensionInfo {
        ExtensionInfo {
            name: name.into(),
            default_version: Some("1.0".into()),
            installed_version: installed.map(Into::into),
        }
    }

    fn cap(caps: &[Capability], key: &str) -> Capability {
        caps.iter()
            .find(|c| c.key == key)
            .cloned()
            .unwrap_or_else(|| panic!("capability {key} missing"))
    }

    #[test]
    fn everything_present_has_no_hints() {
        let exts = [
            ext("pg_stat_statements", Some("1.10")),
            ext("pgstattuple", Some("1.5")),
            ext("hypopg", Some("1.4.0")),
        ];
        let caps = derive("main", &info(), &exts, None);
        assert_eq!(caps.len(), 6);
        assert!(
            caps.iter()
                .all(|c| c.available && c.hint.is_none() && c.sql.is_none()),
            "{caps:#?}"
        );
    }

    #[test]
    fn missing_pg_monitor_grant_uses_the_server_quoted_login() {
        let mut i = info();
        i.has_pg_monitor = false;
        let c = cap(&derive("main", &i, &[], None), "pg_monitor");
        assert!(!c.available);
        assert_eq!(c.sql.as_deref(), Some("GRANT pg_monitor TO \"Mon Itor\";"));
    }

    #[test]
    fn superuser_counts_as_monitor() {
        let mut i = info();
        i.has_pg_monitor = false;
        i.is_superuser = true;
        assert!(cap(&derive("main", &i, &[], None), "pg_monitor").available);
    }

    #[test]
    fn not_preloaded_keeps_other_libraries_and_creates_the_extension() {
        let mut i = info();
        i.shared_preload_libraries = Some("auto_explain".into());
        let c = cap(
            &derive("main", &i, &[ext("pg_stat_statements", None)], None),
            "pg_stat_statements",
        );
        assert!(!c.available);
        let sql = c.sql.expect("sql");
        assert!(
            sql.starts_with(
                "ALTER SYSTEM SET shared_preload_libraries = 'auto_explain, pg_stat_statements';"
            ),
            "{sql}"
        );
        assert!(
            sql.ends_with("CREATE EXTENSION pg_stat_statements;"),
            "{sql}"
        );
    }

    #[test]
    fn preloaded_but_not_created_says_create_extension_only() {
        let c = cap(
            &derive("main", &info(), &[ext("pg_stat_statements", None)], None),
            "pg_stat_statements",
        );
        assert!(!c.available);
        assert_eq!(
            c.sql.as_deref(),
            Some("CREATE EXTENSION pg_stat_statements;")
        );
        assert!(c.hint.expect("hint").contains("database postgres"));
    }

    #[test]
    fn unknown_preload_without_extension_mentions_the_preload_too() {
        let mut i = info();
        i.shared_preload_libraries = None;
        let c = cap(
            &derive("main", &i, &[ext("pg_stat_statements", None)], None),
            "pg_stat_statements",
        );
        assert!(!c.available);
        assert!(c.hint.expect("hint").contains("cannot read"));
        assert_eq!(
            c.sql.as_deref(),
            Some("CREATE EXTENSION pg_stat_statements;")
        );
    }

    #[test]
    fn unknown_preload_with_extension_created_is_usable() {
        let mut i = info();
        i.shared_preload_libraries = None;
        let c = cap(
            &derive("main", &i, &[ext("pg_stat_statements", Some("1.10"))], None),
            "pg_stat_statements",
        );
        assert!(c.available);
        assert!(c.detail.contains("cannot be read"), "{}", c.detail);
    }

    #[test]
    fn packages_are_named_for_missing_extensions() {
        let caps = derive("main", &info(), &[], None);
        assert!(
            cap(&caps, "hypopg")
                .hint
                .expect("hint")
                .contains("postgresql-15-hypopg")
        );
        assert!(
            cap(&caps, "pgstattuple")
                .hint
                .expect("hint")
                .contains("postgresql-contrib")
        );
        assert_eq!(
            cap(&caps, "hypopg").sql.as_deref(),
            Some("CREATE EXTENSION hypopg;")
        );
    }

    #[test]
    fn action_login_grants_are_named_when_missing() {
        let a = ActionLoginInfo {
            found: true,
            login_ident: "pgpanel_action".into(),
            superuser: false,
            can_login: true,
            signal_backend: true,
            read_all_stats: false,
            maintain: None,
        };
        let c = cap(&derive("main", &info(), &[], Some(&a)), "action_login");
        assert!(!c.available);
        assert_eq!(
            c.sql.as_deref(),
            Some("GRANT pg_read_all_stats TO pgpanel_action;")
        );
        assert!(c.detail.contains("cannot check"), "{}", c.detail);
        let all = ActionLoginInfo {
            read_all_stats: true,
            ..a.clone()
        };
        assert!(cap(&derive("main", &info(), &[], Some(&all)), "action_login").available);
        let none = ActionLoginInfo { found: false, ..a };
        assert!(!cap(&derive("main", &info(), &[], Some(&none)), "action_login").available);
        assert!(
            derive("main", &info(), &[], None)
                .iter()
                .all(|c| c.key != "action_login")
        );
    }

    #[test]
    fn server_log_names_setup_sql_or_the_collector() {
        let mut i = info();
        assert!(cap(&derive("main", &i, &[], None), "server_log").available);
        i.log_reader = false;
        let c = cap(&derive("db1", &i, &[], None), "server_log");
        assert!(c.hint.unwrap().contains("pgpanel setup-sql --target db1"));
        i.logging_collector = false;
        let c = cap(&derive("db1", &i, &[], None), "server_log");
        assert!(c.sql.unwrap().contains("logging_collector = on"));
    }

    #[test]
    fn track_io_timing_off_gives_alter_system() {
        let mut i = info();
        i.track_io_timing = false;
        let c = cap(&derive("main", &i, &[], None), "track_io_timing");
        assert!(!c.available);
        assert!(
            c.sql
                .expect("sql")
                .starts_with("ALTER SYSTEM SET track_io_timing = on;")
        );
    }
}
