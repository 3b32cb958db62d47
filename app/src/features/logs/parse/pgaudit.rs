//! pgaudit records: a message `AUDIT: <type>,<statement id>,<substatement id>,<class>,<command>,
//! <object type>,<object name>,<statement>,<parameter>[,<rows>]`, fields CSV-quoted only when
//! they hold a comma, a quote or a line break. `<not logged>`, `<previously logged>` and
//! `<none>` stand for texts pgaudit did not write.

use super::csv::fields;
use crate::features::logs::model::AuditFields;

/// pgaudit's fields, when `message` is one of its records.
pub fn parse(message: &str) -> Option<AuditFields> {
    let rest = message.strip_prefix("AUDIT: ")?;
    let f = fields(rest);
    if f.len() < 9 {
        return None;
    }
    let get = |i: usize| f.get(i).cloned().flatten();
    let logged = |i: usize| {
        get(i).filter(|s| {
            !matches!(
                s.as_str(),
                "<not logged>" | "<previously logged>" | "<none>"
            )
        })
    };
    let audit_type = get(0)?;
    if audit_type != "SESSION" && audit_type != "OBJECT" {
        return None;
    }
    Some(AuditFields {
        audit_type,
        statement_id: get(1).and_then(|s| s.parse().ok()),
        substatement_id: get(2).and_then(|s| s.parse().ok()),
        class: get(3).unwrap_or_default(),
        command: get(4).unwrap_or_default(),
        object_type: get(5),
        object_name: get(6),
        statement: logged(7).map(|s| super::untab(&s)),
        parameter: logged(8),
        rows: get(9).and_then(|s| s.parse().ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_as_pgaudit_writes_them() {
        let a = parse(
            "AUDIT: OBJECT,3,1,READ,SELECT,TABLE,public.account,\"select password, id from account;\",<none>",
        )
        .unwrap();
        assert_eq!(a.audit_type, "OBJECT");
        assert_eq!(a.statement_id, Some(3));
        assert_eq!(a.class, "READ");
        assert_eq!(a.object_name.as_deref(), Some("public.account"));
        assert_eq!(
            a.statement.as_deref(),
            Some("select password, id from account;")
        );
        assert_eq!(a.parameter, None);
        let b = parse("AUDIT: SESSION,7,1,DDL,CREATE TABLE,TABLE,\"public.\"\"Odd, name\"\"\",\"create table \"\"Odd, name\"\" (id int\n\t)\",<not logged>,0").unwrap();
        assert_eq!(b.object_name.as_deref(), Some("public.\"Odd, name\""));
        assert_eq!(
            b.statement.as_deref(),
            Some("create table \"Odd, name\" (id int\n)")
        );
        assert_eq!(b.rows, Some(0));
        let c = parse("AUDIT: SESSION,2,1,ROLE,GRANT,,,<previously logged>,<previously logged>")
            .unwrap();
        assert_eq!(c.object_type, None);
        assert_eq!(c.statement, None);
        assert!(parse("AUDIT: nonsense").is_none());
        assert!(parse("checkpoint starting").is_none());
    }
}
