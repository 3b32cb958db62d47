//! What a statement asks of its tables, read with PostgreSQL's own parser (the `pg_query`
//! crate embeds it): per query level, the tables it reads and the predicates an index could
//! serve — equality (`=`, `IN`, `= ANY`, `IS NULL`), ranges (`<`, `>`, `BETWEEN`), join keys
//! (a column compared with a column of another table, `USING`, `IN (SELECT …)`, correlated
//! `EXISTS`) and `ORDER BY … LIMIT`; and the columns an `UPDATE` sets (an index on them stops
//! HOT updates). Pure: names are placed on tables later, against the catalog (`resolve`).
//! Anything the parser rejects, several statements in one text and utility statements are
//! skipped with the reason, never an error.

use std::collections::HashMap;

use pg_query::NodeEnum;
use pg_query::protobuf::{
    AExprKind, BoolExprType, JoinExpr, Node, NullTestType, RangeVar, SelectStmt, SubLinkType,
};

/// A table as a statement names it (unquoted; `schema` when the statement gives one).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Relation {
    pub schema: Option<String>,
    pub name: String,
}

/// A column reference: `qualifier.name` or a bare `name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColRef {
    pub qualifier: Option<String>,
    pub name: String,
}

/// What a predicate asks of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// `= value`, `IN (values)`, `= ANY (value)`, `IS NULL`.
    Equality,
    /// `<`, `<=`, `>`, `>=`, `BETWEEN` a value.
    Range,
    /// `=` another table's column (this or an outer query level).
    Join,
}

/// One sargable predicate of a query level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pred {
    pub col: ColRef,
    pub want: Want,
}

/// One query level (a SELECT, the body of an UPDATE or DELETE, a subquery).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// The tables it reads, with the alias they go by (CTE names are not tables).
    pub tables: Vec<(Relation, Option<String>)>,
    pub preds: Vec<Pred>,
    /// `JOIN … USING (columns)`: a join key on every table of the level that has the column.
    pub using: Vec<String>,
    /// `ORDER BY` columns when the level has a `LIMIT` (an index in that order ends the sort).
    pub order: Vec<ColRef>,
    /// Columns an `UPDATE` sets on its first table.
    pub updated: Vec<String>,
    /// The enclosing level (an index into the statement's scopes), for correlated references.
    pub outer: Option<usize>,
}

/// A statement, read: its query levels and how many `$n` parameters it takes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub scopes: Vec<Scope>,
    pub params: i32,
    /// SELECT, UPDATE, DELETE or INSERT.
    pub command: &'static str,
}

/// Why a statement is not looked at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    /// PostgreSQL's parser rejects it (e.g. a text pg_stat_statements cut short).
    Unparsable(String),
    /// Not a SELECT, UPDATE, DELETE or INSERT … SELECT (DDL, COPY, SET, …).
    Utility,
    /// More than one statement in one text.
    Several,
    /// Reads no table.
    NoTable,
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::Unparsable(e) => write!(f, "PostgreSQL's parser rejects it ({e})"),
            Skip::Utility => f.write_str("not a query (a utility statement)"),
            Skip::Several => f.write_str("several statements in one text"),
            Skip::NoTable => f.write_str("reads no table"),
        }
    }
}

/// Reads one statement text (as pg_stat_statements keeps it, `$n` for constants).
pub fn parse(sql: &str) -> Result<Parsed, Skip> {
    let result = pg_query::parse(sql, 0).map_err(|e| Skip::Unparsable(e.to_string()))?;
    if result.protobuf.stmts.len() != 1 {
        return Err(if result.protobuf.stmts.is_empty() {
            Skip::Utility
        } else {
            Skip::Several
        });
    }
    let params = result
        .protobuf
        .nodes()
        .iter()
        .filter_map(|(n, ..)| match n {
            pg_query::NodeRef::ParamRef(p) => Some(p.number),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let stmt = result.protobuf.stmts[0]
        .stmt
        .as_ref()
        .and_then(|s| s.node.as_ref());
    let mut w = Walker::default();
    let command = match stmt {
        Some(NodeEnum::SelectStmt(s)) => {
            w.select(s, None, &[]);
            "SELECT"
        }
        Some(NodeEnum::UpdateStmt(u)) => {
            let updated = u
                .target_list
                .iter()
                .filter_map(|t| match &t.node {
                    Some(NodeEnum::ResTarget(r)) if !r.name.is_empty() => Some(r.name.clone()),
                    _ => None,
                })
                .collect();
            let (at, ctes) = w.modify(
                u.with_clause.as_ref(),
                u.relation.as_ref(),
                &u.from_clause,
                u.where_clause.as_deref(),
                updated,
            );
            for t in &u.target_list {
                w.sublinks(at, t, &ctes);
            }
            "UPDATE"
        }
        Some(NodeEnum::DeleteStmt(d)) => {
            w.modify(
                d.with_clause.as_ref(),
                d.relation.as_ref(),
                &d.using_clause,
                d.where_clause.as_deref(),
                Vec::new(),
            );
            "DELETE"
        }
        Some(NodeEnum::InsertStmt(i)) => {
            let ctes = w.ctes(i.with_clause.as_ref());
            match i.select_stmt.as_deref().and_then(|n| n.node.as_ref()) {
                Some(NodeEnum::SelectStmt(s)) => w.select(s, None, &ctes),
                _ => return Err(Skip::NoTable),
            }
            "INSERT"
        }
        _ => return Err(Skip::Utility),
    };
    if w.scopes.iter().all(|s| s.tables.is_empty()) {
        return Err(Skip::NoTable);
    }
    Ok(Parsed {
        scopes: w.scopes,
        params,
        command,
    })
}

#[derive(Default)]
struct Walker {
    scopes: Vec<Scope>,
    /// CTE bodies are walked once, as levels of their own.
    ctes_seen: Vec<String>,
}

impl Walker {
    fn push(&mut self, scope: Scope) -> usize {
        self.scopes.push(scope);
        self.scopes.len() - 1
    }

    /// Walks a WITH clause's queries; returns the CTE names (not tables in the body).
    fn ctes(&mut self, with: Option<&pg_query::protobuf::WithClause>) -> Vec<String> {
        let mut names = Vec::new();
        for cte in with.map(|w| w.ctes.as_slice()).unwrap_or_default() {
            if let Some(NodeEnum::CommonTableExpr(c)) = &cte.node {
                names.push(c.ctename.clone());
                if !self.ctes_seen.contains(&c.ctename) {
                    self.ctes_seen.push(c.ctename.clone());
                    // A data-modifying CTE (INSERT … RETURNING) is not looked into.
                    if let Some(NodeEnum::SelectStmt(s)) =
                        c.ctequery.as_deref().and_then(|n| n.node.as_ref())
                    {
                        self.select(s, None, &names);
                    }
                }
            }
        }
        names
    }

    /// The level of an UPDATE or DELETE: its table (which `updated` columns are set on), the
    /// FROM / USING tables, the WHERE and join conditions. Returns the level and the CTE names.
    fn modify(
        &mut self,
        with: Option<&pg_query::protobuf::WithClause>,
        relation: Option<&RangeVar>,
        from: &[Node],
        condition: Option<&Node>,
        updated: Vec<String>,
    ) -> (usize, Vec<String>) {
        let ctes = self.ctes(with);
        let mut scope = Scope {
            updated,
            ..Scope::default()
        };
        if let Some(r) = relation {
            self.table(&mut scope, r, &ctes);
        }
        let mut quals = Vec::new();
        for f in from {
            self.from(&mut scope, &mut quals, f, &ctes);
        }
        let at = self.push(scope);
        self.condition(at, condition, &ctes);
        for q in &quals {
            self.condition(at, Some(q), &ctes);
        }
        (at, ctes)
    }

    fn select(&mut self, s: &SelectStmt, outer: Option<usize>, ctes: &[String]) {
        let mut ctes = ctes.to_vec();
        ctes.extend(self.ctes(s.with_clause.as_ref()));
        if let (Some(l), Some(r)) = (&s.larg, &s.rarg) {
            self.select(l, outer, &ctes);
            self.select(r, outer, &ctes);
            return;
        }
        let mut scope = Scope {
            outer,
            ..Scope::default()
        };
        let mut quals = Vec::new();
        for f in &s.from_clause {
            self.from(&mut scope, &mut quals, f, &ctes);
        }
        if s.limit_count.is_some() {
            scope.order = s
                .sort_clause
                .iter()
                .filter_map(|n| match &n.node {
                    Some(NodeEnum::SortBy(b)) => b.node.as_deref().and_then(column),
                    _ => None,
                })
                .collect();
        }
        let at = self.push(scope);
        self.condition(at, s.where_clause.as_deref(), &ctes);
        // The joins' ON conditions, noted while walking FROM.
        for q in &quals {
            self.condition(at, Some(q), &ctes);
        }
        for t in &s.target_list {
            self.sublinks(at, t, &ctes);
        }
    }

    fn table(&mut self, scope: &mut Scope, r: &RangeVar, ctes: &[String]) {
        if r.schemaname.is_empty() && ctes.contains(&r.relname) {
            return;
        }
        let alias = r.alias.as_ref().map(|a| a.aliasname.clone());
        scope.tables.push((
            Relation {
                schema: (!r.schemaname.is_empty()).then(|| r.schemaname.clone()),
                name: r.relname.clone(),
            },
            alias,
        ));
    }

    /// A FROM item: its tables on `scope`, its joins' ON conditions in `quals`.
    fn from(&mut self, scope: &mut Scope, quals: &mut Vec<Node>, n: &Node, ctes: &[String]) {
        match &n.node {
            Some(NodeEnum::RangeVar(r)) => self.table(scope, r, ctes),
            Some(NodeEnum::JoinExpr(j)) => self.join(scope, quals, j, ctes),
            Some(NodeEnum::RangeSubselect(r)) => {
                if let Some(NodeEnum::SelectStmt(s)) =
                    r.subquery.as_deref().and_then(|n| n.node.as_ref())
                {
                    self.select(s, None, ctes);
                }
            }
            _ => {}
        }
    }

    fn join(&mut self, scope: &mut Scope, quals: &mut Vec<Node>, j: &JoinExpr, ctes: &[String]) {
        for side in [&j.larg, &j.rarg].into_iter().flatten() {
            self.from(scope, quals, side, ctes);
        }
        scope
            .using
            .extend(j.using_clause.iter().filter_map(|u| match &u.node {
                Some(NodeEnum::String(s)) => Some(s.sval.clone()),
                _ => None,
            }));
        if let Some(q) = &j.quals {
            quals.push((**q).clone());
        }
    }

    /// The predicates of a WHERE or ON condition: the AND-ed terms only (an OR is not one
    /// index's job); subqueries anywhere become levels of their own.
    fn condition(&mut self, at: usize, n: Option<&Node>, ctes: &[String]) {
        let Some(n) = n else { return };
        match &n.node {
            Some(NodeEnum::BoolExpr(b)) if b.boolop == BoolExprType::AndExpr as i32 => {
                for a in &b.args {
                    self.condition(at, Some(a), ctes);
                }
            }
            Some(NodeEnum::AExpr(e)) => {
                let op = operator(&e.name);
                let l = e.lexpr.as_deref();
                let r = e.rexpr.as_deref();
                let kind = e.kind;
                let want = if kind == AExprKind::AexprOp as i32 {
                    match op.as_str() {
                        "=" => Some(Want::Equality),
                        "<" | "<=" | ">" | ">=" => Some(Want::Range),
                        _ => None,
                    }
                } else if (kind == AExprKind::AexprIn as i32
                    || kind == AExprKind::AexprOpAny as i32)
                    && op == "="
                {
                    Some(Want::Equality)
                } else if kind == AExprKind::AexprBetween as i32
                    || kind == AExprKind::AexprBetweenSym as i32
                {
                    Some(Want::Range)
                } else {
                    None
                };
                if let Some(want) = want {
                    self.compare(at, l, r, want, kind == AExprKind::AexprOp as i32);
                }
                for side in [l, r].into_iter().flatten() {
                    self.sublinks(at, side, ctes);
                }
            }
            Some(NodeEnum::NullTest(t)) if t.nulltesttype == NullTestType::IsNull as i32 => {
                if let Some(c) = t.arg.as_deref().and_then(column) {
                    self.scopes[at].preds.push(Pred {
                        col: c,
                        want: Want::Equality,
                    });
                }
            }
            Some(NodeEnum::SubLink(s)) => {
                // `col IN (SELECT x …)`: a join key on both sides.
                if s.sub_link_type == SubLinkType::AnySublink as i32
                    && let Some(c) = s.testexpr.as_deref().and_then(column)
                {
                    self.scopes[at].preds.push(Pred {
                        col: c,
                        want: Want::Join,
                    });
                }
                self.sublinks(at, n, ctes);
            }
            _ => self.sublinks(at, n, ctes),
        }
    }

    /// `l op r`: a column against a value, or against another table's column (a join; only
    /// for plain operators).
    fn compare(&mut self, at: usize, l: Option<&Node>, r: Option<&Node>, want: Want, plain: bool) {
        let (lc, rc) = (l.and_then(column), r.and_then(column));
        let (lv, rv) = (l.is_some_and(is_value), r.is_some_and(is_value));
        let preds = &mut self.scopes[at].preds;
        match (lc, rc) {
            (Some(a), Some(b)) if plain && want == Want::Equality => {
                preds.push(Pred {
                    col: a,
                    want: Want::Join,
                });
                preds.push(Pred {
                    col: b,
                    want: Want::Join,
                });
            }
            (Some(a), None) if rv => preds.push(Pred { col: a, want }),
            (None, Some(b)) if lv && plain => preds.push(Pred { col: b, want }),
            _ => {}
        }
    }

    /// Subqueries inside an expression, as levels under `at`.
    fn sublinks(&mut self, at: usize, n: &Node, ctes: &[String]) {
        let mut found: Vec<(SelectStmt, bool)> = Vec::new();
        collect_sublinks(n, &mut found);
        for (s, any) in found {
            let before = self.scopes.len();
            self.select(&s, Some(at), ctes);
            // `IN (SELECT x FROM t)`: x is t's join key.
            if any
                && let Some(scope) = self.scopes.get_mut(before)
                && let Some(c) = s.target_list.first().and_then(|t| match &t.node {
                    Some(NodeEnum::ResTarget(r)) => r.val.as_deref().and_then(column),
                    _ => None,
                })
            {
                scope.preds.push(Pred {
                    col: c,
                    want: Want::Join,
                });
            }
        }
    }
}

/// Every subquery under `n` (not descending into the subqueries themselves), and whether it is
/// an `IN (SELECT …)` / `= ANY (SELECT …)`.
fn collect_sublinks(n: &Node, out: &mut Vec<(SelectStmt, bool)>) {
    match &n.node {
        Some(NodeEnum::SubLink(s)) => {
            if let Some(NodeEnum::SelectStmt(sel)) =
                s.subselect.as_deref().and_then(|n| n.node.as_ref())
            {
                out.push((
                    (**sel).clone(),
                    s.sub_link_type == SubLinkType::AnySublink as i32,
                ));
            }
            if let Some(t) = s.testexpr.as_deref() {
                collect_sublinks(t, out);
            }
        }
        Some(NodeEnum::BoolExpr(b)) => b.args.iter().for_each(|a| collect_sublinks(a, out)),
        Some(NodeEnum::AExpr(e)) => {
            for side in [&e.lexpr, &e.rexpr].into_iter().flatten() {
                collect_sublinks(side, out);
            }
        }
        Some(NodeEnum::ResTarget(r)) => {
            if let Some(v) = r.val.as_deref() {
                collect_sublinks(v, out);
            }
        }
        Some(NodeEnum::FuncCall(f)) => f.args.iter().for_each(|a| collect_sublinks(a, out)),
        Some(NodeEnum::TypeCast(t)) => {
            if let Some(a) = t.arg.as_deref() {
                collect_sublinks(a, out);
            }
        }
        Some(NodeEnum::CoalesceExpr(c)) => c.args.iter().for_each(|a| collect_sublinks(a, out)),
        Some(NodeEnum::List(l)) => l.items.iter().for_each(|a| collect_sublinks(a, out)),
        _ => {}
    }
}

/// The operator's name (`=`, `<`, …), schema-qualified or not.
fn operator(name: &[Node]) -> String {
    match name.last().and_then(|n| n.node.as_ref()) {
        Some(NodeEnum::String(s)) => s.sval.clone(),
        _ => String::new(),
    }
}

/// A plain column reference (not an expression over it: `lower(a)` or `a::date` cannot use a
/// plain index on `a`).
fn column(n: &Node) -> Option<ColRef> {
    let Some(NodeEnum::ColumnRef(c)) = &n.node else {
        return None;
    };
    let names: Vec<&str> = c
        .fields
        .iter()
        .map(|f| match &f.node {
            Some(NodeEnum::String(s)) => Some(s.sval.as_str()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    match names.as_slice() {
        [name] => Some(ColRef {
            qualifier: None,
            name: (*name).to_owned(),
        }),
        [.., q, name] => Some(ColRef {
            qualifier: Some((*q).to_owned()),
            name: (*name).to_owned(),
        }),
        [] => None,
    }
}

/// A value for the level: constants, parameters, and expressions of them (a cast, a function
/// of values, arithmetic, an array or list of values). A column is not a value.
fn is_value(n: &Node) -> bool {
    match &n.node {
        Some(NodeEnum::ParamRef(_) | NodeEnum::AConst(_) | NodeEnum::SqlvalueFunction(_)) => true,
        Some(NodeEnum::TypeCast(t)) => t.arg.as_deref().is_some_and(is_value),
        Some(NodeEnum::FuncCall(f)) => f.args.iter().all(is_value),
        Some(NodeEnum::AExpr(e)) => [&e.lexpr, &e.rexpr]
            .into_iter()
            .flatten()
            .all(|x| is_value(x)),
        Some(NodeEnum::List(l)) => l.items.iter().all(is_value),
        Some(NodeEnum::AArrayExpr(a)) => a.elements.iter().all(is_value),
        _ => false,
    }
}

/// A table's columns, as the catalog gives them.
pub trait Columns {
    fn has(&self, relation: &Relation, column: &str) -> bool;
}

impl Columns for HashMap<Relation, Vec<String>> {
    fn has(&self, relation: &Relation, column: &str) -> bool {
        self.get(relation)
            .is_some_and(|c| c.iter().any(|x| x == column))
    }
}

/// What one statement asks of one table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableUse {
    pub relation: Relation,
    pub equality: Vec<String>,
    pub range: Vec<String>,
    pub join: Vec<String>,
    pub order: Vec<String>,
    pub updated: Vec<String>,
}

impl TableUse {
    fn add(list: &mut Vec<String>, c: &str) {
        if !list.iter().any(|x| x == c) {
            list.push(c.to_owned());
        }
    }
}

/// Places every predicate on the table it is about: a qualified column on the table or alias
/// of that name (this level, then the enclosing ones); a bare column on the one table of the
/// level that has it (then the enclosing levels). A column no table claims is left out.
pub fn resolve(parsed: &Parsed, columns: &impl Columns) -> Vec<TableUse> {
    let mut uses: Vec<TableUse> = Vec::new();
    let slot = |uses: &mut Vec<TableUse>, r: &Relation| -> usize {
        match uses.iter().position(|u| &u.relation == r) {
            Some(i) => i,
            None => {
                uses.push(TableUse {
                    relation: r.clone(),
                    ..TableUse::default()
                });
                uses.len() - 1
            }
        }
    };
    for (at, scope) in parsed.scopes.iter().enumerate() {
        for (r, _) in &scope.tables {
            slot(&mut uses, r);
        }
        let place = |c: &ColRef| -> Option<Relation> {
            let mut level = Some(at);
            while let Some(l) = level {
                let s = &parsed.scopes[l];
                let found: Vec<&Relation> = s
                    .tables
                    .iter()
                    .filter(|(r, alias)| match &c.qualifier {
                        Some(q) => alias.as_ref().map_or(&r.name == q, |a| a == q),
                        None => columns.has(r, &c.name),
                    })
                    .map(|(r, _)| r)
                    .collect();
                match found.as_slice() {
                    [one] => return (l == at).then(|| (*one).clone()),
                    [] => level = s.outer,
                    _ => return None,
                }
            }
            None
        };
        // A correlated `o.customer_id = c.id` in EXISTS (… o …) under FROM c: the inner
        // column is a join key of this level; the outer one belongs to the enclosing level.
        for p in &scope.preds {
            if let Some(r) = place(&p.col) {
                let i = slot(&mut uses, &r);
                let u = &mut uses[i];
                let list = match p.want {
                    Want::Equality => &mut u.equality,
                    Want::Range => &mut u.range,
                    Want::Join => &mut u.join,
                };
                TableUse::add(list, &p.col.name);
            }
        }
        for c in &scope.using {
            for (r, _) in &scope.tables {
                if columns.has(r, c) {
                    let i = slot(&mut uses, r);
                    TableUse::add(&mut uses[i].join, c);
                }
            }
        }
        for c in &scope.order {
            if let Some(r) = place(c) {
                let i = slot(&mut uses, &r);
                TableUse::add(&mut uses[i].order, &c.name);
            }
        }
        if let Some((r, _)) = scope.tables.first() {
            for c in &scope.updated {
                let i = slot(&mut uses, r);
                TableUse::add(&mut uses[i].updated, c);
            }
        }
    }
    for u in &mut uses {
        // A column compared with a value and joined is an equality column.
        let eq = u.equality.clone();
        u.join.retain(|c| !eq.contains(c));
        let keys: Vec<String> = u.equality.iter().chain(&u.join).cloned().collect();
        u.range.retain(|c| !keys.contains(c));
    }
    uses
}
