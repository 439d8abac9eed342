"""The PostgreSQL store's machinery; ``providers/postgres.py`` is its public face.

``database`` owns the connection pool and turns driver errors into ProviderError;
``migrations`` creates and upgrades the schema (``sql/NNN_name.sql``); ``notifications`` wakes
idle dispatchers through LISTEN/NOTIFY; ``codec`` converts between the protocol's dataclasses and
what the server-side functions take and return; ``statements`` holds the single-statement SQL of
the reads, deletes and metrics; ``grouping`` sends the creations and messages that arrive
together as one statement. Every provider call is one statement (often a call of one of the
schema's functions), so it costs one network round trip, and concurrent creations or messages
share one.
"""
