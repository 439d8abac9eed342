-- duroxide PostgreSQL schema, version 6: reserved for another change merged at the same time
-- (this file stands in for it on this branch and is replaced by it at merge).
SELECT 1;
