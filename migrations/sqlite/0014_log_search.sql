-- Text search in the stored log: a trigram index (case-insensitive substrings of three or more
-- characters) over message, detail and statement, kept by triggers (entries are inserted and
-- deleted, never updated). The text filter uses it for words the index finds rarely; frequent
-- ones are found faster by reading the newest entries.
create virtual table log_search using fts5(
    message, detail, statement,
    content = 'log_entries', content_rowid = 'id', tokenize = 'trigram'
);
insert into log_search (rowid, message, detail, statement)
    select id, message, coalesce(detail, ''), coalesce(statement, '') from log_entries;
create trigger log_entries_search_insert after insert on log_entries begin
    insert into log_search (rowid, message, detail, statement)
    values (new.id, new.message, coalesce(new.detail, ''), coalesce(new.statement, ''));
end;
create trigger log_entries_search_delete after delete on log_entries begin
    insert into log_search (log_search, rowid, message, detail, statement)
    values ('delete', old.id, old.message, coalesce(old.detail, ''), coalesce(old.statement, ''));
end;
