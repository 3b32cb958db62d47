//! Password hashing: argon2id with parameters at least OWASP's minimum (19 MiB, 2 passes, 1 lane),
//! stored in the PHC string so they can rise later (a login with an older hash rehashes it).
//!
//! Hashing is CPU- and memory-heavy (m KiB per hash), so it never runs on the async runtime nor
//! on its open-ended blocking pool: a fixed set of `threads` dedicated hashing threads takes jobs
//! from a queue. Each thread allocates its argon2 block memory once and reuses it for every hash
//! (no 19 MiB allocation per sign-in for the allocator to fragment), so memory stays at
//! `threads` × m KiB however many sign-ins arrive; at most `max_queued` wait, and beyond that
//! callers get "busy" at once instead of piling up.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use std::cell::RefCell;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use tokio::sync::{OnceCell, oneshot};

/// Memory cost in KiB, passes, lanes: the floor this project never goes below.
pub const MIN_M_KIB: u32 = 19_456;
pub const MIN_T: u32 = 2;
pub const MIN_P: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("too many sign-ins are being checked right now")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// The result of checking a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    pub ok: bool,
    /// The stored hash used weaker parameters than today's: store a new one.
    pub needs_rehash: bool,
}

type Job = Box<dyn FnOnce() + Send>;

thread_local! {
    /// The hashing thread's argon2 working memory, reused while sign-ins keep coming and given
    /// back after [`RELEASE_AFTER`] without one.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// A hashing thread that has had nothing to do this long returns its 19 MiB to the system
/// (`pgpanel bench` reads idle memory after 10 s); the next sign-in maps it again, a few
/// milliseconds next to the hash itself.
const RELEASE_AFTER: Duration = Duration::from_secs(5);

/// The next job for a hashing thread; `None` once the hasher is gone. Waits at most
/// [`RELEASE_AFTER`] with the working memory held.
fn next_job(rx: &mpsc::Receiver<Job>) -> Option<Job> {
    match rx.recv_timeout(RELEASE_AFTER) {
        Ok(job) => Some(job),
        Err(RecvTimeoutError::Timeout) => {
            BLOCKS.with_borrow_mut(|blocks| *blocks = Vec::new());
            rx.recv().ok()
        }
        Err(RecvTimeoutError::Disconnected) => None,
    }
}

/// Runs argon2 with this thread's reusable block memory; `out.len()` is the hash length.
fn argon2_into(
    argon: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> bool {
    BLOCKS.with_borrow_mut(|blocks| {
        let needed = params.block_count();
        if blocks.len() < needed {
            blocks.resize(needed, Block::new());
        }
        argon
            .hash_password_into_with_memory(password, salt, out, &mut blocks[..needed])
            .is_ok()
    })
}

/// A new PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
fn phc(params: &Params, password: &[u8]) -> Result<String, HashError> {
    let failed = |e: &dyn std::fmt::Display| HashError::Failed(e.to_string());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0_u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(|e| failed(&e))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0_u8; Params::DEFAULT_OUTPUT_LEN];
    if !argon2_into(&argon, params, password, salt_bytes, &mut out) {
        return Err(HashError::Failed("argon2 refused its input".into()));
    }
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(hash.to_string())
}

/// Checks `password` against a PHC string (any argon2 variant and parameters); the comparison
/// of the outputs is constant-time.
fn matches(stored: &PasswordHash<'_>, password: &[u8]) -> bool {
    let (Ok(params), Ok(algorithm), Some(salt), Some(expected)) = (
        Params::try_from(stored),
        Algorithm::try_from(stored.algorithm),
        stored.salt,
        stored.hash,
    ) else {
        return false;
    };
    let version = match stored.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let mut salt_buf = [0_u8; 64];
    let Ok(salt_bytes) = Salt::decode_b64(&salt, &mut salt_buf) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0_u8; expected.len()];
    argon2_into(&argon, &params, password, salt_bytes, &mut out)
        && Output::new(&out).is_ok_and(|o| o == expected)
}

#[derive(Debug)]
pub struct PasswordHasher {
    params: Params,
    jobs: Mutex<mpsc::Sender<Job>>,
    /// Jobs queued or running.
    queued: Arc<AtomicUsize>,
    max_queued: usize,
    dummy: OnceCell<String>,
}

impl PasswordHasher {
    /// `m_kib`, `t`, `p` below the floor are raised to it. Starts `threads` hashing threads,
    /// which end when the hasher is dropped.
    pub fn new(m_kib: u32, t: u32, p: u32, threads: usize) -> Result<Self, HashError> {
        let params = Params::new(m_kib.max(MIN_M_KIB), t.max(MIN_T), p.max(MIN_P), None)
            .map_err(|e| HashError::Failed(e.to_string()))?;
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("pgpanel-hash-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(rx) => next_job(&rx),
                            Err(_) => return,
                        };
                        match job {
                            Some(job) => job(),
                            None => return,
                        }
                    }
                })
                .map_err(|e| HashError::Failed(e.to_string()))?;
        }
        Ok(Self {
            params,
            jobs: Mutex::new(tx),
            queued: Arc::new(AtomicUsize::new(0)),
            max_queued: 1024,
            dummy: OnceCell::new(),
        })
    }

    /// The floor parameters on one hashing thread: about 50 sign-ins a second, far more than a
    /// team of DBAs needs, for 19 MiB of memory held while sign-ins arrive (each further thread
    /// holds 19 MiB more meanwhile).
    pub fn standard() -> Result<Self, HashError> {
        Self::new(MIN_M_KIB, MIN_T, MIN_P, 1)
    }

    /// Runs `work` on a hashing thread; waits without blocking the runtime.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        if self.queued.fetch_add(1, Ordering::SeqCst) >= self.max_queued {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(HashError::Busy);
        }
        let (done, result) = oneshot::channel();
        let queued = Arc::clone(&self.queued);
        let job: Job = Box::new(move || {
            let _ = done.send(work());
            queued.fetch_sub(1, Ordering::SeqCst);
        });
        let sent = self
            .jobs
            .lock()
            .map_err(|_| HashError::Failed("hashing threads are gone".into()))?
            .send(job);
        if sent.is_err() {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(HashError::Failed("hashing threads are gone".into()));
        }
        result
            .await
            .map_err(|_| HashError::Failed("a hashing thread stopped".into()))
    }

    /// A new PHC string for `password`.
    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let params = self.params.clone();
        let password = password.to_owned();
        self.run(move || phc(&params, password.as_bytes())).await?
    }

    /// The hash unknown users are checked against. Made once; the server makes it at start so
    /// that not even the first unknown user answers at a different speed.
    pub async fn dummy(&self) -> Result<String, HashError> {
        self.dummy
            .get_or_try_init(|| self.hash("pgpanel dummy password, never valid"))
            .await
            .cloned()
    }

    /// Checks `password` against `stored`, or against a dummy hash when there is no such user,
    /// so that both cases cost the same time.
    pub async fn verify(
        &self,
        password: &str,
        stored: Option<&str>,
    ) -> Result<Verified, HashError> {
        let real = stored.is_some();
        let stored = match stored {
            Some(s) => s.to_owned(),
            None => self.dummy().await?,
        };
        let password = password.to_owned();
        let floor = (
            self.params.m_cost(),
            self.params.t_cost(),
            self.params.p_cost(),
        );
        let verified = self
            .run(move || {
                let Ok(parsed) = PasswordHash::new(&stored) else {
                    return Verified {
                        ok: false,
                        needs_rehash: false,
                    };
                };
                let ok = matches(&parsed, password.as_bytes());
                let weaker = parsed.algorithm.as_str() != "argon2id"
                    || Params::try_from(&parsed).map_or(true, |p| {
                        p.m_cost() < floor.0 || p.t_cost() < floor.1 || p.p_cost() < floor.2
                    });
                Verified {
                    ok,
                    needs_rehash: ok && weaker,
                }
            })
            .await?;
        Ok(Verified {
            ok: verified.ok && real,
            needs_rehash: verified.needs_rehash && real,
        })
    }
}

/// Shared by the app state and the CLI.
pub type SharedHasher = Arc<PasswordHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_working_memory_is_kept_between_sign_ins_and_given_back_when_idle() {
        let hasher = PasswordHasher::standard().expect("hasher");
        hasher.hash("first").await.expect("hash");
        let held = || hasher.run(|| BLOCKS.with_borrow(Vec::len));
        let blocks = Params::new(MIN_M_KIB, MIN_T, MIN_P, None)
            .expect("params")
            .block_count();
        assert_eq!(held().await.expect("run"), blocks);
        tokio::time::sleep(RELEASE_AFTER + Duration::from_millis(500)).await;
        assert_eq!(held().await.expect("run"), 0);
        // And the next sign-in works as before.
        let stored = hasher.hash("again").await.expect("hash");
        assert!(
            hasher
                .verify("again", Some(&stored))
                .await
                .expect("verify")
                .ok
        );
    }

    #[tokio::test]
    async fn hashes_verify_and_weaker_ones_are_upgraded() {
        let strong = PasswordHasher::new(MIN_M_KIB, MIN_T, MIN_P, 2).expect("hasher");
        let hash = strong.hash("correct horse battery").await.expect("hash");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        let v = strong
            .verify("correct horse battery", Some(&hash))
            .await
            .expect("verify");
        assert_eq!(
            v,
            Verified {
                ok: true,
                needs_rehash: false
            }
        );
        assert!(
            !strong
                .verify("correct horse batter", Some(&hash))
                .await
                .expect("v")
                .ok
        );
        // No user: never valid, whatever the password.
        assert!(
            !strong
                .verify("pgpanel dummy password, never valid", None)
                .await
                .expect("v")
                .ok
        );

        // Parameters raised since the hash was made: the next good login stores a new one.
        let stronger = PasswordHasher::new(MIN_M_KIB * 2, 3, 1, 2).expect("hasher");
        let v = stronger
            .verify("correct horse battery", Some(&hash))
            .await
            .expect("verify");
        assert_eq!(
            v,
            Verified {
                ok: true,
                needs_rehash: true
            }
        );
        // A wrong password never asks for a rehash; garbage never verifies.
        let v = stronger
            .verify("nope nope nope", Some(&hash))
            .await
            .expect("v");
        assert_eq!(
            v,
            Verified {
                ok: false,
                needs_rehash: false
            }
        );
        assert!(
            !strong
                .verify("x", Some("not a phc string"))
                .await
                .expect("v")
                .ok
        );
    }

    #[tokio::test]
    async fn hashes_agree_with_the_reference_implementation() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let h = PasswordHasher::new(MIN_M_KIB, MIN_T, MIN_P, 1).expect("hasher");
        let ours = h.hash("same password here").await.expect("hash");
        let parsed = PasswordHash::new(&ours).expect("phc");
        assert!(
            Argon2::default()
                .verify_password(b"same password here", &parsed)
                .is_ok()
        );
        // A hash made by the reference code, with other parameters, verifies here (and asks to
        // be upgraded: t=1 is below the floor).
        let salt = SaltString::generate(&mut OsRng);
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(MIN_M_KIB, 1, 1, None).expect("params"),
        )
        .hash_password(b"same password here", &salt)
        .expect("reference hash")
        .to_string();
        let v = h
            .verify("same password here", Some(&weak))
            .await
            .expect("v");
        assert_eq!(
            v,
            Verified {
                ok: true,
                needs_rehash: true
            }
        );
        assert!(
            !h.verify("same password her", Some(&weak))
                .await
                .expect("v")
                .ok
        );
        // argon2i is accepted too, and always upgraded to argon2id.
        let old = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::default())
            .hash_password(b"same password here", &salt)
            .expect("argon2i")
            .to_string();
        let v = h.verify("same password here", Some(&old)).await.expect("v");
        assert_eq!(
            v,
            Verified {
                ok: true,
                needs_rehash: true
            }
        );
    }

    #[tokio::test]
    async fn long_unicode_passwords_are_not_truncated() {
        let h = PasswordHasher::new(MIN_M_KIB, MIN_T, MIN_P, 2).expect("hasher");
        let long: String = "pässwörd—🔑".repeat(40);
        let hash = h.hash(&long).await.expect("hash");
        assert!(h.verify(&long, Some(&hash)).await.expect("v").ok);
        let mut cut = long.clone();
        cut.pop();
        assert!(!h.verify(&cut, Some(&hash)).await.expect("v").ok);
    }
}
