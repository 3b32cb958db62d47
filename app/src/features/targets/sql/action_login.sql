-- action_login: what the target's action login (named in pgpanel's configuration) may do, read
-- with the monitor login every facts interval: role memberships are visible to every role, so no
-- session is opened as the action login. Said on the Overview with the GRANTs that are missing.
-- parameters: $1 = the action login's name
-- catalogs: pg_roles; functions pg_has_role, quote_ident, to_regrole
-- minimum server version: 10 (pg_maintain: 17)
-- privilege: none
select
    r.oid is not null as found,
    quote_ident($1) as login_ident,
    coalesce(r.rolsuper, false) as superuser,
    coalesce(r.rolcanlogin, false) as can_login,
    r.oid is not null and pg_has_role(r.oid, 'pg_signal_backend', 'USAGE') as signal_backend,
    r.oid is not null and pg_has_role(r.oid, 'pg_read_all_stats', 'USAGE') as read_all_stats,
    case when to_regrole('pg_maintain') is not null and r.oid is not null
        then pg_has_role(r.oid, to_regrole('pg_maintain'), 'USAGE')
    end as maintain
from (select $1::text as name) x
left join pg_roles r on r.rolname = x.name
