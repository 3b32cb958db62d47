//! `pgpanel setup-sql --target ID`: the psql script a superuser runs once on a target for least
//! privilege — the monitor login with `pg_monitor`, the action login's grants, and in each
//! database the extensions advice uses and SELECT on sequences (how far they have gone), and the
//! server log reader (`pgpanel.read_log`, in the monitor login's database), and SELECT on each
//! configured application audit table.
//! Idempotent: every statement checks first or cannot fail when run twice. Login and database
//! names are passed to PostgreSQL as literals and quoted there (`format('%I')`); no password is
//! ever printed.

use sqlx::{ConnectOptions, PgConnection};

use app::features::targets::monitor::TargetSpec;
use app::sql::literal;

/// A database name as one psql meta-command argument (single quotes, quotes doubled,
/// backslashes escaped): `None` when psql would read it as a connection string.
fn psql_arg(name: &str) -> Option<String> {
    (!name.contains('=')).then(|| format!("'{}'", name.replace('\\', "\\\\").replace('\'', "''")))
}

/// The script for `spec`, given the databases to prepare (`listed`: `Err` with why the list
/// could not be read, then only the monitor login's own database is prepared).
pub fn script(spec: &TargetSpec, listed: Result<Vec<String>, String>) -> String {
    let monitor = spec.monitor.0.get_username().to_owned();
    let host = format!(
        "{}:{}",
        spec.monitor.0.get_host(),
        spec.monitor.0.get_port()
    );
    let mut out = format!(
        "-- pgpanel setup for target {id:?} ({host}), printed by `pgpanel setup-sql --target {id}`.\n\
         -- Run it once as a superuser with psql (it uses \\gexec and \\connect):\n\
         --   psql -X -v ON_ERROR_STOP=1 -h … -U postgres -d postgres -f setup.sql\n\
         -- Running it again changes nothing. It sets no password: give each login one with\n\
         -- \\password <login> (or ALTER ROLE … PASSWORD) and put it in pgpanel's configuration.\n\n",
        id = spec.id,
    );
    let role = |name: &str, why: &str| {
        format!(
            "-- {why}\n\
             SELECT format('CREATE ROLE %I LOGIN', {l})\n\
             WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {l})\\gexec\n",
            l = literal(name)
        )
    };
    let grant = |what: &str, to: &str| {
        format!(
            "SELECT format('GRANT {what} TO %I', {})\\gexec\n",
            literal(to)
        )
    };
    out.push_str(&role(
        &monitor,
        "The monitor login: reads statistics and catalogs, nothing else.",
    ));
    out.push_str(&grant("pg_monitor", &monitor));
    if let Some(action) = &spec.action {
        let action = action.0.get_username().to_owned();
        out.push('\n');
        out.push_str(&role(
            &action,
            "The action login: cancels and terminates sessions, runs VACUUM, ANALYZE and REINDEX.",
        ));
        out.push_str(&grant("pg_signal_backend", &action));
        out.push_str(&grant("pg_read_all_stats", &action));
        out.push_str(&format!(
            "-- PostgreSQL 17+: VACUUM, ANALYZE and REINDEX on every table. Before 17, make it a member of\n\
             -- the roles owning the tables it may maintain (e.g. GRANT app_owner TO …).\n\
             SELECT format('GRANT pg_maintain TO %I', {})\n\
             WHERE current_setting('server_version_num')::int >= 170000\\gexec\n",
            literal(&action)
        ));
        out.push_str(
            "-- Index suggestions are validated by EXPLAINing the application's statements as this\n\
             -- login (EXPLAIN only plans them, nothing runs): it needs SELECT on their tables. Not\n\
             -- granted here, choose: per schema, GRANT SELECT ON ALL TABLES IN SCHEMA <schema> TO\n\
             -- <this login>; or every table (PostgreSQL 14+), GRANT pg_read_all_data TO <this login>;\n",
        );
    }
    out.push_str(&log_reader(spec, &monitor));
    let databases = match listed {
        Ok(list) => list,
        Err(why) => {
            out.push_str(&format!(
                "\n-- The databases could not be listed ({why}): only the monitor login's own\n\
                 -- database is prepared below. Run `pgpanel setup-sql` again once the monitor\n\
                 -- login can connect, or repeat the block for each database.\n"
            ));
            vec![
                spec.monitor
                    .0
                    .get_database()
                    .unwrap_or("postgres")
                    .to_owned(),
            ]
        }
    };
    let mut databases = databases;
    for t in &spec.audit_tables {
        if !databases.contains(&t.database) {
            databases.push(t.database.clone());
        }
    }
    for db in databases {
        out.push('\n');
        match psql_arg(&db) {
            Some(arg) => out.push_str(&format!(
                "-- Database {db:?}: pgstattuple (bloat, measured without superuser), hypopg where\n\
                 -- installed (index suggestions), and the sequences' positions for the monitor\n\
                 -- (sequences created later need it again, or ALTER DEFAULT PRIVILEGES).\n\
                 \\connect {arg}\n\
                 CREATE EXTENSION IF NOT EXISTS pgstattuple;\n\
                 SELECT 'CREATE EXTENSION IF NOT EXISTS hypopg'\n\
                 WHERE EXISTS (SELECT FROM pg_available_extensions WHERE name = 'hypopg')\\gexec\n\
                 SELECT format('GRANT SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I', nspname, {l})\n\
                 FROM pg_namespace\n\
                 WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'\\gexec\n",
                l = literal(&monitor)
            )),
            None => out.push_str(&format!(
                "-- Database {db:?}: its name reads as a connection string to psql; connect to it\n\
                 -- yourself and run: CREATE EXTENSION IF NOT EXISTS pgstattuple;\n"
            )),
        }
        for t in spec.audit_tables.iter().filter(|t| t.database == db) {
            out.push_str(&audit_table_grant(&t.table, &monitor));
        }
    }
    out
}

/// SELECT on one application audit table for the monitor login (the Audit area reads it and
/// nothing else of the application's data); the table is resolved and quoted by PostgreSQL.
fn audit_table_grant(table: &str, monitor: &str) -> String {
    format!(
        "-- The application audit table {table:?} (Audit area): SELECT on it only (and USAGE on\n\
         -- its schema, which lets the login see the schema's names, not read its tables).\n\
         SELECT format('GRANT USAGE ON SCHEMA %I TO %I', n.nspname, {l})\n\
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace\n\
         WHERE c.oid = to_regclass({t})\\gexec\n\
         SELECT format('GRANT SELECT ON %s TO %I', to_regclass({t}), {l})\n\
         WHERE to_regclass({t}) IS NOT NULL\\gexec\n",
        t = literal(table),
        l = literal(monitor)
    )
}

/// The log reader: a SECURITY DEFINER function that reads byte ranges of one file in
/// log_directory (a bare name: no `/`, no `..`), granted to the monitor login only, in its own
/// database; and pgaudit told not to audit pgpanel's own monitoring.
fn log_reader(spec: &TargetSpec, monitor: &str) -> String {
    let db = spec.monitor.0.get_database().unwrap_or("postgres");
    let connect = match psql_arg(db) {
        Some(arg) => format!("\\connect {arg}\n"),
        None => format!("-- Connect to database {db:?} yourself before this part.\n"),
    };
    format!(
        "\n-- The server log reader for the Logs page, in the monitor login's database {db:?}.\n\
         -- It reads byte ranges of one file in log_directory, as bytea, and nothing else: the name\n\
         -- must be a bare file name. Never grant pg_read_file, pg_read_binary_file or\n\
         -- pg_read_server_files instead: with those a login can read any table's raw data files.\n\
         {connect}\
         {reader}\
         SELECT format('GRANT USAGE ON SCHEMA pgpanel TO %I', {l})\\gexec\n\
         SELECT format('GRANT EXECUTE ON FUNCTION pgpanel.read_log(text, bigint, bigint) TO %I', {l})\\gexec\n\
         -- With pgaudit loaded: pgpanel's own monitoring is not audited.\n\
         SELECT format('ALTER ROLE %I SET pgaudit.log = %L', {l}, 'none')\n\
         WHERE current_setting('shared_preload_libraries') ~ 'pgaudit'\\gexec\n",
        l = literal(monitor),
        reader = app::sql::body(app::features::logs::db::READER_SQL),
    )
}

/// The databases of the target that accept connections, read with its monitor login (with
/// pgpanel's application_name and the target's session settings, like every session it opens).
pub async fn databases(spec: &TargetSpec) -> Result<Vec<String>, String> {
    let options = app::features::targets::connect::session_options(&spec.monitor, &spec.session);
    let connect = tokio::time::timeout(spec.session.connect_timeout, options.connect());
    let mut conn: PgConnection = match connect.await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            return Err(app::features::targets::connect::describe_error(
                &e,
                app::features::targets::connect::LoginKind::Monitor,
            ));
        }
        Err(_) => return Err("no answer within the connect timeout".into()),
    };
    sqlx::query_scalar(app::sql::body(include_str!("databases.sql")))
        .fetch_all(&mut conn)
        .await
        .map_err(|e| {
            app::features::targets::connect::describe_error(
                &e,
                app::features::targets::connect::LoginKind::Monitor,
            )
        })
}
