"""Modal and full screens of the cockpit (each imported where it is opened)."""
