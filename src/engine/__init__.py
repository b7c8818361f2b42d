"""Cockpit's engine: workspace, run scheduler, worktrees, agent backends, persistence.

The engine never imports Textual or the ``cockpit`` UI package; it runs headless too.
"""
