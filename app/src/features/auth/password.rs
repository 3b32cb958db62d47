//! Password hashing: argon2id with parameters at least OWASP's minimum (19 MiB, 2 passes, 1 lane),
//! stored in the PHC string so they can rise later (a login with an older hash rehashes it).
//! Hashing is CPU- and memory-heavy: it runs on the blocking pool, at most `max_parallel` at a
//! time (each holds m KiB), and at most `max_waiting` more wait; beyond that callers get "busy"
//! instead of piling up memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::password_hash::SaltString;
use argon2::password_hash::rand_core::OsRng;
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier};
use tokio::sync::{OnceCell, Semaphore};

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

#[derive(Debug)]
pub struct PasswordHasher {
    params: Params,
    permits: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
    dummy: OnceCell<String>,
}

impl PasswordHasher {
    /// `m_kib`, `t`, `p` below the floor are raised to it.
    pub fn new(m_kib: u32, t: u32, p: u32, max_parallel: usize) -> Result<Self, HashError> {
        let params = Params::new(m_kib.max(MIN_M_KIB), t.max(MIN_T), p.max(MIN_P), None)
            .map_err(|e| HashError::Failed(e.to_string()))?;
        Ok(Self {
            params,
            permits: Semaphore::new(max_parallel.max(1)),
            waiting: AtomicUsize::new(0),
            max_waiting: 1024,
            dummy: OnceCell::new(),
        })
    }

    /// The floor parameters, as many parallel hashes as there are cores.
    pub fn standard() -> Result<Self, HashError> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(MIN_M_KIB, MIN_T, MIN_P, cores)
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(
            Algorithm::Argon2id,
            argon2::Version::V0x13,
            self.params.clone(),
        )
    }

    /// Runs `work` on the blocking pool under the concurrency bound.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(HashError::Busy);
        }
        let permit = self.permits.acquire().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let _permit = permit.map_err(|_| HashError::Busy)?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| HashError::Failed(e.to_string()))
    }

    /// A new PHC string for `password`.
    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let argon = self.argon2();
        let password = password.to_owned();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| HashError::Failed(e.to_string()))
        })
        .await?
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
            None => self
                .dummy
                .get_or_try_init(|| self.hash("pgpanel dummy password, never valid"))
                .await?
                .clone(),
        };
        let password = password.to_owned();
        let floor = (
            self.params.m_cost(),
            self.params.t_cost(),
            self.params.p_cost(),
        );
        let argon = self.argon2();
        let verified = self
            .run(move || {
                let Ok(parsed) = PasswordHash::new(&stored) else {
                    return Verified {
                        ok: false,
                        needs_rehash: false,
                    };
                };
                let ok = argon.verify_password(password.as_bytes(), &parsed).is_ok();
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
