//! Helpers for the catalog statements kept in `features/*/sql/*.sql`: the header comment is not
//! sent ([`body`]), and a statement is shown to people (and audited) exactly as it is sent, with
//! the values bound to it ([`shown`]). Compiled for the browser too: a confirmation shows the
//! statement before it runs.

/// The statement without its header comment: the comment documents the file, and need not be
/// sent to the target every second nor fill pg_stat_statements and pg_stat_activity.
pub fn body(sql: &'static str) -> &'static str {
    let mut rest = sql;
    while let Some(line_end) = rest.find('\n') {
        if !rest.trim_start().starts_with("--") {
            break;
        }
        rest = &rest[line_end + 1..];
    }
    rest
}

/// A text value as an SQL literal (for showing bound values; never sent).
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A text array as an SQL literal (for showing bound values; never sent).
pub fn text_array(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    literal(&format!("{{{}}}", quoted.join(",")))
}

/// The statement as sent (without its header) followed by the values bound to it, one comment
/// line per set of values (`-- $1 = 42, $2 = 'x'`): what the DBA sees before it runs and what
/// the audit trail records.
pub fn shown(sql: &'static str, values: &[Vec<String>]) -> String {
    let mut text = body(sql).trim_end().to_owned();
    for set in values {
        let list: Vec<String> = set
            .iter()
            .enumerate()
            .map(|(i, v)| format!("${} = {v}", i + 1))
            .collect();
        text.push_str("\n-- ");
        text.push_str(&list.join(", "));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_comment_is_not_sent() {
        let sql = body(include_str!("features/targets/sql/server_info.sql"));
        assert!(sql.starts_with("select"), "{sql}");
        assert_eq!(body("select 1"), "select 1");
        assert_eq!(body("-- a\n-- b\nselect 1 -- c\n"), "select 1 -- c\n");
    }

    #[test]
    fn shown_lists_the_bound_values() {
        let s = shown(
            "-- x\nselect $1, $2\n",
            &[
                vec!["7".into(), literal("it's")],
                vec!["8".into(), "null".into()],
            ],
        );
        assert_eq!(
            s,
            "select $1, $2\n-- $1 = 7, $2 = 'it''s'\n-- $1 = 8, $2 = null"
        );
        assert_eq!(
            text_array(&["a".into(), "b\"c".into()]),
            r#"'{"a","b\"c"}'"#
        );
    }
}
