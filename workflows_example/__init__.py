"""The example app: order processing with validation, retries, fan-out, an approval raced
against a timer, a shipping sub-orchestration, saga compensation and an eternal monitor.

``duroxide.toml`` at the repository root points at ``workflows_example/app.py``.
"""
