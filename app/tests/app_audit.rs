//! Application audit tables read on a real cluster as the monitor login: the missing GRANT
//! named, the common layout recognised, odd identifiers named in the configuration, keyset
//! paging without overlap, every filter, a row's history, and the errors that name what is
//! missing.

use sqlx::{Connection, Executor, PgConnection};

use crate::common::{create_login, superuser};
use app::features::app_audit::db::{AppAuditQuery, page, parse_before};
use app::features::app_audit::layout::{Layout, read};
use app::features::app_audit::spec::{AuditTableSpec, ColumnNames};
use harness::{ClusterOptions, TempCluster};

const SCHEMA: &str = r#"
create table orders (id bigint primary key, status text not null, total numeric not null);
create index on audit_log (changed_at desc, id desc);
create trigger orders_audit after insert or update or delete on orders
    for each row execute function audit_row();
create schema "Äpp";
create table "Äpp"."Audit Log" ("Key" int primary key, "When" timestamptz not null, "Before" jsonb, "After" jsonb, "Who Did It" text);
insert into "Äpp"."Audit Log" values (1, now() - interval '1 minute', null, '{"id": 5, "note": "<b>x</b>"}', 'Zoë'),
    (2, now(), '{"id": 5, "note": "<b>x</b>"}', '{"id": 5, "note": "y"}', 'Zoë');
create table plain_log (id int primary key, payload jsonb, note text);
"#;

fn spec(table: &str, columns: ColumnNames) -> AuditTableSpec {
    AuditTableSpec {
        id: "t".into(),
        name: "t".into(),
        database: "shop".into(),
        table: table.into(),
        columns,
        record_key: "id".into(),
    }
}

async fn count(mon: &mut PgConnection, layout: &Layout, q: AppAuditQuery) -> usize {
    page(mon, layout, &q, "id").await.unwrap().len()
}

fn all(limit: i64) -> AppAuditQuery {
    AppAuditQuery {
        limit,
        ..AppAuditQuery::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_table_is_browsed_with_least_privilege() {
    let cluster = TempCluster::start_async(ClusterOptions::default())
        .await
        .expect("cluster");
    let mut su = superuser(&cluster, "postgres").await;
    su.execute("create database shop").await.unwrap();
    su.close().await.unwrap();
    let mut su = superuser(&cluster, "shop").await;
    su.execute(harness::AUDIT_LOG_SQL).await.unwrap();
    su.execute(SCHEMA).await.unwrap();
    // Three clerks: an order placed, paid, cancelled; and 120 more orders.
    for (clerk, sql) in [
        ("alice", "insert into orders values (1, 'new', 10)"),
        (
            "bob",
            "update orders set status = 'paid', total = 12 where id = 1",
        ),
        ("carol", "delete from orders where id = 1"),
    ] {
        su.execute(format!("select set_config('app.user', '{clerk}', false); {sql}").as_str())
            .await
            .unwrap();
    }
    su.execute("select set_config('app.user', 'batch', false); insert into orders select g, 'new', g from generate_series(2, 121) g")
        .await
        .unwrap();
    let opts = create_login(&cluster, "mon", &["pg_monitor"])
        .await
        .database("shop");
    let mut mon = PgConnection::connect_with(&opts).await.unwrap();
    let audit = spec("public.audit_log", ColumnNames::default());

    // pg_monitor alone may not read application tables: the GRANT is named.
    let e = read(&mut mon, &audit).await.unwrap_err();
    assert_eq!(e.status(), 403, "{e:?}");
    assert!(
        e.to_string().contains("GRANT SELECT ON audit_log TO mon;"),
        "{e}"
    );
    su.execute("grant select on audit_log, \"Äpp\".\"Audit Log\", plain_log to mon")
        .await
        .unwrap();
    // SELECT without USAGE on the schema: both grants are named.
    let odd_table = "\"Äpp\".\"Audit Log\"";
    let e = read(&mut mon, &spec(odd_table, ColumnNames::default()))
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403, "{e:?}");
    assert!(
        e.to_string().contains(
            "GRANT USAGE ON SCHEMA \"Äpp\" TO mon; GRANT SELECT ON \"Äpp\".\"Audit Log\" TO mon;"
        ),
        "{e}"
    );
    su.execute("grant usage on schema \"Äpp\" to mon")
        .await
        .unwrap();

    let layout = read(&mut mon, &audit).await.unwrap();
    assert_eq!(layout.time.name, "changed_at");
    assert_eq!(layout.actor.as_ref().unwrap().name, "user_id");
    assert_eq!(
        layout.index_hint(),
        None,
        "the index starts with changed_at"
    );

    // Keyset paging: 123 changes in pages of 50, newest first, no row twice.
    let first = page(&mut mon, &layout, &all(50), "id").await.unwrap();
    assert_eq!(first.len(), 50);
    let cursor = parse_before(&first.last().unwrap().1).unwrap();
    let second = page(
        &mut mon,
        &layout,
        &AppAuditQuery {
            before: Some(cursor),
            ..all(200)
        },
        "id",
    )
    .await
    .unwrap();
    assert_eq!(second.len(), 73);
    let ids: Vec<i64> = first
        .iter()
        .chain(&second)
        .map(|(r, _)| r.id.parse().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, no overlap: {ids:?}"
    );

    // A row's history: inserted by alice, paid by bob, deleted by carol; each with its diff.
    let history = page(
        &mut mon,
        &layout,
        &AppAuditQuery {
            record: Some("1".into()),
            table: Some("orders".into()),
            ..all(50)
        },
        "id",
    )
    .await
    .unwrap();
    let steps: Vec<(String, String)> = history
        .iter()
        .map(|(r, _)| (r.operation.clone().unwrap(), r.actor.clone().unwrap()))
        .collect();
    assert_eq!(
        steps,
        [("DELETE", "carol"), ("UPDATE", "bob"), ("INSERT", "alice")]
            .map(|(o, a)| (o.to_owned(), a.to_owned()))
    );
    let update = &history[1].0;
    let changed: Vec<String> = update
        .changes
        .iter()
        .map(|c| {
            format!(
                "{}: {} -> {}",
                c.field,
                c.old.clone().unwrap(),
                c.new.clone().unwrap()
            )
        })
        .collect();
    assert_eq!(changed, ["status: \"new\" -> \"paid\"", "total: 10 -> 12"]);
    assert_eq!(update.record.as_deref(), Some("1"));
    assert!(
        update.columns.is_empty(),
        "every column has a meaning: {:?}",
        update.columns
    );
    assert_eq!(history[2].0.changes.len(), 3, "an insert lists every field");

    // Filters: operation, actor, text, time; values are bound, never pasted.
    assert_eq!(
        count(
            &mut mon,
            &layout,
            AppAuditQuery {
                operation: Some("UPDATE".into()),
                ..all(500)
            }
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &mut mon,
            &layout,
            AppAuditQuery {
                actor: Some("batch".into()),
                ..all(500)
            }
        )
        .await,
        120
    );
    assert_eq!(
        count(
            &mut mon,
            &layout,
            AppAuditQuery {
                text: Some("PAID".into()),
                ..all(500)
            }
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &mut mon,
            &layout,
            AppAuditQuery {
                text: Some("100%".into()),
                ..all(500)
            }
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &mut mon,
            &layout,
            AppAuditQuery {
                table: Some("orders' or true --".into()),
                ..all(500)
            }
        )
        .await,
        0
    );
    let later = time::OffsetDateTime::now_utc() + time::Duration::minutes(5);
    assert_eq!(
        count(
            &mut mon,
            &layout,
            AppAuditQuery {
                since: Some(later),
                ..all(500)
            }
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &mut mon,
            &layout,
            AppAuditQuery {
                until: Some(later),
                ..all(500)
            }
        )
        .await,
        123
    );
    let e = page(
        &mut mon,
        &layout,
        &AppAuditQuery {
            before: Some((1, "x".into())),
            ..all(5)
        },
        "id",
    )
    .await
    .unwrap_err();
    assert_eq!(e.status(), 400, "{e:?}");

    // Odd identifiers, named in the configuration; no index on the time column: the DDL.
    let odd = spec(
        "\"Äpp\".\"Audit Log\"",
        ColumnNames {
            time: Some("When".into()),
            row_id: Some("Key".into()),
            old: Some("Before".into()),
            new: Some("After".into()),
            actor: Some("Who Did It".into()),
            ..ColumnNames::default()
        },
    );
    let layout = read(&mut mon, &odd).await.unwrap();
    assert_eq!(
        layout.index_hint().as_deref(),
        Some("CREATE INDEX CONCURRENTLY ON \"Äpp\".\"Audit Log\" (\"When\" DESC, \"Key\" DESC);")
    );
    let rows = page(&mut mon, &layout, &all(10), "id").await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0.changes[0].new, Some(serde_json::json!("y")));
    assert_eq!(
        rows[0].0.changes[0].old,
        Some(serde_json::json!("<b>x</b>"))
    );
    assert_eq!(rows[0].0.actor.as_deref(), Some("Zoë"));

    // What cannot be recognised is named, with the key that names it.
    let e = read(&mut mon, &spec("plain_log", ColumnNames::default()))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("no column for the time of the change"),
        "{e}"
    );
    assert!(e.to_string().contains("`time = "), "{e}");
    let e = read(
        &mut mon,
        &spec(
            "public.audit_log",
            ColumnNames {
                actor: Some("nope".into()),
                ..ColumnNames::default()
            },
        ),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("no column \"nope\""), "{e}");
    let e = read(&mut mon, &spec("public.missing", ColumnNames::default()))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("there is no table"), "{e}");
}
