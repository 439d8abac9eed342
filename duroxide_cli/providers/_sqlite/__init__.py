"""The SQLite store's machinery; ``providers/sqlite.py`` is its public face.

Every function here whose name ends in ``_txn`` runs on the provider's database thread inside
a transaction the caller opened, takes the connection and the transaction's ``now_ms``, and
never commits.
"""
