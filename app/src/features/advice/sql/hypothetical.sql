-- hypothetical: a hypothetical index (hypopg: only this session's planner sees it; nothing is
-- built or written) from the statement `candidate.sql` wrote, with its estimated size. The
-- schema placeholder is replaced by hypopg's schema as PostgreSQL quotes it.
-- parameters: $1 = the CREATE INDEX statement from candidate.sql
-- functions: hypopg_create_index, hypopg_relation_size (extension hypopg)
-- minimum server version: 14
-- privilege: EXECUTE on hypopg's functions (granted to PUBLIC by the extension)
select h.indexrelid::int8 as index_oid,
       @extension_schema@.hypopg_relation_size(h.indexrelid)::int8 as bytes
from @extension_schema@.hypopg_create_index($1) as h
