//! What pgpanel's pages cost it once they are open, measured in a real browser (Debian's
//! Chromium driven by `end2end/bench/page-requests.mjs`, playwright-core from end2end/):
//! - every page as a first visit on a throttled link (10 Mbit/s, 40 ms round trip, CPU 4x
//!   slower), three visits each: time from navigation to hydration of the median one (budget:
//!   1 s) and of the slowest, where the time went, and the wasm + JS + CSS bytes
//!   fetched, as sent (budget: 400 KB);
//! - requests per second of every page after hydration, the live stream aside (budget: 2);
//! - pgpanel's CPU (utime + stime of `pgpanel serve`) with one Queries tab open, against none
//!   (budget: 2 % of a core).
//!
//! Skipped, with the reason, where node, the script or Chromium is missing.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use super::{BenchError, setup};

/// The script, relative to the working directory (the repository, as `.ci/` runs it).
const SCRIPT: &str = "end2end/bench/page-requests.mjs";

/// utime + stime of `pid` in seconds (/proc reports clock ticks: USER_HZ, 100 on Linux).
pub(super) fn cpu_seconds(pid: u32) -> Result<f64, BenchError> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| setup("reading CPU time", "odd /proc/PID/stat"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| -> Result<f64, BenchError> {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .ok_or_else(|| setup("reading CPU time", "no utime/stime in /proc/PID/stat"))
    };
    // Fields 14 and 15 of the line; 12 and 13 counted from the state (field 3).
    Ok((tick(11)? + tick(12)?) / 100.0)
}

async fn node(args: &[&str]) -> Result<String, BenchError> {
    let out = tokio::process::Command::new("node")
        .arg(SCRIPT)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .await?;
    if !out.status.success() {
        return Err(setup("the browser script", format!("exit {}", out.status)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Every page as a first visit on the throttled link: time to hydration and bytes fetched.
async fn first_load(base: &str, user: &str, password: &str) -> Result<(), BenchError> {
    let answer = node(&["first-load", base, user, password]).await?;
    let pages: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&answer).map_err(|e| setup("the browser script's answer", e))?;
    let field = |v: &serde_json::Value, k: &str| v.get(k).and_then(serde_json::Value::as_f64);
    let list: Vec<String> = pages
        .iter()
        .map(|(page, v)| {
            format!(
                "{page} {:.0} ms, slowest {:.0} (wasm in at {:.0}, started {:.0}, page parsed {:.0}) / {:.0} KB",
                field(v, "ms").unwrap_or(f64::NAN),
                field(v, "worstMs").unwrap_or(f64::NAN),
                field(v, "wasmMs").unwrap_or(f64::NAN),
                field(v, "readyMs").unwrap_or(f64::NAN),
                field(v, "parsedMs").unwrap_or(f64::NAN),
                field(v, "bytes").unwrap_or(f64::NAN) / 1024.0
            )
        })
        .collect();
    let worst = |k: &str| {
        pages
            .values()
            .filter_map(|v| field(v, k))
            .fold(0.0_f64, f64::max)
    };
    println!(
        "  first visit      throttled (10 Mbit/s, 40 ms RTT, CPU x4), navigation to hydration, median of 3 visits / wasm+JS+CSS as sent (budgets: 1,000 ms, 400 KB): {}; worst median {:.0} ms, slowest visit {:.0} ms, {:.0} KB",
        list.join(", "),
        worst("ms"),
        worst("worstMs"),
        worst("bytes") / 1024.0
    );
    Ok(())
}

pub async fn run(
    addr: &str,
    user: &str,
    password: &str,
    pid: u32,
    page_seconds: u64,
) -> Result<(), BenchError> {
    if !Path::new(SCRIPT).exists() || !Path::new("/usr/bin/chromium").exists() {
        println!(
            "  pages            skipped: needs {SCRIPT} (run from the repository) and /usr/bin/chromium"
        );
        return Ok(());
    }
    let base = format!("http://{addr}");
    first_load(&base, user, password).await?;
    let secs = page_seconds.to_string();
    let rates = node(&["rates", &base, user, password, &secs]).await?;
    let rates: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&rates).map_err(|e| setup("the browser script's answer", e))?;
    let worst = rates
        .values()
        .filter_map(serde_json::Value::as_f64)
        .fold(0.0_f64, f64::max);
    let list: Vec<String> = rates
        .iter()
        .map(|(page, r)| format!("{page} {:.1}", r.as_f64().unwrap_or(0.0)))
        .collect();
    println!(
        "  page requests/s  after hydration, live stream aside, over {page_seconds} s each (budget: 2): {}; worst {worst:.1}",
        list.join(", ")
    );

    // pgpanel's CPU: 20 s with no page open, then 20 s of the middle of a 30 s Queries tab.
    let window = Duration::from_secs(20);
    let before = cpu_seconds(pid)?;
    tokio::time::sleep(window).await;
    let idle = (cpu_seconds(pid)? - before) / window.as_secs_f64();
    let hold = tokio::spawn({
        let base = base.clone();
        let (user, password) = (user.to_owned(), password.to_owned());
        async move { node(&["hold", &base, &user, &password, "30", "/queries"]).await }
    });
    tokio::time::sleep(Duration::from_secs(7)).await;
    let before = cpu_seconds(pid)?;
    tokio::time::sleep(window).await;
    let with_tab = (cpu_seconds(pid)? - before) / window.as_secs_f64();
    hold.await.map_err(|e| setup("the browser script", e))??;
    println!(
        "  Queries tab CPU  pgpanel {:.2} % of a core with one Queries tab open, {:.2} % with none (budget: 2 %)",
        with_tab * 100.0,
        idle * 100.0
    );
    Ok(())
}
