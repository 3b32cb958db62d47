//! Where a setting is written (for error messages) and how a URL is shown without its password.

/// Replaces the password in a URL (userinfo or `password=` parameter) with `***`.
pub fn mask_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (base, query) = out.split_at(q + 1);
        let query = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&");
        out = format!("{base}{query}");
    }
    out
}

pub(super) fn line_of_offset(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The line where a key (`targets[1].id`) is written in the file, if it is.
pub(super) fn line_of_key(text: &str, key: &str) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut table: &dyn toml_edit::TableLike = doc.as_table();
    let mut item: Option<&toml_edit::Item> = None;
    let mut span = None;
    for part in key.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if let Some(it) = item {
            table = it.as_table_like()?;
        }
        let (k, it) = table.get_key_value(name)?;
        span = k.span().or_else(|| it.span());
        item = Some(it);
        if let Some(i) = index {
            match it {
                toml_edit::Item::ArrayOfTables(array) => {
                    let t = array.get(i)?;
                    span = t.span().or(span);
                    table = t;
                    item = None;
                }
                // A list of values (`allowed_hosts = ["a", "b"]`): the entry's own line.
                toml_edit::Item::Value(toml_edit::Value::Array(values)) => {
                    span = values.get(i)?.span().or(span);
                }
                _ => return None,
            }
        }
    }
    span.map(|s| line_of_offset(text, s.start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords_in_userinfo_and_parameters() {
        assert_eq!(
            mask_url("postgres://mon:s3cr%40t@db1:5432/postgres"),
            "postgres://mon:***@db1:5432/postgres"
        );
        assert_eq!(
            mask_url("postgres://mon@db1/postgres?sslmode=require&password=x"),
            "postgres://mon@db1/postgres?sslmode=require&password=***"
        );
        assert_eq!(
            mask_url("postgres://db1/postgres"),
            "postgres://db1/postgres"
        );
        assert_eq!(
            mask_url("sqlite:///var/lib/pgpanel/pgpanel.db"),
            "sqlite:///var/lib/pgpanel/pgpanel.db"
        );
    }

    #[test]
    fn finds_lines_of_nested_keys() {
        let text = "[http]\nlisten = \"x\"\n\n[[targets]]\nid = \"a\"\n\n[[targets]]\nid = \"b\"\n";
        assert_eq!(line_of_key(text, "http.listen"), Some(2));
        assert_eq!(line_of_key(text, "targets[0].id"), Some(5));
        assert_eq!(line_of_key(text, "targets[1].id"), Some(8));
        assert_eq!(line_of_key(text, "store.url"), None);
    }
}
