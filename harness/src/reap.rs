//! Cleaning up after owners that were killed outright (SIGKILL, a crashed CI job): their server is
//! stopped and their folder deleted by the next start. Clusters of live processes are never touched.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::DIR_PREFIX;

fn process_alive(pid: i32) -> bool {
    pid > 0 && kill(Pid::from_raw(pid), None).is_ok()
}

fn read_pid(path: &Path) -> Option<i32> {
    fs::read_to_string(path)
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
}

/// Removes clusters whose owning process is gone: stops their server and deletes their folder.
pub(super) fn reap_stale_clusters() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !entry.file_name().to_string_lossy().starts_with(DIR_PREFIX) || !path.is_dir() {
            continue;
        }
        let owner_alive = match read_pid(&path.join("owner.pid")) {
            Some(pid) => process_alive(pid),
            // Being created right now, or very old debris.
            None => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_none_or(|age| age < Duration::from_secs(120)),
        };
        if owner_alive {
            continue;
        }
        if let Some(postmaster) = read_pid(&path.join("data/postmaster.pid")) {
            // The pid may have been reused since: only signal a postgres process.
            let is_postgres = fs::read(format!("/proc/{postmaster}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("postgres"));
            if is_postgres && process_alive(postmaster) {
                let _ = kill(Pid::from_raw(postmaster), Signal::SIGQUIT);
                let deadline = Instant::now() + Duration::from_secs(5);
                while process_alive(postmaster) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o700));
        let _ = fs::remove_dir_all(&path);
    }
}
