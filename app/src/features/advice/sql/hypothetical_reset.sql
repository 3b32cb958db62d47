-- hypothetical_reset: forgets this session's hypothetical indexes (hypopg). The schema
-- placeholder is replaced by hypopg's schema as PostgreSQL quotes it.
-- parameters: none
-- functions: hypopg_reset (extension hypopg)
-- minimum server version: 14
-- privilege: EXECUTE on hypopg's functions (granted to PUBLIC by the extension)
select @extension_schema@.hypopg_reset()
