//! Sign-in under load: latency at a steady 20 logins/s (open loop: a new login starts every
//! 50 ms whether or not the previous ones finished), and memory when 200 arrive at once (the
//! password hashing is bounded, so the peak stays flat instead of growing with the crowd).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{BenchError, mib, ms, setup};

/// One HTTP/1.1 request on a fresh connection; returns the status and the whole response.
pub async fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(u16, String), BenchError> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    head.push_str(body);
    stream.write_all(head.as_bytes()).await?;
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| setup("reading an answer", "no HTTP status"))?;
    Ok((status, text))
}

/// Signs in and returns the `Cookie` header value for the session.
pub async fn sign_in(addr: &str, user: &str, password: &str) -> Result<String, BenchError> {
    let origin = format!("http://{addr}");
    let body = format!("username={user}&password={}", password.replace(' ', "+"));
    let (status, text) = request(
        addr,
        "POST",
        "/api/auth/login",
        &[("Origin", &origin)],
        &body,
    )
    .await?;
    if status != 200 {
        return Err(setup("signing in", format!("status {status}")));
    }
    text.lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
        .ok_or_else(|| setup("signing in", "no session cookie"))
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len().saturating_sub(1)) as f64 * q).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

pub async fn run(
    addr: &str,
    user: &str,
    password: &str,
    pid: u32,
    seconds: u64,
) -> Result<(), BenchError> {
    // Steady load.
    let total = usize::try_from(seconds * 20).unwrap_or(300);
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let mut tasks = Vec::with_capacity(total);
    for _ in 0..total {
        tick.tick().await;
        let (addr, user, password) = (addr.to_owned(), user.to_owned(), password.to_owned());
        tasks.push(tokio::spawn(async move {
            let started = Instant::now();
            sign_in(&addr, &user, &password)
                .await
                .map(|_| started.elapsed())
        }));
    }
    let mut samples = Vec::with_capacity(total);
    for t in tasks {
        samples.push(t.await.map_err(|e| setup("a login task", e))??);
    }
    samples.sort();
    println!(
        "  login latency    median {:.1} ms, p95 {:.1} ms, max {:.1} ms at 20 logins/s over {} logins (budget: p95 300 ms)",
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.95)),
        ms(percentile(&samples, 1.0)),
        samples.len()
    );

    // A crowd at once.
    let before = super::rss_kib(pid)?;
    let started = Instant::now();
    let crowd: Vec<_> = (0..200)
        .map(|_| {
            let (addr, user, password) = (addr.to_owned(), user.to_owned(), password.to_owned());
            tokio::spawn(async move { sign_in(&addr, &user, &password).await })
        })
        .collect();
    let mut peak = before;
    let mut ok = 0;
    for t in crowd {
        while !t.is_finished() {
            peak = peak.max(super::rss_kib(pid)?);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if matches!(t.await, Ok(Ok(_))) {
            ok += 1;
        }
    }
    println!(
        "  200 logins at once  {ok} signed in within {:.1} s; RSS {} before, peak {} (budget: bounded)",
        started.elapsed().as_secs_f64(),
        mib(before * 1024),
        mib(peak * 1024),
    );
    Ok(())
}
