"""Full screens and modal screens of the Cockpit UI."""

from cockpit.screens.help import HelpScreen, collect_bindings

__all__ = ["HelpScreen", "collect_bindings"]
