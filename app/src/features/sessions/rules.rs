//! When pgpanel will not cancel or terminate a session: the (pid, backend_start) pair must still
//! match when the signal is sent (`signal_backend.sql` checks and signals in one statement),
//! pgpanel's own sessions and non-client backends are refused, and a superuser session needs its
//! pid typed again.

use sqlx::FromRow;
use time::OffsetDateTime;

use crate::error::AppError;

/// The session as `session_check.sql` reads it.
#[derive(Clone, Debug, Default, PartialEq, FromRow)]
pub struct SessionCheck {
    pub pid: i32,
    pub backend_start: Option<OffsetDateTime>,
    pub backend_type: String,
    pub application_name: String,
    pub usename: Option<String>,
    pub datname: Option<String>,
    pub state: Option<String>,
    pub superuser: bool,
    pub is_self: bool,
    /// The action login may read every session's details (pg_read_all_stats).
    pub reads_all_stats: bool,
    /// The action login's name, quoted by the server.
    pub login_ident: String,
}

impl SessionCheck {
    /// pgpanel's own session: this very connection, or one on pgpanel's logins carrying its
    /// application_name (any role may call itself pgpanel; that alone is an ordinary session).
    pub fn is_own(&self, own_logins: &[String]) -> bool {
        self.is_self
            || self.application_name.starts_with("pgpanel")
                && self
                    .usename
                    .as_ref()
                    .is_some_and(|u| own_logins.contains(u))
    }
}

/// Why pgpanel will not signal this session, if it will not.
pub fn refusal(
    s: &SessionCheck,
    backend_start: OffsetDateTime,
    confirm: Option<&str>,
    own_logins: &[String],
) -> Option<AppError> {
    if s.backend_start.is_none() && !s.reads_all_stats {
        // Another role's session, hidden from the action login: not "ended or reused".
        return Some(AppError::forbidden(format!(
            "The action login {login} may not see the details of pid {pid} (a session of another role), so pgpanel cannot check that it is still the session you chose. Nothing was signalled. Grant it: GRANT pg_read_all_stats TO {login};",
            login = s.login_ident,
            pid = s.pid
        )));
    }
    if s.backend_start != Some(backend_start) {
        return Some(AppError::conflict(format!(
            "Session ended or pid reused: pid {} now belongs to a session started at another time. Nothing was signalled.",
            s.pid
        )));
    }
    if s.is_own(own_logins) {
        return Some(AppError::forbidden(format!(
            "pid {} is one of pgpanel's own sessions; pgpanel does not signal itself.",
            s.pid
        )));
    }
    if s.backend_type != "client backend" {
        return Some(AppError::forbidden(format!(
            "pid {} is a {}, not a client session; pgpanel only signals client sessions.",
            s.pid,
            if s.backend_type.is_empty() {
                "server process"
            } else {
                &s.backend_type
            }
        )));
    }
    if s.superuser && confirm.map(str::trim) != Some(s.pid.to_string().as_str()) {
        return Some(AppError::validation(format!(
            "pid {} belongs to superuser {}: type its pid in `confirm` to go ahead.",
            s.pid,
            s.usename.as_deref().unwrap_or("?")
        )));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + s).expect("time")
    }

    fn client(pid: i32) -> SessionCheck {
        SessionCheck {
            pid,
            backend_start: Some(at(0)),
            backend_type: "client backend".into(),
            application_name: "billing".into(),
            usename: Some("app".into()),
            reads_all_stats: true,
            login_ident: "pgpanel_action".into(),
            ..SessionCheck::default()
        }
    }

    fn own() -> Vec<String> {
        vec!["pgpanel_monitor".to_owned(), "pgpanel_action".to_owned()]
    }

    #[test]
    fn refusals() {
        assert!(refusal(&client(7), at(0), None, &own()).is_none());
        let reused = refusal(&client(7), at(1), None, &own()).expect("refused");
        assert_eq!(reused.status(), 409);
        // A session calling itself pgpanel on another login is an ordinary one.
        let own_logins = own();
        let pretender = SessionCheck {
            application_name: "pgpanel_monitor-fake".into(),
            ..client(7)
        };
        assert!(refusal(&pretender, at(0), None, &own_logins).is_none());
        let mine = SessionCheck {
            application_name: "pgpanel".into(),
            usename: Some("pgpanel_action".into()),
            ..client(7)
        };
        assert_eq!(
            refusal(&mine, at(0), None, &own_logins)
                .expect("refused")
                .status(),
            403
        );
        let worker = SessionCheck {
            backend_type: "autovacuum worker".into(),
            ..client(7)
        };
        let e = refusal(&worker, at(0), None, &own()).expect("refused");
        assert!(e.to_string().contains("autovacuum worker"), "{e}");
        let su = SessionCheck {
            superuser: true,
            ..client(7)
        };
        assert_eq!(
            refusal(&su, at(0), None, &own()).expect("refused").status(),
            400
        );
        assert_eq!(
            refusal(&su, at(0), Some("8"), &own())
                .expect("refused")
                .status(),
            400
        );
        assert!(refusal(&su, at(0), Some(" 7 "), &own()).is_none());
        let hidden = SessionCheck {
            backend_start: None,
            backend_type: String::new(),
            reads_all_stats: false,
            ..client(7)
        };
        let e = refusal(&hidden, at(0), None, &own()).expect("refused");
        assert_eq!(e.status(), 403);
        assert!(
            e.to_string()
                .contains("GRANT pg_read_all_stats TO pgpanel_action;"),
            "{e}"
        );
    }
}
