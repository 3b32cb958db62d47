//! The demo's live workload on the `shop` database, each part a task that reconnects on error:
//! - `shop-api` (3 sessions): short TPC-B-like transactions, 1 in 20 rolled back;
//! - `shop-web`: index lookups, a search and a join that want an index each, and, every few
//!   seconds, a report over all orders;
//! - `event-worker`: updates and deletes in `events` (autovacuum off, so dead tuples pile up) and
//!   trims `history`;
//! - a lock chain every 60 s: `billing-batch` holds a row lock for 40 s (long enough for
//!   a DBA, or a test, to find the chain and end it), `web-checkout` (B) queues
//!   behind it while holding a lock of its own, another `web-checkout` (C) queues behind both,
//!   and `inventory-sync` (D) queues behind B;
//! - `report-export`: a session left idle in transaction (it also holds back vacuum);
//! - `shop-batch`: every 20 s a missing table and a duplicate key (errors for the Logs page) and a
//!   scratch table created, revoked and dropped (pgaudit DDL and ROLE records); an order placed,
//!   paid and sometimes cancelled by a named clerk (the application audit table);
//! - `pgpanel-export`: an ordinary client that names itself pgpanel (any role can); Activity
//!   marks it "claims to be pgpanel", and it can be ended like any other session.

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, Executor, PgConnection};
use tokio::task::JoinHandle;

pub struct Workload {
    tasks: Vec<JoinHandle<()>>,
}

const LOCK_CHAIN_EVERY: Duration = Duration::from_secs(60);
const LOCK_HOLD: Duration = Duration::from_secs(40);

impl Workload {
    pub fn start(url: String) -> Self {
        let mut tasks = Vec::new();
        for _ in 0..3 {
            tasks.push(forever("shop-api", &url, oltp));
        }
        tasks.push(forever("shop-web", &url, reader));
        tasks.push(forever("event-worker", &url, churn));
        tasks.push(forever("report-export", &url, idle_in_transaction));
        tasks.push(forever("pgpanel-export", &url, now_and_then));
        tasks.push(forever("shop-batch", &url, mistakes));
        tasks.push(tokio::spawn(lock_chains(url)));
        Self { tasks }
    }

    /// Ends every workload session (their connections close as the tasks drop).
    pub fn stop(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

async fn connect(url: &str, application: &str) -> sqlx::Result<PgConnection> {
    let opts: PgConnectOptions = url.parse()?;
    // Waiting on locks is this workload's job: no "slow statement" warnings for it.
    let opts = opts
        .application_name(application)
        .log_slow_statements(log::LevelFilter::Off, Duration::from_secs(1));
    PgConnection::connect_with(&opts).await
}

/// Runs `body` on a fresh connection again and again; errors (a terminated session, a restart)
/// only cause a reconnect a little later.
fn forever<F, Fut>(application: &'static str, url: &str, body: F) -> JoinHandle<()>
where
    F: Fn(PgConnection) -> Fut + Send + 'static,
    Fut: Future<Output = sqlx::Result<()>> + Send,
{
    let url = url.to_owned();
    tokio::spawn(async move {
        loop {
            let result = match connect(&url, application).await {
                Ok(conn) => body(conn).await,
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                tracing::debug!(application, error = %e, "demo workload session ended; reconnecting");
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    })
}

fn pause(min_ms: u64, max_ms: u64) -> Duration {
    Duration::from_millis(rand::thread_rng().gen_range(min_ms..=max_ms))
}

async fn oltp(mut conn: PgConnection) -> sqlx::Result<()> {
    loop {
        let (account, teller, delta, rollback) = {
            let mut rng = rand::thread_rng();
            (
                rng.gen_range(1..=10_000_i32),
                rng.gen_range(1..=100_i32),
                rng.gen_range(-500..=500_i32),
                rng.gen_ratio(1, 20),
            )
        };
        let mut tx = conn.begin().await?;
        sqlx::query("update accounts set balance = balance + $1, updated_at = now() where id = $2")
            .bind(delta)
            .bind(account)
            .execute(&mut *tx)
            .await?;
        sqlx::query("update tellers set balance = balance + $1 where id = $2")
            .bind(delta)
            .bind(teller)
            .execute(&mut *tx)
            .await?;
        sqlx::query("insert into history (account_id, teller_id, delta) values ($1, $2, $3)")
            .bind(account)
            .bind(teller)
            .bind(delta)
            .execute(&mut *tx)
            .await?;
        sqlx::query("select balance::float8 from accounts where id = $1")
            .bind(account)
            .fetch_one(&mut *tx)
            .await?;
        if rollback {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        tokio::time::sleep(pause(15, 60)).await;
    }
}

async fn reader(mut conn: PgConnection) -> sqlx::Result<()> {
    let mut n: u64 = 0;
    loop {
        n += 1;
        let customer = rand::thread_rng().gen_range(1..=10_000_i32);
        sqlx::query(
            "select count(*), coalesce(sum(total), 0)::float8 from orders where customer_id = $1",
        )
        .bind(customer)
        .fetch_one(&mut conn)
        .await?;
        sqlx::query("select owner, balance::float8 from accounts where id = $1")
            .bind(customer)
            .fetch_optional(&mut conn)
            .await?;
        // Both want an index (Advice, missing indexes): (tenant_id, queue) and shipments (order_id).
        sqlx::query("select count(*) from support_tickets where tenant_id = $1 and queue = $2")
            .bind(customer % 100)
            .bind((customer / 100) % 100)
            .fetch_one(&mut conn)
            .await?;
        sqlx::query(
            "select s.carrier, s.shipped_at from orders o join shipments s on s.order_id = o.id \
             where o.customer_id = $1",
        )
        .bind(customer)
        .fetch_all(&mut conn)
        .await?;
        if n.is_multiple_of(100) {
            sqlx::query(
                "select status, count(*), avg(total)::float8 from orders group by status order by status",
            )
            .fetch_all(&mut conn)
            .await?;
        }
        tokio::time::sleep(pause(20, 80)).await;
    }
}

async fn churn(mut conn: PgConnection) -> sqlx::Result<()> {
    let mut n: i64 = 0;
    loop {
        n += 1;
        sqlx::query("update events set processed = not processed where id % 200 = $1")
            .bind(n % 200)
            .execute(&mut conn)
            .await?;
        conn.execute(
            "delete from events where id in (select id from events order by id limit 20); \
             insert into events (kind, payload) select 'order', repeat('y', 120) \
             from generate_series(1, 20)",
        )
        .await?;
        if n % 30 == 0 {
            conn.execute("delete from history where at < now() - interval '10 minutes'")
                .await?;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// A cheap statement every 30 s.
async fn now_and_then(mut conn: PgConnection) -> sqlx::Result<()> {
    loop {
        conn.execute("select count(*) from accounts").await?;
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
}

/// Every 20 s two mistakes applications make (a table that is gone, a duplicate key: the Logs
/// page groups such errors by pattern) and a scratch table made and dropped (audited by pgaudit).
async fn mistakes(mut conn: PgConnection) -> sqlx::Result<()> {
    loop {
        let n = rand::thread_rng().gen_range(2019..2024);
        let _ = conn
            .execute(format!("select * from orders_{n} where id = 1").as_str())
            .await;
        let _ = conn
            .execute("insert into accounts (id, owner) values (1, 'duplicate')")
            .await;
        // A scratch table, its privileges and its removal: pgaudit's DDL and ROLE records.
        conn.execute(
            "create temporary table batch_scratch (id int); \
             revoke all on batch_scratch from public; drop table batch_scratch",
        )
        .await?;
        order_lifecycle(&mut conn).await?;
        tokio::time::sleep(Duration::from_secs(20)).await;
    }
}

/// An order placed, paid and sometimes cancelled (deleted), each by a named clerk: the
/// application audit table's inserts, updates and deletes.
async fn order_lifecycle(conn: &mut PgConnection) -> sqlx::Result<()> {
    const CLERKS: [&str; 3] = ["alice", "bob", "carol"];
    let (clerk, customer, cancel) = {
        let mut rng = rand::thread_rng();
        (
            CLERKS[rng.gen_range(0..CLERKS.len())],
            rng.gen_range(1..10_000),
            rng.gen_bool(0.3),
        )
    };
    let mut tx = conn.begin().await?;
    sqlx::query("select set_config('app.user', $1, true)")
        .bind(clerk)
        .execute(&mut *tx)
        .await?;
    let id: i64 = sqlx::query_scalar(
        "insert into orders (customer_id, status, note, total) \
         values ($1, 'new', 'batch order', 42.50) returning id",
    )
    .bind(customer)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("update orders set status = 'paid', total = 45.00 where id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if cancel {
        sqlx::query("delete from orders where id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

async fn idle_in_transaction(mut conn: PgConnection) -> sqlx::Result<()> {
    conn.execute("begin; select sum(balance) from accounts")
        .await?;
    // Holds the transaction until the session is ended from outside (or the demo stops);
    // a cheap check every minute notices a terminated session so it can come back.
    loop {
        tokio::time::sleep(Duration::from_secs(60)).await;
        if conn.ping().await.is_err() {
            return Ok(());
        }
    }
}

async fn lock_chains(url: String) {
    tokio::time::sleep(Duration::from_secs(10)).await;
    loop {
        if let Err(e) = lock_chain(&url).await {
            tracing::debug!(error = %e, "demo lock chain failed");
        }
        tokio::time::sleep(LOCK_CHAIN_EVERY.saturating_sub(LOCK_HOLD)).await;
    }
}

/// A (holder) ← B ← C, and B ← D: B both waits and blocks.
async fn lock_chain(url: &str) -> sqlx::Result<()> {
    let mut a = connect(url, "billing-batch").await?;
    a.execute("begin; update inventory set qty = qty - 1 where sku = 'A-100'")
        .await?;

    let b_url = url.to_owned();
    let b = tokio::spawn(async move {
        let mut b = connect(&b_url, "web-checkout").await?;
        b.execute(
            "begin; update inventory set qty = qty - 1 where sku = 'B-200'; \
             update inventory set qty = qty - 1 where sku = 'A-100'; commit",
        )
        .await
        .map(|_| ())
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let c = spawn_update(url, "web-checkout", "A-100");
    let d = spawn_update(url, "inventory-sync", "B-200");

    tokio::time::sleep(LOCK_HOLD).await;
    a.execute("commit").await?;
    for waiter in [b, c, d] {
        let _ = waiter.await;
    }
    Ok(())
}

fn spawn_update(
    url: &str,
    application: &'static str,
    sku: &'static str,
) -> JoinHandle<sqlx::Result<()>> {
    let url = url.to_owned();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut conn = connect(&url, application).await?;
        sqlx::query("update inventory set qty = qty - 1 where sku = $1")
            .bind(sku)
            .execute(&mut conn)
            .await?;
        Ok(())
    })
}
