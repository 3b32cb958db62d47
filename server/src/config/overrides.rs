//! `PGPANEL__SECTION__KEY` environment overrides, applied on top of the file.

use super::ENV_PREFIX;

/// Sets the value an override names; returns its config path (`targets[0].id`).
pub(super) fn apply_override(
    root: &mut toml::Value,
    var: &str,
    raw: &str,
) -> Result<String, String> {
    let segments: Vec<String> = var[ENV_PREFIX.len()..]
        .split("__")
        .map(str::to_ascii_lowercase)
        .collect();
    if segments.iter().any(String::is_empty) {
        return Err("malformed name: expected PGPANEL__SECTION__KEY".into());
    }
    let mut path = String::new();
    let mut node = root;
    for (i, seg) in segments.iter().enumerate() {
        let last = i == segments.len() - 1;
        node = match node {
            toml::Value::Array(items) => {
                let index: usize = seg
                    .parse()
                    .map_err(|_| format!("`{path}` is a list: expected an index, got `{seg}`"))?;
                if index > items.len() {
                    return Err(format!(
                        "`{path}` has {} entries: index {index} would leave a gap",
                        items.len()
                    ));
                }
                if index == items.len() {
                    items.push(toml::Value::Table(toml::Table::new()));
                }
                path.push_str(&format!("[{index}]"));
                &mut items[index]
            }
            toml::Value::Table(table) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(seg);
                if last {
                    let converted = convert(raw, table.get(seg))?;
                    table.insert(seg.clone(), converted);
                    return Ok(path);
                }
                table
                    .entry(seg.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            }
            _ => return Err(format!("`{path}` is a single value, not a section")),
        };
    }
    Err("names a section, not a key".into())
}

/// An environment string as the type the key already has (all keys have a default or are text).
fn convert(raw: &str, like: Option<&toml::Value>) -> Result<toml::Value, String> {
    Ok(match like {
        Some(toml::Value::Boolean(_)) => toml::Value::Boolean(
            raw.parse()
                .map_err(|_| format!("expected true or false, got `{raw}`"))?,
        ),
        Some(toml::Value::Integer(_)) => toml::Value::Integer(
            raw.parse()
                .map_err(|_| format!("expected a whole number, got `{raw}`"))?,
        ),
        Some(toml::Value::Float(_)) => toml::Value::Float(
            raw.parse()
                .map_err(|_| format!("expected a number, got `{raw}`"))?,
        ),
        _ => toml::Value::String(raw.to_owned()),
    })
}
