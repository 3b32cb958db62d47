//! What the missing-index section reads from a statement (PostgreSQL's parser through
//! pg_query) and the candidates it builds: equality, IN, ANY, IS NULL, ranges, joins (ON,
//! USING, IN (SELECT …), correlated EXISTS), ORDER BY with LIMIT, CTEs, UPDATE and DELETE;
//! what it leaves out (OR, expressions over a column, LIKE); what it skips (utility statements,
//! several statements, texts the parser rejects); odd identifiers; and which existing indexes
//! cover a candidate.

use std::collections::HashMap;

use app::features::advice::db::{IndexRow, RelationRow};
use app::features::advice::hypo::Candidate;
use app::features::advice::missing::candidates;
use app::features::advice::statements::{Relation, Skip, TableUse, parse, resolve};

fn rel(name: &str) -> Relation {
    Relation {
        schema: None,
        name: name.into(),
    }
}

/// The catalog of these tests: table → columns.
fn catalog() -> HashMap<Relation, Vec<String>> {
    let t = |cols: &[&str]| cols.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
    HashMap::from([
        (
            rel("events"),
            t(&["id", "tenant_id", "status", "created_at", "payload"]),
        ),
        (rel("orders"), t(&["id", "customer_id", "total"])),
        (rel("order_lines"), t(&["order_id", "line", "qty"])),
        (rel("customers"), t(&["id", "email", "region"])),
        (rel("Odd \"Name\" ü"), t(&["Mixed Col", "v"])),
        (
            Relation {
                schema: Some("Sales".into()),
                name: "t".into(),
            },
            t(&["a", "b"]),
        ),
    ])
}

fn uses(sql: &str) -> Vec<TableUse> {
    let parsed = parse(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    resolve(&parsed, &catalog())
}

fn of<'a>(uses: &'a [TableUse], table: &str) -> &'a TableUse {
    uses.iter()
        .find(|u| u.relation.name == table)
        .unwrap_or_else(|| panic!("{table} not in {uses:?}"))
}

fn v(cols: &[&str]) -> Vec<String> {
    cols.iter().map(|c| (*c).to_owned()).collect()
}

#[test]
fn equality_in_any_is_null_and_ranges() {
    let u = uses("select count(*) from events where tenant_id = $1 and status = $2");
    assert_eq!(of(&u, "events").equality, v(&["tenant_id", "status"]));
    let u = uses(
        "select * from events e where e.tenant_id in ($1, $2) and status = any($3) and created_at between $4 and $5 and payload is null",
    );
    let e = of(&u, "events");
    assert_eq!(e.equality, v(&["tenant_id", "status", "payload"]));
    assert_eq!(e.range, v(&["created_at"]));
    // A value on the left, a cast of a parameter and now() - interval are values too.
    let u = uses("select * from events where $1 = tenant_id and created_at > now() - $2::interval");
    assert_eq!(of(&u, "events").equality, v(&["tenant_id"]));
    assert_eq!(of(&u, "events").range, v(&["created_at"]));
}

#[test]
fn what_one_index_cannot_serve_is_left_out() {
    for sql in [
        "select * from events where tenant_id = $1 or status = $2",
        "select * from events where lower(payload) = $1",
        "select * from events where created_at::date = $1",
        "select * from events where payload like $1",
        "select * from events where tenant_id <> $1",
        "select * from events where not (tenant_id = $1)",
    ] {
        let u = uses(sql);
        let e = of(&u, "events");
        assert!(
            e.equality.is_empty() && e.range.is_empty() && e.join.is_empty(),
            "{sql}: {e:?}"
        );
    }
}

#[test]
fn joins_give_join_keys_on_both_sides() {
    let u = uses(
        "select l.qty from orders o join order_lines l on l.order_id = o.id where o.customer_id = $1",
    );
    assert_eq!(of(&u, "orders").equality, v(&["customer_id"]));
    assert_eq!(of(&u, "orders").join, v(&["id"]));
    assert_eq!(of(&u, "order_lines").join, v(&["order_id"]));
    // Bare columns are placed on the one table that has them.
    let u = uses("select * from orders, customers where customer_id = customers.id and email = $1");
    assert_eq!(of(&u, "customers").equality, v(&["email"]));
    assert_eq!(of(&u, "customers").join, v(&["id"]));
    assert_eq!(of(&u, "orders").join, v(&["customer_id"]));
    // A column both tables have, unqualified, is ambiguous: left out.
    let u = uses("select * from orders, customers where id = $1");
    assert!(u.iter().all(|t| t.equality.is_empty()), "{u:?}");
    // USING: a join key on each table that has the column.
    let u = uses("select * from order_lines join order_lines x using (order_id) where x.line = $1");
    assert_eq!(of(&u, "order_lines").join, v(&["order_id"]));
}

#[test]
fn subqueries_and_ctes() {
    let u = uses(
        "select * from customers c where exists (select 1 from orders o where o.customer_id = c.id and o.total > $1)",
    );
    assert_eq!(of(&u, "orders").join, v(&["customer_id"]));
    assert_eq!(of(&u, "orders").range, v(&["total"]));
    let u = uses(
        "select * from customers where id in (select customer_id from orders where total = $1)",
    );
    assert_eq!(of(&u, "customers").join, v(&["id"]));
    assert_eq!(of(&u, "orders").join, v(&["customer_id"]));
    assert_eq!(of(&u, "orders").equality, v(&["total"]));
    let u = uses(
        "with recent as (select * from orders where customer_id = $1) select * from recent r join order_lines l on l.order_id = r.id",
    );
    assert_eq!(of(&u, "orders").equality, v(&["customer_id"]));
    assert_eq!(of(&u, "order_lines").join, v(&["order_id"]));
    assert!(!u.iter().any(|t| t.relation.name == "recent"), "{u:?}");
    // Set operations and subqueries in FROM.
    let u = uses(
        "select id from (select * from events where status = $1) s union all select id from orders where customer_id = $2",
    );
    assert_eq!(of(&u, "events").equality, v(&["status"]));
    assert_eq!(of(&u, "orders").equality, v(&["customer_id"]));
}

#[test]
fn order_by_counts_only_with_a_limit() {
    let u = uses("select * from events where tenant_id = $1 order by created_at desc limit $2");
    assert_eq!(of(&u, "events").order, v(&["created_at"]));
    let u = uses("select * from events where tenant_id = $1 order by created_at");
    assert!(of(&u, "events").order.is_empty());
}

#[test]
fn updates_and_deletes() {
    let p = parse("update events set status = $1, payload = $2 where id = $3").unwrap();
    assert_eq!(p.command, "UPDATE");
    assert_eq!(p.params, 3);
    let u = resolve(&p, &catalog());
    assert_eq!(of(&u, "events").updated, v(&["status", "payload"]));
    assert_eq!(of(&u, "events").equality, v(&["id"]));
    let u = uses(
        "delete from order_lines l using orders o where l.order_id = o.id and o.customer_id = $1",
    );
    assert_eq!(of(&u, "order_lines").join, v(&["order_id"]));
    assert_eq!(of(&u, "orders").equality, v(&["customer_id"]));
    let u = uses("insert into order_lines select * from order_lines where order_id = $1");
    assert_eq!(of(&u, "order_lines").equality, v(&["order_id"]));
}

#[test]
fn odd_identifiers_and_schemas() {
    let u = uses(r#"select v from "Odd ""Name"" ü" where "Mixed Col" = $1"#);
    assert_eq!(of(&u, "Odd \"Name\" ü").equality, v(&["Mixed Col"]));
    let u = uses(r#"select * from "Sales".t where t.a = $1 and b >= $2"#);
    let t = of(&u, "t");
    assert_eq!(t.relation.schema.as_deref(), Some("Sales"));
    assert_eq!(
        (t.equality.clone(), t.range.clone()),
        (v(&["a"]), v(&["b"]))
    );
    // Unquoted names fold to lower case, as PostgreSQL folds them.
    let u = uses("SELECT * FROM EVENTS WHERE TENANT_ID = $1");
    assert_eq!(of(&u, "events").equality, v(&["tenant_id"]));
}

#[test]
fn what_is_skipped() {
    assert_eq!(parse("vacuum events"), Err(Skip::Utility));
    assert_eq!(parse("set work_mem = $1"), Err(Skip::Utility));
    assert_eq!(parse("select 1; select 2"), Err(Skip::Several));
    assert_eq!(parse("select $1"), Err(Skip::NoTable));
    assert!(matches!(
        parse("select * from events where tenant_id ="),
        Err(Skip::Unparsable(_))
    ));
    // pg_stat_statements cuts nothing, but a text may end in the middle of a comment.
    assert!(matches!(
        parse("select * from events /* open"),
        Err(Skip::Unparsable(_))
    ));
}

fn relation(oid: i64, name: &str, cols: &[&str]) -> RelationRow {
    RelationRow {
        ord: 1,
        table_oid: oid,
        schema_name: "public".into(),
        table_name: name.into(),
        table_quoted: format!("public.{name}"),
        relkind: "r".into(),
        column_names: v(cols),
        column_numbers: (1..=cols.len() as i16).collect(),
        ..RelationRow::default()
    }
}

fn btree(table: i64, keys: &[i16]) -> IndexRow {
    IndexRow {
        table_oid: table,
        method: "btree".into(),
        key_count: keys.len() as i32,
        columns: keys.to_vec(),
        is_valid: true,
        ..IndexRow::default()
    }
}

#[test]
fn candidates_equality_first_then_one_range_and_covered_ones_dropped() {
    let rels = HashMap::from([(
        rel("events"),
        relation(
            10,
            "events",
            &["id", "tenant_id", "status", "created_at", "payload"],
        ),
    )]);
    let u = uses("select * from events where tenant_id = $1 and status = $2 and created_at > $3");
    let got: Vec<Vec<i16>> = candidates(&u, &rels, &[])
        .into_iter()
        .map(|c| c.keys)
        .collect();
    assert_eq!(
        got,
        vec![vec![2], vec![3], vec![4], vec![2, 3], vec![2, 3, 4]],
        "singles, the equality pair, the pair then the range column"
    );
    // (status, tenant_id) serves the equality pair in any order; (tenant_id) alone does not.
    let pair = Candidate {
        table: 10,
        keys: vec![2, 3],
        eq: 2,
    };
    assert!(pair.covered_by(&btree(10, &[3, 2, 4])));
    assert!(!pair.covered_by(&btree(10, &[2])));
    assert!(!pair.covered_by(&btree(11, &[2, 3])));
    let partial = IndexRow {
        predicate: "(status = 1)".into(),
        ..btree(10, &[2, 3])
    };
    assert!(!pair.covered_by(&partial));
    let invalid = IndexRow {
        is_valid: false,
        ..btree(10, &[2, 3])
    };
    assert!(!pair.covered_by(&invalid));
    // A range column keeps its place: (tenant_id, status, created_at) is not (created_at, …).
    let ranged = Candidate {
        table: 10,
        keys: vec![2, 3, 4],
        eq: 2,
    };
    assert!(ranged.covered_by(&btree(10, &[3, 2, 4])));
    assert!(!ranged.covered_by(&btree(10, &[4, 2, 3])));
    // With the pair indexed, only what it does not cover is left.
    let left: Vec<Vec<i16>> = candidates(&u, &rels, &[btree(10, &[2, 3])])
        .into_iter()
        .map(|c| c.keys)
        .collect();
    assert_eq!(left, vec![vec![3], vec![4], vec![2, 3, 4]]);
    // Partitioned parents are left out.
    let mut parted = rels.clone();
    parted.get_mut(&rel("events")).unwrap().relkind = "p".into();
    assert!(candidates(&u, &parted, &[]).is_empty());
}
