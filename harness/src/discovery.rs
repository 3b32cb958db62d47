//! Where the PostgreSQL server binaries are.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub(super) fn has_server(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("postgres").is_file()
}

/// $PGPANEL_PG_BIN, then `pg_config --bindir`, then the newest /usr/lib/postgresql/*/bin, then PATH.
pub fn find_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PGPANEL_PG_BIN").map(PathBuf::from) {
        return has_server(&dir).then_some(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_server(&dir) {
            return Some(dir);
        }
    }
    let mut debian: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            has_server(&bin).then_some((version, bin))
        })
        .collect();
    debian.sort();
    if let Some((_, bin)) = debian.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .find(|d| has_server(d))
}

/// Whether the machine's server (`find_bin_dir`) has the shared library `name` (e.g. `pgaudit`)
/// to preload.
pub fn has_library(name: &str) -> bool {
    find_bin_dir()
        .and_then(|bin| {
            bin.parent()
                .map(|p| p.join("lib").join(format!("{name}.so")))
        })
        .is_some_and(|lib| lib.is_file())
}
